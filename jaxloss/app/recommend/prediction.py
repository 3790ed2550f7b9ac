"""The guides for tasks that predict a value or a label per input: regression,
classification (binary, multi-class, multi-label, per token), segmentation and
detection. Each turns a ``Scenario`` into ranked ``Recommendation`` s.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from jaxloss.app.recommend.scenario import SOURCES, Recommendation, Scenario, available, rec


def regression(s: Scenario) -> list[Recommendation]:
    mse = rec("mse_loss", "Gaussian errors: MSE is their maximum likelihood", "mle")
    huber = rec(
        "huber_loss",
        "quadratic near zero, linear beyond delta: robust when some targets are outliers",
        "huber",
        delta=1.0,
    )
    mae = rec("l1_loss", "constant-size gradient: outliers cannot dominate", "huber mle")
    if s.uncertainty:
        return [
            rec(
                "quantile_loss",
                "forecast intervals, one pinball loss per quantile",
                "quantile",
                quantiles=(0.1, 0.5, 0.9),
            ),
            rec("gaussian_nll_loss", "predict a mean and a variance per target", "gnll"),
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
        return [mae, huber, rec("log_cosh_loss", "a smooth, twice-differentiable L1", "logcosh")]
    return [mse, huber]


def binary(s: Scenario) -> list[Recommendation]:
    plain = rec(
        "binary_cross_entropy_with_logits",
        "Bernoulli likelihood from raw logits: stable for any logit",
        "mle",
    )
    tuned = rec(
        "binary_cross_entropy_with_logits",
        "plain BCE keeps the probabilities calibrated; for recall, lower the decision "
        "threshold on validation data instead of reweighting (the demo: best F1 and ECE)",
        "calibration threshold",
    )
    weighted = rec(
        "binary_cross_entropy_with_logits",
        "pos_weight = negatives / positives buys recall on the rare class, paid in "
        "precision and calibration (probabilities inflated); tune the threshold after",
        "pos_weight calibration",
        **s.pos_weight,
    )
    focal = rec(
        "sigmoid_focal_loss",
        "down-weights the many easy negatives: recall on rare positives, but "
        "probabilities pushed towards 0.5 (recalibrate before thresholding)",
        "focal calibration",
        gamma=2.0,
        alpha=0.75,
    )
    extreme_focal = dataclasses.replace(
        focal,
        reason="extreme imbalance (< 1%, detection-like): easy negatives swamp BCE's "
        "gradient; focal loss down-weights them (probabilities need recalibrating)",
    )
    hinge = rec("hinge_loss", "margin-based, SVM-style scores (no probabilities)", "hinge")
    ranked = {
        "none": [plain],
        "moderate": [tuned, weighted, focal],
        "severe": [tuned, focal, weighted],
        "extreme": [extreme_focal, tuned, weighted],
    }[s.imbalance]
    return [hinge, *ranked] if s.margin else ranked


def multiclass(s: Scenario, ignore: dict[str, Any] | None = None) -> list[Recommendation]:
    ignore = ignore or {}
    smooth: dict[str, Any] = {"label_smoothing": 0.1} if s.overconfidence else {}
    ce = rec(
        "cross_entropy",
        "categorical likelihood; integer labels, so no one-hot even with many classes",
        "mle",
        **ignore,
        **smooth,
    )
    weighted = rec(
        "cross_entropy",
        "class imbalance: per-class weights, e.g. inverse class frequency",
        "class_balanced",
        to_fill={"weight": "[C] inverse class frequencies"},
        **ignore,
        **smooth,
    )
    focal = rec(
        "softmax_focal_loss",
        "severe imbalance: focuses on the hard, rare examples",
        "focal",
        gamma=2.0,
        **ignore,
    )
    ranked = {
        "none": [ce],
        "moderate": [weighted, focal],
        "severe": [focal, weighted],
        "extreme": [focal, weighted],
    }[s.imbalance]
    if s.imbalance in ("severe", "extreme"):
        # a long tail of rare classes
        if available("class_balanced_weights"):
            ranked.append(
                rec(
                    "cross_entropy",
                    "long tail: class-balanced weights from the effective number of samples",
                    "class_balanced",
                    to_fill={"weight": "jaxloss.class_balanced_weights(class_counts)"},
                    **ignore,
                )
            )
        if available("ldam_loss") and not ignore:
            ranked.append(
                rec(
                    "ldam_loss",
                    "long tail: larger margins for rarer classes (with deferred re-weighting)",
                    "ldam",
                    to_fill={"class_counts": "[C] training examples per class"},
                )
            )
    if s.overconfidence:
        base = ce if s.imbalance == "none" else weighted
        smoothed = dataclasses.replace(
            base,
            reason="overconfident predictions: label smoothing (0.1) improves calibration",
            sources=(SOURCES["smoothing"], SOURCES["calibration"]),
        )
        ranked = [smoothed, *(r for r in ranked if r is not base)]
    if s.margin:
        margin = rec("multi_margin_loss", "margin-based, SVM-style multi-class", "multiclass_hinge")
        ranked = [margin, *ranked]
    return ranked


def multilabel(s: Scenario) -> list[Recommendation]:
    bce = rec(
        "binary_cross_entropy_with_logits",
        "one independent Bernoulli per label, logits [B, L]",
        "mle",
    )
    if s.imbalance == "none":
        return [bce]
    weighted = rec(
        "binary_cross_entropy_with_logits",
        "rare labels: a [L] pos_weight of negatives / positives per label (recall for calibration)",
        "pos_weight calibration",
        **s.pos_weight,
    )
    focal = rec("sigmoid_focal_loss", "many easy negatives per label", "focal", gamma=2.0)
    asl = [
        rec(
            "asymmetric_loss",
            "many negatives per sample: focuses and clips the negatives apart from the "
            "positives (ASL)",
            "asl",
        )
    ]
    asl = asl if available("asymmetric_loss") else []
    if s.imbalance == "moderate":
        return [weighted, *asl, focal]
    return [*asl, focal, weighted]


def token_classification(s: Scenario) -> list[Recommendation]:
    first, *rest = multiclass(s, ignore={"ignore_index": -100})
    reason = f"one label per token, padding skipped by ignore_index; {first.reason}"
    return [dataclasses.replace(first, reason=reason), *rest]


def segmentation(s: Scenario) -> list[Recommendation]:
    two_class = s.num_classes in (None, 1, 2)
    mode: dict[str, Any] = {} if two_class else {"mode": "multiclass"}
    pixel = (
        rec("binary_cross_entropy_with_logits", "balanced pixels: per-pixel BCE", "seg_survey")
        if two_class
        else rec("cross_entropy", "per-pixel cross-entropy over classes", "seg_survey")
    )
    dice = rec(
        "dice_loss",
        "scores overlap, not pixel accuracy: robust to pixel imbalance",
        "dice seg_survey",
        **mode,
    )
    combo = rec(
        "bce_dice_loss",
        "BCE's smooth gradients plus Dice's overlap (several objects)",
        "seg_survey",
    )
    tversky = rec(
        "tversky_loss",
        "Dice with FN weighted above FP (beta > alpha): recall-friendly",
        "tversky",
        alpha=0.3,
        beta=0.7,
        **mode,
    )
    focal_tversky = rec(
        "focal_and_tversky_loss",
        "sparse masks (~1-5% positives): focal on pixels plus recall-friendly Tversky",
        "focal tversky focal_tversky",
    )
    focal = (
        rec("sigmoid_focal_loss", "severe pixel imbalance", "focal", gamma=2.0)
        if two_class
        else rec("softmax_focal_loss", "severe pixel imbalance", "focal", gamma=2.0)
    )
    if s.thin_structures and available("cldice_loss") and two_class:
        cldice = rec(
            "cldice_loss",
            "thin, tubular structures (vessels, roads): overlap of skeletons keeps them "
            "connected; combine it with Dice",
            "cldice",
        )
        return [cldice, dice, combo]
    if s.boundaries:
        lovasz = (
            rec("lovasz_hinge_loss", "optimises IoU directly: crisp object boundaries", "lovasz")
            if two_class
            else rec("lovasz_softmax_loss", "optimises per-class IoU directly", "lovasz")
        )
        overlap = "overlap losses preserve the decision boundary"
        ranked = [lovasz, dataclasses.replace(dice, reason=overlap), combo if two_class else pixel]
        if available("boundary_loss"):
            boundary = rec(
                "boundary_loss",
                "distances to the true boundary (precomputed signed distance maps); "
                "add it to Dice with a weight ramped up during training",
                "boundary",
                **mode,
            )
            ranked.insert(2, boundary)
        return ranked
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
            "focal",
            alpha=0.25,
            gamma=2.0,
        ),
        rec(
            "generalized_box_iou_loss",
            "box regression on IoU itself, with a gradient for disjoint boxes",
            "giou",
        ),
        rec("complete_box_iou_loss", "IoU plus centre distance and aspect ratio", "ciou"),
        rec(
            "smooth_l1_loss",
            "box offsets regressed coordinate by coordinate",
            "fast_rcnn",
            beta=1.0,
        ),
    ]
