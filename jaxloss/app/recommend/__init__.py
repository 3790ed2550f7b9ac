"""Which loss to use: the decision guides of the sources, as code.

``recommend`` encodes seed 001's decision tree and quick-reference table, seed
003's "Choosing the Right Loss" table and seed 004's quick decision guide (with
seed 000's advice for sparse segmentation masks). It returns ranked jaxloss
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
