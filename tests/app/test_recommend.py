"""``recommend`` against the decision guides it encodes, scenario by scenario.

Each case names the advice it encodes: the common loss-selection guides (a
decision tree, a loss-choice table for imbalance, outliers and calibration, a
quick guide for generative, language and preference models, the sparse-mask
segmentation practice) and the papers each suggestion cites.
"""

from __future__ import annotations

import functools
import inspect
import itertools

import pytest

import jaxloss
from jaxloss.app.recommend import (
    GENERATIVE,
    IMBALANCE,
    LM_OBJECTIVES,
    METRIC_DATA,
    OUTLIERS,
    PREFERENCE,
    TASKS,
)

# (recommend kwargs, the first name, options the first must set, names that must
# appear in the top two)
CASES = [
    # the decision tree: regression
    ({"task": "regression"}, "mse_loss", {}, ()),
    ({"task": "regression", "outliers": "some"}, "huber_loss", {}, ()),
    ({"task": "regression", "outliers": "many"}, "l1_loss", {}, ("huber_loss",)),
    ({"task": "regression", "outliers": True}, "huber_loss", {}, ("l1_loss",)),
    # the loss-choice table: an outlier INR of 9 is a real case -> MSE
    ({"task": "regression", "outliers": "meaningful"}, "mse_loss", {}, ()),
    # the quick guide: time series forecasting -> quantile loss
    ({"task": "regression", "uncertainty": True}, "quantile_loss", {}, ()),
    # every guide: binary
    ({"task": "binary"}, "binary_cross_entropy_with_logits", {}, ()),
    ({"task": "classification", "num_classes": 2}, "binary_cross_entropy_with_logits", {}, ()),
    # moderate or severe imbalance: plain BCE (calibrated) with threshold tuning
    # first, as the demo measures; pos_weight (10% -> 9) and focal next
    ({"task": "binary", "positive_rate": 0.1}, "binary_cross_entropy_with_logits", {}, ()),
    (
        {"task": "binary", "imbalance": "severe"},
        "binary_cross_entropy_with_logits",
        {},
        ("sigmoid_focal_loss",),
    ),
    # "extreme imbalance -> focal" (detection-like, < 1%)
    ({"task": "binary", "imbalance": "extreme"}, "sigmoid_focal_loss", {"gamma": 2.0}, ()),
    ({"task": "binary", "positive_rate": 0.005}, "sigmoid_focal_loss", {}, ()),
    # the decision tree "need margin -> hinge"
    ({"task": "binary", "margin": True}, "hinge_loss", {}, ()),
    # multi-class: the decision tree sparse CCE; the quick guide cross-entropy
    ({"task": "multiclass"}, "cross_entropy", {}, ()),
    ({"task": "classification", "num_classes": 10}, "cross_entropy", {}, ()),
    # the decision tree "imbalanced classes -> weighted CCE or focal"; the quick guide "add weight="
    (
        {"task": "multiclass", "imbalance": "moderate"},
        "cross_entropy",
        {},
        ("softmax_focal_loss",),
    ),
    ({"task": "multiclass", "imbalance": "severe"}, "softmax_focal_loss", {}, ("cross_entropy",)),
    # the loss-choice table "multi-class + overconfidence -> label-smoothed CE (0.1)"; the quick guide
    (
        {"task": "multiclass", "overconfidence": True},
        "cross_entropy",
        {"label_smoothing": 0.1},
        (),
    ),
    # both: the smoothed loss keeps the class weights (to fill in: "weight")
    (
        {"task": "multiclass", "overconfidence": True, "imbalance": "severe"},
        "cross_entropy",
        {"label_smoothing": 0.1},
        ("softmax_focal_loss",),
    ),
    (
        {"task": "token_classification", "imbalance": "severe"},
        "softmax_focal_loss",
        {"ignore_index": -100},
        (),
    ),
    # the quick guide "margin-based (SVM-style) -> MultiMarginLoss"
    ({"task": "multiclass", "margin": True}, "multi_margin_loss", {}, ()),
    # the loss-choice table and the quick guide: multi-label -> BCE per label
    ({"task": "multilabel"}, "binary_cross_entropy_with_logits", {}, ()),
    (
        {"task": "classification", "labels_per_sample": "multi"},
        "binary_cross_entropy_with_logits",
        {},
        (),
    ),
    # the quick guide: token classification -> CE + ignore_index
    ({"task": "token_classification"}, "cross_entropy", {"ignore_index": -100}, ()),
    ({"task": "ner", "overconfidence": True}, "cross_entropy", {"label_smoothing": 0.1}, ()),
    # segmentation: the decision tree balanced -> BCE, multiple objects -> Dice + BCE
    ({"task": "segmentation"}, "binary_cross_entropy_with_logits", {}, ("bce_dice_loss",)),
    # the quick guide semantic segmentation -> per-pixel CE or Dice
    ({"task": "segmentation", "num_classes": 5}, "cross_entropy", {}, ("dice_loss",)),
    # the decision tree imbalanced pixels -> Dice or Focal
    ({"task": "segmentation", "imbalance": "moderate"}, "dice_loss", {}, ()),
    # the sparse-mask practice (1-5% positives) -> Focal + Tversky; the quick guide -> Dice, Focal or Tversky
    (
        {"task": "segmentation", "imbalance": "severe"},
        "focal_and_tversky_loss",
        {},
        ("tversky_loss",),
    ),
    (
        {"task": "segmentation", "imbalance": "severe", "num_classes": 4},
        "tversky_loss",
        {"mode": "multiclass"},
        ("dice_loss",),
    ),
    # the sparse-mask practice: Dice preserves boundaries; Lovasz optimises IoU itself
    ({"task": "segmentation", "boundaries": True}, "lovasz_hinge_loss", {}, ("dice_loss",)),
    # the quick guide: detection -> focal classification + Smooth L1 / IoU boxes
    (
        {"task": "detection"},
        "sigmoid_focal_loss",
        {"alpha": 0.25},
        ("generalized_box_iou_loss",),
    ),
    # the decision tree similarity learning; the quick guide embeddings
    ({"task": "metric_learning", "data": "pairs"}, "contrastive_loss", {}, ()),
    ({"task": "metric_learning", "data": "triplets"}, "triplet_margin_loss", {}, ()),
    ({"task": "metric_learning", "data": "labels"}, "batch_triplet_loss", {}, ()),
    (
        {"task": "metric_learning", "data": "in_batch"},
        "multiple_negatives_ranking_loss",
        {},
        ("info_nce_loss",),
    ),
    ({"task": "metric_learning", "data": "scores"}, "cosine_similarity_loss", {}, ()),
    # the decision tree "distribution matching -> KL divergence"
    ({"task": "distribution"}, "kl_divergence_with_logits", {}, ("kl_divergence",)),
    # the quick guide generative rows
    ({"task": "vae"}, "vae_loss", {}, ()),
    ({"task": "gan"}, "gan_discriminator_loss", {}, ("gan_generator_loss",)),
    ({"task": "generative", "model": "diffusion"}, "diffusion_loss", {}, ()),
    ({"task": "generative", "model": "image_to_image"}, "l1_loss", {}, ("gan_generator_loss",)),
    ({"task": "generative", "model": "style_transfer"}, "content_loss", {}, ("style_loss",)),
    # the quick guide language-model rows
    ({"task": "llm"}, "causal_lm_loss", {"ignore_index": -100}, ()),
    (
        {"task": "llm", "vocab_size": 128256},
        "fused_linear_cross_entropy",
        {},
        ("causal_lm_loss",),
    ),
    ({"task": "language_model", "objective": "masked"}, "masked_lm_loss", {}, ()),
    (
        {"task": "language_model", "objective": "seq2seq"},
        "cross_entropy",
        {"ignore_index": -100},
        (),
    ),
    (
        {"task": "language_model", "objective": "contrastive"},
        "multiple_negatives_ranking_loss",
        {},
        (),
    ),
    # the quick guide "RLHF / preference learning -> reward model + PPO policy loss"
    ({"task": "preference"}, "bradley_terry_loss", {}, ("ppo_policy_loss",)),
    ({"task": "rlhf", "objective": "dpo"}, "dpo_loss", {"beta": 0.1}, ()),
    ({"task": "preference", "objective": "reward_model"}, "bradley_terry_loss", {}, ()),
]


@pytest.mark.parametrize(
    ("kwargs", "first", "options", "also"), CASES, ids=[str(c[0]) for c in CASES]
)
def test_recommend_follows_the_guides(kwargs, first, options, also):
    ranked = jaxloss.recommend(**kwargs)
    assert ranked[0].name == first, [r.name for r in ranked]
    for key, value in options.items():
        assert ranked[0].options[key] == value, ranked[0]
    for name in also:
        assert name in [r.name for r in ranked[:2]], [r.name for r in ranked]
    assert all(r.reason and r.sources for r in ranked)


def _grid():
    yield from ({"task": t} for t in TASKS)
    for level, flag in itertools.product(IMBALANCE, ("overconfidence", "margin", "boundaries")):
        for task in ("binary", "multiclass", "multilabel", "token_classification", "segmentation"):
            yield {"task": task, "imbalance": level, flag: True}
            yield {"task": task, "imbalance": level, flag: True, "num_classes": 6}
    yield from ({"task": "regression", "outliers": o} for o in OUTLIERS)
    yield from ({"task": "metric_learning", "data": d} for d in METRIC_DATA)
    yield from ({"task": "generative", "model": m} for m in GENERATIVE)
    yield from ({"task": "language_model", "objective": o} for o in LM_OBJECTIVES)
    yield from ({"task": "preference", "objective": o} for o in PREFERENCE)


def test_every_recommendation_is_a_callable_with_valid_options():
    """Each suggested name exists and accepts the suggested keyword options, and
    ``loss`` is that function with them bound."""
    seen = set()
    for kwargs in _grid():
        for rec in jaxloss.recommend(**kwargs):
            fn = getattr(jaxloss, rec.name)
            parameters = inspect.signature(fn).parameters
            assert set(rec.options) <= set(parameters), (kwargs, rec)
            assert set(rec.to_fill) <= set(parameters), (kwargs, rec)
            assert not set(rec.options) & set(rec.to_fill)
            assert rec.call().startswith(rec.name + "(")
            assert isinstance(rec.loss, functools.partial)
            assert rec.loss.func is fn and rec.loss.keywords == dict(rec.options)
            seen.add(rec.name)
    assert len(seen) >= 40, sorted(seen)


def test_recommended_loss_is_ready_to_call():
    import jax.numpy as jnp

    rec = jaxloss.recommend("binary", positive_rate=0.2)[1]
    logits, targets = jnp.array([0.3, -1.0, 2.0]), jnp.array([1.0, 0.0, 0.0])
    expected = jaxloss.binary_cross_entropy_with_logits(logits, targets, pos_weight=4.0)
    assert float(rec.loss(logits, targets)) == pytest.approx(float(expected))


def test_imbalanced_binary_states_the_calibration_trade_off():
    """5% positives: plain BCE at least level with focal, and the reasons say
    what pos_weight and focal cost (the demo's imbalanced story)."""
    ranked = jaxloss.recommend("binary", positive_rate=0.05)
    names = [r.name for r in ranked]
    assert names.index("binary_cross_entropy_with_logits") <= names.index("sigmoid_focal_loss")
    assert "threshold" in ranked[0].reason and "calibrated" in ranked[0].reason
    weighted = next(r for r in ranked if "pos_weight" in r.options)
    assert weighted.options["pos_weight"] == pytest.approx(19.0)
    assert "calibration" in weighted.reason and "precision" in weighted.reason
    focal = next(r for r in ranked if r.name == "sigmoid_focal_loss")
    assert "0.5" in focal.reason


# the newer losses each guide points to, once they are registered
NEWER = [
    ({"task": "face_recognition"}, "arcface_loss", ("cosface_loss",)),
    ({"task": "face_verification"}, "arcface_loss", ()),
    ({"task": "multiclass", "imbalance": "severe"}, "softmax_focal_loss", ("ldam_loss",)),
    ({"task": "multilabel", "imbalance": "severe"}, "asymmetric_loss", ()),
    ({"task": "segmentation", "thin_structures": True}, "cldice_loss", ()),
    ({"task": "segmentation", "boundaries": True}, "lovasz_hinge_loss", ("boundary_loss",)),
    ({"task": "preference", "objective": "reference_free"}, "simpo_loss", ("orpo_loss",)),
    ({"task": "preference", "objective": "verifiable_rewards"}, "grpo_loss", ()),
    ({"task": "moe"}, "load_balancing_loss", ("router_z_loss",)),
    ({"task": "speech"}, "ctc_loss", ()),
    ({"task": "learning_to_rank"}, "ranking_softmax_loss", ()),
]


@pytest.mark.parametrize(("kwargs", "first", "also"), NEWER, ids=[str(c[0]) for c in NEWER])
def test_recommend_points_to_the_newer_losses(kwargs, first, also):
    ranked = [r.name for r in jaxloss.recommend(**kwargs)]
    assert ranked[0] == first, ranked
    assert set(also) <= set(ranked), ranked


def test_long_tail_uses_class_balanced_weights():
    ranked = jaxloss.recommend("multiclass", imbalance="extreme")
    balanced = [r for r in ranked if "class_balanced_weights" in r.to_fill.get("weight", "")]
    assert balanced and balanced[0].name == "cross_entropy"


def test_sources_are_papers_or_documentation():
    from jaxloss.app.recommend.scenario import SOURCES

    for source in SOURCES.values():
        assert "seed" not in source.lower()
        assert any(str(year) in source for year in range(1950, 2030)) or (
            "documentation" in source
        ), source


def test_positive_rate_sets_the_level_and_pos_weight():
    levels = {
        r: [x.name for x in jaxloss.recommend("binary", positive_rate=r)]
        for r in (0.4, 0.2, 0.05, 0.005)
    }
    assert levels[0.4] == ["binary_cross_entropy_with_logits"]
    assert levels[0.2][0] == levels[0.05][0] == "binary_cross_entropy_with_logits"
    assert levels[0.005][0] == "sigmoid_focal_loss"
    rec = jaxloss.recommend("binary", positive_rate=0.2)[1]
    assert rec.options["pos_weight"] == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "astrology"}, "jaxloss.recommend: task must be one of"),
        ({"task": "astrology"}, "or an alias (asr, classification, diffusion,"),
        ({"task": "binary", "imbalance": "huge"}, "imbalance must be one of"),
        ({"task": "regression", "outliers": "lots"}, "outliers must be one of"),
        ({"task": "binary", "positive_rate": 1.5}, "positive_rate must be in (0, 1); got 1.5"),
        ({"task": "generative", "model": "flow"}, "model must be one of"),
    ],
)
def test_recommend_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        jaxloss.recommend(**kwargs)
