"""``recommend`` against the sources' decision guides, scenario by scenario.

Each case cites the row of seed 001's decision tree, seed 003's "Choosing the
Right Loss" table or seed 004's quick decision guide that it encodes.
"""

from __future__ import annotations

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
    # seed 001: regression
    ({"task": "regression"}, "mse_loss", {}, ()),
    ({"task": "regression", "outliers": "some"}, "huber_loss", {}, ()),
    ({"task": "regression", "outliers": "many"}, "l1_loss", {}, ("huber_loss",)),
    ({"task": "regression", "outliers": True}, "huber_loss", {}, ("l1_loss",)),
    # seed 003: an outlier INR of 9 is a real case -> MSE
    ({"task": "regression", "outliers": "meaningful"}, "mse_loss", {}, ()),
    # seed 004: time series forecasting -> quantile loss
    ({"task": "regression", "uncertainty": True}, "quantile_loss", {}, ()),
    # seed 001 / 003 / 004: binary
    ({"task": "binary"}, "binary_cross_entropy_with_logits", {}, ()),
    ({"task": "classification", "num_classes": 2}, "binary_cross_entropy_with_logits", {}, ()),
    # seed 003: "Binary + class imbalance -> BCEWithLogitsLoss(pos_weight=w)"; 10% -> 9
    (
        {"task": "binary", "positive_rate": 0.1},
        "binary_cross_entropy_with_logits",
        {"pos_weight": 9.0},
        ("sigmoid_focal_loss",),
    ),
    # seed 003 "extreme imbalance -> focal"; seed 001 "imbalanced classes -> focal"
    ({"task": "binary", "imbalance": "extreme"}, "sigmoid_focal_loss", {"gamma": 2.0}, ()),
    ({"task": "binary", "imbalance": "severe"}, "sigmoid_focal_loss", {}, ()),
    ({"task": "binary", "positive_rate": 0.005}, "sigmoid_focal_loss", {}, ()),
    # seed 001 "need margin -> hinge"
    ({"task": "binary", "margin": True}, "hinge_loss", {}, ()),
    # multi-class: seed 001 sparse CCE; seed 004 cross-entropy
    ({"task": "multiclass"}, "cross_entropy", {}, ()),
    ({"task": "classification", "num_classes": 10}, "cross_entropy", {}, ()),
    # seed 001 "imbalanced classes -> weighted CCE or focal"; seed 004 "add weight="
    (
        {"task": "multiclass", "imbalance": "moderate"},
        "cross_entropy",
        {},
        ("softmax_focal_loss",),
    ),
    ({"task": "multiclass", "imbalance": "severe"}, "softmax_focal_loss", {}, ("cross_entropy",)),
    # seed 003 "multi-class + overconfidence -> label-smoothed CE (0.1)"; seed 004
    (
        {"task": "multiclass", "overconfidence": True},
        "cross_entropy",
        {"label_smoothing": 0.1},
        (),
    ),
    # both: the smoothed loss keeps the class weights
    (
        {"task": "multiclass", "overconfidence": True, "imbalance": "severe"},
        "cross_entropy",
        {"label_smoothing": 0.1, "weight": "[C] inverse class frequencies"},
        ("softmax_focal_loss",),
    ),
    (
        {"task": "token_classification", "imbalance": "severe"},
        "softmax_focal_loss",
        {"ignore_index": -100},
        (),
    ),
    # seed 004 "margin-based (SVM-style) -> MultiMarginLoss"
    ({"task": "multiclass", "margin": True}, "multi_margin_loss", {}, ()),
    # seed 003 / 004: multi-label -> BCE per label
    ({"task": "multilabel"}, "binary_cross_entropy_with_logits", {}, ()),
    (
        {"task": "classification", "labels_per_sample": "multi"},
        "binary_cross_entropy_with_logits",
        {},
        (),
    ),
    # seed 004: token classification -> CE + ignore_index
    ({"task": "token_classification"}, "cross_entropy", {"ignore_index": -100}, ()),
    ({"task": "ner", "overconfidence": True}, "cross_entropy", {"label_smoothing": 0.1}, ()),
    # segmentation: seed 001 balanced -> BCE, multiple objects -> Dice + BCE
    ({"task": "segmentation"}, "binary_cross_entropy_with_logits", {}, ("bce_dice_loss",)),
    # seed 004 semantic segmentation -> per-pixel CE or Dice
    ({"task": "segmentation", "num_classes": 5}, "cross_entropy", {}, ("dice_loss",)),
    # seed 001 imbalanced pixels -> Dice or Focal
    ({"task": "segmentation", "imbalance": "moderate"}, "dice_loss", {}, ()),
    # seed 000 (1-5% positives) -> Focal + Tversky; seed 004 -> Dice, Focal or Tversky
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
    # seed 000: Dice preserves boundaries; Lovasz optimises IoU itself
    ({"task": "segmentation", "boundaries": True}, "lovasz_hinge_loss", {}, ("dice_loss",)),
    # seed 004: detection -> focal classification + Smooth L1 / IoU boxes
    (
        {"task": "detection"},
        "sigmoid_focal_loss",
        {"alpha": 0.25},
        ("generalized_box_iou_loss",),
    ),
    # seed 001 similarity learning; seed 004 embeddings
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
    # seed 001 "distribution matching -> KL divergence"
    ({"task": "distribution"}, "kl_divergence_with_logits", {}, ("kl_divergence",)),
    # seed 004 generative rows
    ({"task": "vae"}, "vae_loss", {}, ()),
    ({"task": "gan"}, "gan_discriminator_loss", {}, ("gan_generator_loss",)),
    ({"task": "generative", "model": "diffusion"}, "diffusion_loss", {}, ()),
    ({"task": "generative", "model": "image_to_image"}, "l1_loss", {}, ("gan_generator_loss",)),
    ({"task": "generative", "model": "style_transfer"}, "content_loss", {}, ("style_loss",)),
    # seed 004 language-model rows
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
    # seed 004 "RLHF / preference learning -> reward model + PPO policy loss"
    ({"task": "preference"}, "bradley_terry_loss", {}, ("ppo_policy_loss",)),
    ({"task": "rlhf", "objective": "dpo"}, "dpo_loss", {"beta": 0.1}, ()),
    ({"task": "preference", "objective": "reward_model"}, "bradley_terry_loss", {}, ()),
]


@pytest.mark.parametrize(
    ("kwargs", "first", "options", "also"), CASES, ids=[str(c[0]) for c in CASES]
)
def test_recommend_follows_the_sources(kwargs, first, options, also):
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
    """Each suggested name exists and accepts the suggested keyword options."""
    seen = set()
    for kwargs in _grid():
        for rec in jaxloss.recommend(**kwargs):
            fn = getattr(jaxloss, rec.name)
            parameters = inspect.signature(fn).parameters
            assert set(rec.options) <= set(parameters), (kwargs, rec)
            assert rec.call().startswith(rec.name + "(")
            seen.add(rec.name)
    assert len(seen) >= 40, sorted(seen)


def test_positive_rate_sets_the_level_and_pos_weight():
    levels = {r: jaxloss.recommend("binary", positive_rate=r)[0].name for r in (0.4, 0.2, 0.05)}
    assert levels == {
        0.4: "binary_cross_entropy_with_logits",
        0.2: "binary_cross_entropy_with_logits",
        0.05: "sigmoid_focal_loss",
    }
    rec = jaxloss.recommend("binary", positive_rate=0.2)[0]
    assert rec.options["pos_weight"] == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "astrology"}, "jaxloss.recommend: task must be one of"),
        ({"task": "binary", "imbalance": "huge"}, "imbalance must be one of"),
        ({"task": "regression", "outliers": "lots"}, "outliers must be one of"),
        ({"task": "binary", "positive_rate": 1.5}, "positive_rate must be in (0, 1); got 1.5"),
        ({"task": "generative", "model": "flow"}, "model must be one of"),
    ],
)
def test_recommend_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        jaxloss.recommend(**kwargs)
