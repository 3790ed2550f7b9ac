"""What ``recommend`` knows about a task: the vocabularies of its options, the
scenario they describe, and the ranked suggestion it returns.

Each suggestion cites the guide it comes from (see ``SEEDS``): a decision tree
and quick-reference table, a loss-choice table, a quick decision guide, and the
advice for sparse segmentation masks.
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
    "000": "sparse-mask segmentation practice (BCE + Dice, focal + Tversky)",
    "001": "loss-selection decision tree",
    "003": "loss-choice table for imbalance, outliers and calibration",
    "004": "quick decision guide for generative, language and preference models",
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
        # 10% positives -> pos_weight 9 = negatives / positives
        if self.positive_rate is None:
            return "n_negative / n_positive"
        return round((1.0 - self.positive_rate) / self.positive_rate, 3)
