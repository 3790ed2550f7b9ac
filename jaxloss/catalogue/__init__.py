"""The catalogue: the registry and, per family, example inputs and registrations.

Importing it registers every public loss; see :mod:`jaxloss.catalogue.registry`.
"""

from jaxloss.catalogue import (
    classification,
    detection,
    divergence,
    embedding,
    generative,
    language,
    long_tail,
    preference,
    ranking,
    registry,
    regression,
    routing,
    segmentation,
)

__all__ = [
    "classification",
    "detection",
    "divergence",
    "embedding",
    "generative",
    "language",
    "long_tail",
    "preference",
    "ranking",
    "registry",
    "regression",
    "routing",
    "segmentation",
]
