"""Which loss to use: the decision guides of the sources, as code.

``recommend`` encodes a loss-selection decision tree and quick-reference table,
a loss-choice table for imbalance, outliers and calibration, and a quick
decision guide for generative, language and preference models (with the usual
advice for sparse segmentation masks). It returns ranked jaxloss
names, each with a one-line reason, the options to set and the sources that
give the advice.
"""

from jaxloss.app.recommend.decide import recommend
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
