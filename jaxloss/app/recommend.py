"""Which loss to use: the decision guides of the sources, as code.

``recommend`` encodes seed 001's decision tree and quick-reference table, seed
003's "Choosing the Right Loss" table and seed 004's quick decision guide (with
seed 000's advice for sparse segmentation masks). It returns ranked jaxloss
names, each with a one-line reason, the options to set and the sources that
give the advice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from jaxloss._core import checks

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

_SEED = {
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
        """The call as text, e.g. ``cross_entropy(logits, labels, label_smoothing=0.1)``."""
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"{self.name}(...{opts})"


def _rec(name: str, reason: str, sources: str, **options: Any) -> Recommendation:
    cited = tuple(_SEED[s] for s in sources.split())
    return Recommendation(name, reason, MappingProxyType(options), cited)


def _level_from_rate(rate: float) -> str:
    """Imbalance level of a positive (or rarest-class) rate: seed 003 calls 5-15%
    positives "class imbalance", seed 000's masks at 1-5% need more."""
    if rate >= 0.3:
        return "none"
    if rate >= 0.1:
        return "moderate"
    if rate >= 0.01:
        return "severe"
    return "extreme"


@dataclasses.dataclass(frozen=True)
class _Scenario:
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


def _regression(s: _Scenario) -> list[Recommendation]:
    mse = _rec("mse_loss", "Gaussian errors: MSE is their maximum likelihood", "001 003 004")
    huber = _rec(
        "huber_loss",
        "quadratic near zero, linear beyond delta: robust when some targets are outliers",
        "001 003 004",
        delta=1.0,
    )
    mae = _rec("l1_loss", "constant-size gradient: outliers cannot dominate", "001 003 004")
    if s.uncertainty:
        return [
            _rec(
                "quantile_loss",
                "forecast intervals, one pinball loss per quantile",
                "004",
                quantiles=(0.1, 0.5, 0.9),
            ),
            _rec("gaussian_nll_loss", "predict a mean and a variance per target", "004"),
            huber if s.outliers in ("some", "many") else mse,
        ]
    if s.outliers == "meaningful":
        meaningful = dataclasses.replace(
            mse, reason="the outliers are real cases (seed 003's INR of 9): penalise them fully"
        )
        return [meaningful, huber]
    if s.outliers == "some":
        return [huber, mae, mse]
    if s.outliers == "many":
        return [mae, huber, _rec("log_cosh_loss", "a smooth, twice-differentiable L1", "001")]
    return [mse, huber]


def _binary(s: _Scenario) -> list[Recommendation]:
    bce = _rec(
        "binary_cross_entropy_with_logits",
        "Bernoulli likelihood from raw logits: stable for any logit",
        "001 003 004",
    )
    weighted = _rec(
        "binary_cross_entropy_with_logits",
        "class imbalance: weight the rare positives by negatives / positives",
        "003 004",
        pos_weight=s.pos_weight,
    )
    focal = _rec(
        "sigmoid_focal_loss",
        "severe imbalance: down-weights the many easy negatives",
        "001 003 004",
        gamma=2.0,
        alpha=0.75,
    )
    hinge = _rec("hinge_loss", "margin-based, SVM-style scores (no probabilities)", "001 004")
    ranked = {
        "none": [bce],
        "moderate": [weighted, focal],
        "severe": [focal, weighted],
        "extreme": [focal, weighted],
    }[s.imbalance]
    return [hinge, *ranked] if s.margin else ranked


def _multiclass(s: _Scenario, ignore: dict | None = None) -> list[Recommendation]:
    ignore = ignore or {}
    smooth = {"label_smoothing": 0.1} if s.overconfidence else {}
    ce = _rec(
        "cross_entropy",
        "categorical likelihood; integer labels, so no one-hot even with many classes",
        "001 003 004",
        **ignore,
        **smooth,
    )
    weighted = _rec(
        "cross_entropy",
        "class imbalance: per-class weights, e.g. inverse class frequency",
        "001 004",
        weight="[C] inverse class frequencies",
        **ignore,
        **smooth,
    )
    focal = _rec(
        "softmax_focal_loss",
        "severe imbalance: focuses on the hard, rare examples",
        "001 004",
        gamma=2.0,
        **ignore,
    )
    ranked = {
        "none": [ce],
        "moderate": [weighted, focal],
        "severe": [focal, weighted],
        "extreme": [focal, weighted],
    }[s.imbalance]
    if s.overconfidence:
        base = ce if s.imbalance == "none" else weighted
        smoothed = dataclasses.replace(
            base,
            reason="overconfident predictions: label smoothing (0.1) improves calibration",
            sources=(_SEED["003"], _SEED["004"]),
        )
        ranked = [smoothed, *(r for r in ranked if r is not base)]
    if s.margin:
        margin = _rec("multi_margin_loss", "margin-based, SVM-style multi-class", "004")
        ranked = [margin, *ranked]
    return ranked


def _multilabel(s: _Scenario) -> list[Recommendation]:
    bce = _rec(
        "binary_cross_entropy_with_logits",
        "one independent Bernoulli per label, logits [B, L]",
        "003 004",
    )
    if s.imbalance == "none":
        return [bce]
    weighted = _rec(
        "binary_cross_entropy_with_logits",
        "rare labels: a [L] pos_weight of negatives / positives per label",
        "003 004",
        pos_weight=s.pos_weight,
    )
    focal = _rec("sigmoid_focal_loss", "many easy negatives per label", "004", gamma=2.0)
    return [weighted, focal] if s.imbalance == "moderate" else [focal, weighted]


def _tokens(s: _Scenario) -> list[Recommendation]:
    first, *rest = _multiclass(s, ignore={"ignore_index": -100})
    reason = f"one label per token, padding skipped by ignore_index; {first.reason}"
    return [dataclasses.replace(first, reason=reason), *rest]


def _segmentation(s: _Scenario) -> list[Recommendation]:
    binary = s.num_classes in (None, 1, 2)
    mode = {} if binary else {"mode": "multiclass"}
    pixel = (
        _rec("binary_cross_entropy_with_logits", "balanced pixels: per-pixel BCE", "000 001")
        if binary
        else _rec("cross_entropy", "per-pixel cross-entropy over classes", "004")
    )
    dice = _rec(
        "dice_loss",
        "scores overlap, not pixel accuracy: robust to pixel imbalance",
        "001 004",
        **mode,
    )
    combo = _rec(
        "bce_dice_loss", "BCE's smooth gradients plus Dice's overlap (several objects)", "000 001"
    )
    tversky = _rec(
        "tversky_loss",
        "Dice with FN weighted above FP (beta > alpha): recall-friendly",
        "000 004",
        alpha=0.3,
        beta=0.7,
        **mode,
    )
    focal_tversky = _rec(
        "focal_and_tversky_loss",
        "sparse masks (~1-5% positives): focal on pixels plus recall-friendly Tversky",
        "000",
    )
    focal = (
        _rec("sigmoid_focal_loss", "severe pixel imbalance", "001 004", gamma=2.0)
        if binary
        else _rec("softmax_focal_loss", "severe pixel imbalance", "001 004", gamma=2.0)
    )
    if s.boundaries:
        lovasz = (
            _rec("lovasz_hinge_loss", "optimises IoU directly: crisp object boundaries", "000")
            if binary
            else _rec("lovasz_softmax_loss", "optimises per-class IoU directly", "000")
        )
        overlap = "overlap losses preserve the decision boundary"
        return [lovasz, dataclasses.replace(dice, reason=overlap), combo if binary else pixel]
    if s.imbalance == "none":
        return [pixel, combo] if binary else [pixel, dice]
    if s.imbalance == "moderate":
        return [dice, combo, tversky] if binary else [dice, tversky, focal]
    if binary:
        return [focal_tversky, tversky, dice, focal]
    return [tversky, dice, focal]


def _detection(s: _Scenario) -> list[Recommendation]:
    return [
        _rec(
            "sigmoid_focal_loss",
            "class scores: background outnumbers objects ~1000:1 (RetinaNet's alpha)",
            "004",
            alpha=0.25,
            gamma=2.0,
        ),
        _rec(
            "generalized_box_iou_loss",
            "box regression on IoU itself, with a gradient for disjoint boxes",
            "004",
        ),
        _rec("complete_box_iou_loss", "IoU plus centre distance and aspect ratio", "004"),
        _rec("smooth_l1_loss", "box offsets regressed coordinate by coordinate", "004", beta=1.0),
    ]


def _metric(s: _Scenario) -> list[Recommendation]:
    pairs = [
        _rec("contrastive_loss", "labelled pairs: pull similar, push dissimilar", "001 004"),
        _rec("cosine_embedding_loss", "pairs compared by cosine similarity", "004"),
    ]
    triplets = [
        _rec("triplet_margin_loss", "(anchor, positive, negative) triplets", "001 004"),
        _rec("batch_triplet_loss", "or mine triplets inside each batch", "001"),
    ]
    labels = [
        _rec(
            "batch_triplet_loss",
            "class labels: mine the hardest triplets in each batch",
            "001 004",
            mining="batch_hard",
        ),
        _rec("supervised_contrastive_loss", "every same-label sample is a positive", "004"),
    ]
    in_batch = [
        _rec(
            "multiple_negatives_ranking_loss",
            "(anchor, positive) pairs: the batch's other positives are negatives",
            "004",
        ),
        _rec("info_nce_loss", "in-batch InfoNCE with a temperature", "004"),
        _rec("clip_loss", "two modalities, symmetric in-batch loss", "004"),
    ]
    scores = [
        _rec("cosine_similarity_loss", "sentence pairs with a similarity score", "004"),
        _rec("cosent_loss", "ranks pairs by score: only their order matters", "004"),
    ]
    table = {
        "pairs": pairs,
        "triplets": triplets,
        "labels": labels,
        "in_batch": in_batch,
        "scores": scores,
    }
    return table[s.data] if s.data else [*triplets[:1], *pairs[:1], *labels[:1]]


def _distribution(s: _Scenario) -> list[Recommendation]:
    return [
        _rec("kl_divergence_with_logits", "distillation or matching a target distribution", "001"),
        _rec("kl_divergence", "KL(p || q) from probabilities", "001"),
        _rec("js_divergence", "symmetric and bounded, when a distance is needed", "001"),
    ]


def _generative(s: _Scenario) -> list[Recommendation]:
    vae = [_rec("vae_loss", "reconstruction plus KL to the prior", "004", beta=1.0)]
    gan = [
        _rec("gan_discriminator_loss", "the critic's adversarial loss", "004"),
        _rec("gan_generator_loss", "non-saturating generator loss", "004"),
    ]
    diffusion = [
        _rec(
            "diffusion_loss",
            "MSE on the predicted noise (Min-SNR weighting optional)",
            "004",
            min_snr_gamma=5.0,
        )
    ]
    image = [
        _rec("l1_loss", "pixel reconstruction (Pix2Pix)", "004"),
        _rec("gan_generator_loss", "adversarial realism", "004"),
        _rec("perceptual_loss", "features of a fixed network", "004"),
    ]
    style = [
        _rec("content_loss", "feature match to the content image", "004"),
        _rec("style_loss", "Gram-matrix match to the style image", "004"),
        _rec("total_variation_loss", "smooth images", "004"),
    ]
    table = {
        "vae": vae,
        "gan": gan,
        "diffusion": diffusion,
        "image_to_image": image,
        "style_transfer": style,
    }
    return table[s.model] if s.model else [*vae, *gan, *diffusion]


def _language(s: _Scenario) -> list[Recommendation]:
    fused = _rec(
        "fused_linear_cross_entropy",
        "large vocabulary: never materialises the [tokens, V] logits",
        "004",
        ignore_index=-100,
    )
    big = s.vocab_size is not None and s.vocab_size >= 32768
    if s.objective == "masked":
        ranked = [_rec("masked_lm_loss", "cross-entropy on the masked tokens only", "004")]
    elif s.objective == "seq2seq":
        ranked = [
            _rec(
                "cross_entropy",
                "decoder cross-entropy; padding skipped by ignore_index",
                "004",
                ignore_index=-100,
            )
        ]
    elif s.objective == "contrastive":
        return _metric(dataclasses.replace(s, data="in_batch"))
    else:
        ranked = [
            _rec(
                "causal_lm_loss",
                "next-token cross-entropy, shift and padding handled",
                "004",
                ignore_index=-100,
            )
        ]
    return [fused, *ranked] if big else [*ranked, fused]


def _preference(s: _Scenario) -> list[Recommendation]:
    reward = _rec("bradley_terry_loss", "reward model on (chosen, rejected) pairs", "004")
    ppo = [
        _rec("ppo_policy_loss", "clipped policy surrogate", "004", clip_eps=0.2),
        _rec("ppo_value_loss", "value head regression", "004"),
        _rec("kl_penalty", "keep the policy near the reference model", "004", kind="k3"),
    ]
    dpo = _rec("dpo_loss", "preferences without a reward model or RL", "004", beta=0.1)
    if s.objective == "reward_model":
        return [reward]
    if s.objective == "dpo":
        return [dpo, _rec("sequence_log_probs", "its per-sequence log-probabilities", "004")]
    return [reward, *ppo, dpo]


_BY_TASK: dict[str, Callable[[_Scenario], list[Recommendation]]] = {
    "regression": _regression,
    "binary": _binary,
    "multiclass": _multiclass,
    "multilabel": _multilabel,
    "token_classification": _tokens,
    "segmentation": _segmentation,
    "detection": _detection,
    "metric_learning": _metric,
    "distribution": _distribution,
    "generative": _generative,
    "language_model": _language,
    "preference": _preference,
}
_ALIASES = {
    "classification": None,  # resolved by labels_per_sample / num_classes
    "multi-class": "multiclass",
    "multi-label": "multilabel",
    "tokens": "token_classification",
    "ner": "token_classification",
    "metric": "metric_learning",
    "similarity": "metric_learning",
    "embeddings": "metric_learning",
    "llm": "language_model",
    "rlhf": "preference",
    "vae": "generative",
    "gan": "generative",
    "diffusion": "generative",
}


def _choice(name: str, value: Any, allowed: tuple) -> None:
    if value is not None and value not in allowed:
        checks.fail("recommend", f"{name} must be one of {allowed}; got {value!r}")


def recommend(
    task: str,
    *,
    imbalance: str | None = None,
    positive_rate: float | None = None,
    outliers: str | bool = "none",
    labels_per_sample: int | str = 1,
    num_classes: int | None = None,
    overconfidence: bool = False,
    margin: bool = False,
    boundaries: bool = False,
    uncertainty: bool = False,
    data: str | None = None,
    model: str | None = None,
    objective: str | None = None,
    vocab_size: int | None = None,
) -> list[Recommendation]:
    """Ranked losses for a task, following the sources' decision guides.

    Args:
      task: one of ``TASKS`` (or an alias: ``classification``, ``llm``, ``gan``...).
      imbalance: ``none``, ``moderate`` (e.g. 10-30% positives), ``severe``
        (1-10%) or ``extreme`` (< 1%, detection's background). Derived from
        ``positive_rate`` when that is given instead.
      positive_rate: fraction of positives (or of the rarest class); also sets
        the suggested ``pos_weight``.
      outliers: regression targets: ``none``, ``some``, ``many`` or
        ``meaningful`` (real extreme cases that must be penalised); True means
        ``some``.
      labels_per_sample: for ``classification``: 1, or ``"multi"``/>1 for
        multi-label. num_classes: 2 means binary.
      overconfidence: predictions need calibrating (label smoothing).
      margin: a margin-based, SVM-style objective is wanted.
      boundaries: segmentation where object boundaries matter most.
      uncertainty: regression that must report intervals or a variance.
      data: metric learning's supervision: ``pairs``, ``triplets``, ``labels``,
        ``in_batch`` or ``scores``.
      model: generative models: ``vae``, ``gan``, ``diffusion``,
        ``image_to_image`` or ``style_transfer``.
      objective: language models (``causal``, ``masked``, ``seq2seq``,
        ``contrastive``) or preference learning (``rlhf``, ``reward_model``,
        ``dpo``).
      vocab_size: language models; 32768 or more puts the fused loss first.

    Returns:
      ``Recommendation`` s, best first.

    Example:
      >>> import jaxloss
      >>> [r.name for r in jaxloss.recommend("regression", outliers="some")]
      ['huber_loss', 'l1_loss', 'mse_loss']
    """
    key = _ALIASES.get(task, task)
    if task in ("vae", "gan", "diffusion") and model is None:
        model = task
    if key is None:
        multi = labels_per_sample == "multi" or (
            isinstance(labels_per_sample, int) and labels_per_sample > 1
        )
        key = "multilabel" if multi else "binary" if num_classes in (None, 2) else "multiclass"
    if key not in _BY_TASK:
        checks.fail("recommend", f"task must be one of {TASKS} (or an alias); got {task!r}")
    if outliers is True:
        outliers = "some"
    elif outliers is False:
        outliers = "none"
    _choice("imbalance", imbalance, IMBALANCE)
    _choice("outliers", outliers, OUTLIERS)
    _choice("data", data, METRIC_DATA)
    _choice("model", model, GENERATIVE)
    _choice("objective", objective, LM_OBJECTIVES + PREFERENCE)
    if positive_rate is not None and not 0.0 < positive_rate < 1.0:
        checks.fail("recommend", f"positive_rate must be in (0, 1); got {positive_rate!r}")
    if imbalance is None:
        imbalance = "none" if positive_rate is None else _level_from_rate(positive_rate)
    scenario = _Scenario(
        imbalance=imbalance,
        outliers=outliers,
        positive_rate=positive_rate,
        num_classes=num_classes,
        overconfidence=bool(overconfidence),
        margin=bool(margin),
        boundaries=bool(boundaries),
        uncertainty=bool(uncertainty),
        data=data,
        model=model,
        objective=objective,
        vocab_size=vocab_size,
    )
    return _BY_TASK[key](scenario)
