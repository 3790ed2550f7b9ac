"""What ``recommend`` knows about a task: the vocabularies of its options, the
scenario they describe, and the ranked suggestion it returns.

The sources are cited by seed: the decision tree and quick-reference table of
seed 001, the "Choosing the Right Loss" table of seed 003, the quick decision
guide of seed 004, and seed 000's advice for sparse segmentation masks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

IMBALANCE = ("none", "moderate", "severe", "extreme")
OUTLIERS = ("none", "some", "many", "meaningful")
TASKS = (
    "regression",
    "binary",
    "multiclass",
    "multilabel",
    "token_classification",
    "segmentation",
    "detection",
    "metric_learning",
    "distribution",
    "generative",
    "language_model",
    "preference",
)
METRIC_DATA = ("pairs", "triplets", "labels", "in_batch", "scores")
GENERATIVE = ("vae", "gan", "diffusion", "image_to_image", "style_transfer")
LM_OBJECTIVES = ("causal", "masked", "seq2seq", "contrastive")
PREFERENCE = ("rlhf", "reward_model", "dpo")

SEEDS = {
    "000": "seed 000 (pixel-imbalanced segmentation)",
    "001": "seed 001 (decision tree)",
    "003": "seed 003 (choosing table)",
    "004": "seed 004 (quick decision guide)",
}


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """One ranked suggestion: call ``jaxloss.<name>(..., **options)``."""

    name: str
    reason: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def call(self) -> str:
        """The call as text, e.g. ``cross_entropy(..., label_smoothing=0.1)``."""
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"{self.name}(...{opts})"


def rec(name: str, reason: str, sources: str, **options: Any) -> Recommendation:
    """A suggestion citing ``sources``, space-separated seed numbers (``"001 004"``)."""
    cited = tuple(SEEDS[s] for s in sources.split())
    return Recommendation(name, reason, MappingProxyType(options), cited)


@dataclasses.dataclass(frozen=True)
class Scenario:
    """``recommend``'s validated options, as each task's guide reads them."""

    imbalance: str
    outliers: str
    positive_rate: float | None
    num_classes: int | None
    overconfidence: bool
    margin: bool
    boundaries: bool
    uncertainty: bool
    data: str | None
    model: str | None
    objective: str | None
    vocab_size: int | None

    @property
    def pos_weight(self) -> float | str:
        # seed 003: 10% positives -> pos_weight 9 = negatives / positives
        if self.positive_rate is None:
            return "n_negative / n_positive"
        return round((1.0 - self.positive_rate) / self.positive_rate, 3)
