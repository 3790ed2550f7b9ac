"""Which loss to use: the usual decision guides for choosing a loss, as code.

``recommend`` encodes the common advice for regression (outliers, intervals),
classification (imbalance, calibration, margins), segmentation (sparse masks,
boundaries, thin structures), detection, metric learning, generative, language
and preference models, each suggestion citing the papers or documentation it
comes from. It returns ranked ``Recommendation`` s: the jaxloss name, a
one-line reason, the options to set, the sources, and ``loss``, the configured
function.
"""

from jaxloss.app.recommend.decide import ALIASES, recommend
from jaxloss.app.recommend.scenario import (
    GENERATIVE,
    IMBALANCE,
    LM_OBJECTIVES,
    METRIC_DATA,
    OUTLIERS,
    PREFERENCE,
    TASKS,
    Recommendation,
)

__all__ = [
    "ALIASES",
    "GENERATIVE",
    "IMBALANCE",
    "LM_OBJECTIVES",
    "METRIC_DATA",
    "OUTLIERS",
    "PREFERENCE",
    "TASKS",
    "Recommendation",
    "recommend",
]
