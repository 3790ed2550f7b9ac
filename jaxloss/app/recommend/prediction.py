"""The guides for tasks that predict a value or a label per input: regression,
classification (binary, multi-class, multi-label, per token), segmentation and
detection. Each turns a ``Scenario`` into ranked ``Recommendation`` s.
"""

from __future__ import annotations

import dataclasses

from jaxloss.app.recommend.scenario import SEEDS, Recommendation, Scenario, rec


def regression(s: Scenario) -> list[Recommendation]:
    mse = rec("mse_loss", "Gaussian errors: MSE is their maximum likelihood", "001 003 004")
    huber = rec(
        "huber_loss",
        "quadratic near zero, linear beyond delta: robust when some targets are outliers",
        "001 003 004",
        delta=1.0,
    )
    mae = rec("l1_loss", "constant-size gradient: outliers cannot dominate", "001 003 004")
    if s.uncertainty:
        return [
            rec(
                "quantile_loss",
                "forecast intervals, one pinball loss per quantile",
                "004",
                quantiles=(0.1, 0.5, 0.9),
            ),
            rec("gaussian_nll_loss", "predict a mean and a variance per target", "004"),
            huber if s.outliers in ("some", "many") else mse,
        ]
    if s.outliers == "meaningful":
        meaningful = dataclasses.replace(
            mse, reason="the outliers are real cases: penalise them fully"
        )
        return [meaningful, huber]
    if s.outliers == "some":
        return [huber, mae, mse]
    if s.outliers == "many":
        return [mae, huber, rec("log_cosh_loss", "a smooth, twice-differentiable L1", "001")]
    return [mse, huber]


def binary(s: Scenario) -> list[Recommendation]:
    bce = rec(
        "binary_cross_entropy_with_logits",
        "Bernoulli likelihood from raw logits: stable for any logit",
        "001 003 004",
    )
    weighted = rec(
        "binary_cross_entropy_with_logits",
        "class imbalance: weight the rare positives by negatives / positives",
        "003 004",
        pos_weight=s.pos_weight,
    )
    focal = rec(
        "sigmoid_focal_loss",
        "severe imbalance: down-weights the many easy negatives",
        "001 003 004",
        gamma=2.0,
        alpha=0.75,
    )
    hinge = rec("hinge_loss", "margin-based, SVM-style scores (no probabilities)", "001 004")
    ranked = {
        "none": [bce],
        "moderate": [weighted, focal],
        "severe": [focal, weighted],
        "extreme": [focal, weighted],
    }[s.imbalance]
    return [hinge, *ranked] if s.margin else ranked


def multiclass(s: Scenario, ignore: dict | None = None) -> list[Recommendation]:
    ignore = ignore or {}
    smooth = {"label_smoothing": 0.1} if s.overconfidence else {}
    ce = rec(
        "cross_entropy",
        "categorical likelihood; integer labels, so no one-hot even with many classes",
        "001 003 004",
        **ignore,
        **smooth,
    )
    weighted = rec(
        "cross_entropy",
        "class imbalance: per-class weights, e.g. inverse class frequency",
        "001 004",
        weight="[C] inverse class frequencies",
        **ignore,
        **smooth,
    )
    focal = rec(
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
            sources=(SEEDS["003"], SEEDS["004"]),
        )
        ranked = [smoothed, *(r for r in ranked if r is not base)]
    if s.margin:
        margin = rec("multi_margin_loss", "margin-based, SVM-style multi-class", "004")
        ranked = [margin, *ranked]
    return ranked


def multilabel(s: Scenario) -> list[Recommendation]:
    bce = rec(
        "binary_cross_entropy_with_logits",
        "one independent Bernoulli per label, logits [B, L]",
        "003 004",
    )
    if s.imbalance == "none":
        return [bce]
    weighted = rec(
        "binary_cross_entropy_with_logits",
        "rare labels: a [L] pos_weight of negatives / positives per label",
        "003 004",
        pos_weight=s.pos_weight,
    )
    focal = rec("sigmoid_focal_loss", "many easy negatives per label", "004", gamma=2.0)
    return [weighted, focal] if s.imbalance == "moderate" else [focal, weighted]


def token_classification(s: Scenario) -> list[Recommendation]:
    first, *rest = multiclass(s, ignore={"ignore_index": -100})
    reason = f"one label per token, padding skipped by ignore_index; {first.reason}"
    return [dataclasses.replace(first, reason=reason), *rest]


def segmentation(s: Scenario) -> list[Recommendation]:
    two_class = s.num_classes in (None, 1, 2)
    mode = {} if two_class else {"mode": "multiclass"}
    pixel = (
        rec("binary_cross_entropy_with_logits", "balanced pixels: per-pixel BCE", "000 001")
        if two_class
        else rec("cross_entropy", "per-pixel cross-entropy over classes", "004")
    )
    dice = rec(
        "dice_loss",
        "scores overlap, not pixel accuracy: robust to pixel imbalance",
        "001 004",
        **mode,
    )
    combo = rec(
        "bce_dice_loss", "BCE's smooth gradients plus Dice's overlap (several objects)", "000 001"
    )
    tversky = rec(
        "tversky_loss",
        "Dice with FN weighted above FP (beta > alpha): recall-friendly",
        "000 004",
        alpha=0.3,
        beta=0.7,
        **mode,
    )
    focal_tversky = rec(
        "focal_and_tversky_loss",
        "sparse masks (~1-5% positives): focal on pixels plus recall-friendly Tversky",
        "000",
    )
    focal = (
        rec("sigmoid_focal_loss", "severe pixel imbalance", "001 004", gamma=2.0)
        if two_class
        else rec("softmax_focal_loss", "severe pixel imbalance", "001 004", gamma=2.0)
    )
    if s.boundaries:
        lovasz = (
            rec("lovasz_hinge_loss", "optimises IoU directly: crisp object boundaries", "000")
            if two_class
            else rec("lovasz_softmax_loss", "optimises per-class IoU directly", "000")
        )
        overlap = "overlap losses preserve the decision boundary"
        return [lovasz, dataclasses.replace(dice, reason=overlap), combo if two_class else pixel]
    if s.imbalance == "none":
        return [pixel, combo] if two_class else [pixel, dice]
    if s.imbalance == "moderate":
        return [dice, combo, tversky] if two_class else [dice, tversky, focal]
    if two_class:
        return [focal_tversky, tversky, dice, focal]
    return [tversky, dice, focal]


def detection(s: Scenario) -> list[Recommendation]:
    return [
        rec(
            "sigmoid_focal_loss",
            "class scores: background outnumbers objects ~1000:1 (RetinaNet's alpha)",
            "004",
            alpha=0.25,
            gamma=2.0,
        ),
        rec(
            "generalized_box_iou_loss",
            "box regression on IoU itself, with a gradient for disjoint boxes",
            "004",
        ),
        rec("complete_box_iou_loss", "IoU plus centre distance and aspect ratio", "004"),
        rec("smooth_l1_loss", "box offsets regressed coordinate by coordinate", "004", beta=1.0),
    ]
