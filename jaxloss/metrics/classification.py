"""Classification: top-k accuracy, confusion counts, precision/recall/F1 and the
overlap scores (IoU, Dice) built on the counts."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import safe_div
from jaxloss._core.sharding import psum
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.metrics._common import class_ids, keep_of, positive_int, scores_last

__all__ = [
    "ConfusionCounts",
    "accuracy",
    "confusion_counts",
    "dice_score",
    "iou_score",
    "precision_recall_f1",
]


class ConfusionCounts(NamedTuple):
    """True/false positives/negatives per class ``[C]`` (scalars for binary)."""

    tp: Array
    fp: Array
    fn: Array
    tn: Array


def accuracy(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    top_k: int = 1,
    axis: int = -1,
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> Array:
    """Fraction of samples whose target class is among the ``top_k`` highest scores.

    Args:
      scores: ``[..., C]`` logits or probabilities.
      targets: integer class ids ``[...]`` in [0, C).
      top_k: static int k in [1, C].
      axis: the class axis of ``scores``; ``axis=1`` takes ``[N, C, ...]``.
      where: boolean ``[...]``; False samples are not counted.
      axis_name: hits and counts are summed across devices.

    Returns:
      A scalar in [0, 1] (0 when no sample is counted); NaN when a counted sample
      has a NaN score or a target that is not a class.

    Matches scikit-learn's ``top_k_accuracy_score``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[0.1, 0.9], [0.8, 0.2]])
      >>> float(jaxloss.accuracy(s, jnp.array([1, 1])))
      0.5
    """
    fn = "accuracy"
    s = jnp.asarray(scores)
    checks.check_numeric(fn, "scores", s)
    checks.check_rank(fn, "scores", s, set(range(1, 33)))
    checks.check_integer(fn, "axis", axis)
    checks.check_integer(fn, "top_k", top_k)
    y = jnp.asarray(targets)
    checks.check_numeric(fn, "targets", y)
    s = scores_last(fn, "scores", s, axis, y.shape)
    if not 1 <= top_k <= s.shape[-1]:
        checks.fail(fn, f"top_k must be an int in [1, {s.shape[-1]}]; got {top_k!r}")
    keep = keep_of(fn, where, y.shape)
    valid = class_ids(fn, "targets", y, keep, s.shape[-1])
    if jnp.issubdtype(s.dtype, jnp.inexact):
        numbers = ~jnp.isnan(s)
        checks.require(fn, "scores", numbers | ~keep[..., None], s, "a number (not NaN)")
        valid = valid & jnp.all(numbers, axis=-1)
    _, top = jax.lax.top_k(s, top_k)
    hit = jnp.any(top == y[..., None], axis=-1).astype(jnp.float32)
    hit = jnp.where(keep, jnp.where(valid, hit, jnp.nan), 0.0)
    hits, total = psum((jnp.sum(hit), jnp.sum(keep, dtype=hit.dtype)), axis_name)
    return safe_div(hits, total)


def _decisions(
    fn: str,
    predictions: ArrayLike,
    targets: ArrayLike,
    keep_where: ArrayLike | None,
    num_classes: int | None,
    threshold: ArrayLike,
    axis: int,
) -> tuple[Array, Array, int | None, Array, Array]:
    """Hard predicted and true class ids, the number of classes (None: binary), the
    samples counted and where each is valid (a class on both sides, no NaN)."""
    if num_classes is not None:
        positive_int(fn, "num_classes", num_classes)
    checks.check_range(fn, "threshold", threshold)  # a number, not NaN
    checks.check_integer(fn, "axis", axis)
    pred, y = jnp.asarray(predictions), jnp.asarray(targets)
    checks.check_numeric(fn, "predictions", pred)
    checks.check_numeric(fn, "targets", y)
    floating = jnp.issubdtype(pred.dtype, jnp.inexact)
    keep = keep_of(fn, keep_where, y.shape)
    if floating and pred.ndim == y.ndim + 1:
        pred = scores_last(fn, "predictions", pred, axis, y.shape)
        if num_classes is not None and num_classes != pred.shape[-1]:
            checks.fail(
                fn,
                f"num_classes={num_classes} but predictions has {pred.shape[-1]} scores "
                f"on its class axis (shape {pred.shape})",
            )
        numbers = ~jnp.isnan(pred)
        checks.require(fn, "predictions", numbers | ~keep[..., None], pred, "a number (not NaN)")
        classes = pred.shape[-1]
        valid, pred = jnp.all(numbers, axis=-1), jnp.argmax(pred, -1)
    else:
        if pred.shape != y.shape:
            checks.fail(
                fn,
                f"targets has shape {y.shape} but predictions has shape {pred.shape}; "
                "predictions are class ids (same shape), scores [..., C], or binary "
                "probabilities (same shape)",
            )
        if axis != -1:
            checks.fail(
                fn,
                f"axis={axis} names the class axis of scores [..., C], but predictions "
                f"has the shape of targets {y.shape} (class ids or binary probabilities)",
            )
        classes = num_classes
        if floating:
            valid = ~jnp.isnan(pred)
            checks.require(fn, "predictions", valid | ~keep, pred, "a number (not NaN)")
            if checks.is_traced(threshold):
                ok = ~jnp.isnan(jnp.asarray(threshold))
                checks.require(fn, "threshold", ok, jnp.asarray(threshold), "a number")
                valid = valid & ok
            pred = (pred > threshold).astype(jnp.int32)
        else:
            valid = class_ids(fn, "predictions", pred, keep, classes)
    valid = valid & class_ids(fn, "targets", y, keep, classes)
    return pred, y, classes, keep, valid


def _counts(
    fn: str,
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    num_classes: int | None,
    threshold: ArrayLike,
    axis: int,
    where: ArrayLike | None,
    axis_name: AxisName,
) -> ConfusionCounts:
    """:func:`confusion_counts`, whose errors name ``fn``."""
    pred, y, classes, keep, valid = _decisions(
        fn, predictions, targets, where, num_classes, threshold, axis
    )
    # any invalid sample that is counted makes every count NaN
    poison = jnp.sum(jnp.where(keep & ~valid, jnp.nan, 0.0))
    if classes is None:
        pred_pos, true_pos = pred == 1, y == 1
    else:
        c = jnp.arange(classes)
        pred_pos, true_pos = pred[..., None] == c, y[..., None] == c
        keep = keep[..., None]
    axes = tuple(range(y.ndim))

    def count(a: Array, b: Array) -> Array:
        return jnp.sum(a & b & keep, axis=axes, dtype=jnp.float32) + poison

    tp, fp = count(pred_pos, true_pos), count(pred_pos, ~true_pos)
    fn_, tn = count(~pred_pos, true_pos), count(~pred_pos, ~true_pos)
    return ConfusionCounts(*psum((tp, fp, fn_, tn), axis_name))


def confusion_counts(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    num_classes: int | None = None,
    threshold: float = 0.5,
    axis: int = -1,
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> ConfusionCounts:
    """True/false positives/negatives, per class or for the positive class.

    Args:
      predictions: predicted class ids (same shape as ``targets``), scores
        ``[..., C]`` (argmax; C must equal ``num_classes`` if given), or binary
        probabilities/scores (same shape, positive above ``threshold``).
      targets: class ids ``[...]`` in [0, C) (0 or 1 for binary).
      num_classes: C (a positive int) for integer predictions; None means binary
        0/1 targets and predictions.
      threshold: a number; binary float predictions above it are positive.
      axis: the class axis of scores ``[..., C]`` (``axis=1`` takes
        ``[N, C, ...]``); only -1 for class ids or binary probabilities.
      where: boolean ``[...]``; False samples are not counted.
      axis_name: counts are summed across devices.

    Returns:
      :class:`ConfusionCounts` of ``[C]`` counts, or scalars for binary; all NaN
      when a counted sample has a NaN prediction or a predicted or target id that
      is not a class.

    Its ``tp`` is the diagonal of scikit-learn's ``confusion_matrix``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> c = jaxloss.confusion_counts(jnp.array([0.9, 0.2, 0.7]), jnp.array([1, 1, 0]))
      >>> [int(v) for v in c]
      [1, 1, 1, 0]
    """
    return _counts(
        "confusion_counts",
        predictions,
        targets,
        num_classes=num_classes,
        threshold=threshold,
        axis=axis,
        where=where,
        axis_name=axis_name,
    )


def precision_recall_f1(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    average: str = "binary",
    num_classes: int | None = None,
    threshold: float = 0.5,
    axis: int = -1,
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> tuple[Array, Array, Array]:
    """Precision, recall and F1, as scikit-learn computes them (``zero_division=0``).

    Args:
      predictions: as :func:`confusion_counts`.
      targets: class ids ``[...]``, as :func:`confusion_counts`.
      average: ``"binary"`` (the positive class 1), ``"macro"`` (unweighted mean
        over classes) or ``"micro"`` (from the summed counts).
      num_classes: C for integer predictions; None means binary 0/1 targets.
      threshold: a number; binary float predictions above it are positive.
      axis: the class axis of scores ``[..., C]`` (``axis=1`` takes
        ``[N, C, ...]``); only -1 for class ids or binary probabilities.
      where: boolean ``[...]``; False samples are not counted.
      axis_name: counts are summed across devices.

    Returns:
      ``(precision, recall, f1)`` scalars; NaN on invalid input, as
      :func:`confusion_counts`.

    Matches scikit-learn's ``precision_recall_fscore_support``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, r, f = jaxloss.precision_recall_f1(jnp.array([1, 1, 0, 0]), jnp.array([1, 0, 1, 0]))
      >>> float(p), float(r), float(f)
      (0.5, 0.5, 0.5)
    """
    fn = "precision_recall_f1"
    checks.check_option(fn, "average", average, ("binary", "macro", "micro"))
    c = _counts(
        fn,
        predictions,
        targets,
        num_classes=num_classes,
        threshold=threshold,
        axis=axis,
        where=where,
        axis_name=axis_name,
    )
    tp, fp, fn_ = c.tp, c.fp, c.fn
    if average == "binary" and tp.ndim and tp.shape[0] < 2:
        checks.fail(fn, f"average='binary' scores class 1, but there are {tp.shape[0]} classes")
    if average == "binary" and tp.ndim:
        tp, fp, fn_ = tp[1], fp[1], fn_[1]
    elif average == "micro":
        tp, fp, fn_ = jnp.sum(tp), jnp.sum(fp), jnp.sum(fn_)
    precision, recall = safe_div(tp, tp + fp), safe_div(tp, tp + fn_)
    f1 = safe_div(2.0 * tp, 2.0 * tp + fp + fn_)
    if average == "macro":
        return jnp.mean(precision), jnp.mean(recall), jnp.mean(f1)
    return precision, recall, f1


def iou_score(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    num_classes: int | None = None,
    threshold: float = 0.5,
    axis: int = -1,
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> Array:
    """Hard intersection over union, TP / (TP + FP + FN), per class or for the
    positive class; average with ``jnp.mean`` for mIoU.

    Args:
      predictions: as :func:`confusion_counts`.
      targets: class ids ``[...]``, as :func:`confusion_counts`.
      num_classes: C for integer predictions; None means binary 0/1 targets.
      threshold: a number; binary float predictions above it are positive.
      axis: the class axis of scores ``[..., C]`` (``axis=1`` takes
        ``[N, C, ...]``); only -1 for class ids or binary probabilities.
      where: boolean ``[...]``; False samples (pixels) are not counted.
      axis_name: counts are summed across devices.

    Returns:
      ``[C]`` scores, or a scalar for binary. A class absent from both predictions
      and targets scores 0; invalid input gives NaN, as :func:`confusion_counts`.

    Matches scikit-learn's ``jaccard_score(average=None)``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.iou_score(jnp.array([1, 1, 0]), jnp.array([1, 0, 0])))
      0.5
    """
    fn = "iou_score"
    c = _counts(
        fn,
        predictions,
        targets,
        num_classes=num_classes,
        threshold=threshold,
        axis=axis,
        where=where,
        axis_name=axis_name,
    )
    return safe_div(c.tp, c.tp + c.fp + c.fn)


def dice_score(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    num_classes: int | None = None,
    threshold: float = 0.5,
    axis: int = -1,
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> Array:
    """Hard Dice (F1) score, 2 TP / (2 TP + FP + FN), per class or for the positive
    class.

    Args:
      predictions: as :func:`confusion_counts`.
      targets: class ids ``[...]``, as :func:`confusion_counts`.
      num_classes: C for integer predictions; None means binary 0/1 targets.
      threshold: a number; binary float predictions above it are positive.
      axis: the class axis of scores ``[..., C]`` (``axis=1`` takes
        ``[N, C, ...]``); only -1 for class ids or binary probabilities.
      where: boolean ``[...]``; False samples (pixels) are not counted.
      axis_name: counts are summed across devices.

    Returns:
      ``[C]`` scores, or a scalar for binary. A class absent from both predictions
      and targets scores 0; invalid input gives NaN, as :func:`confusion_counts`.

    Matches scikit-learn's ``f1_score(average=None)``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.dice_score(jnp.array([1, 1, 0]), jnp.array([1, 0, 0]))), 4)
      0.6667
    """
    fn = "dice_score"
    c = _counts(
        fn,
        predictions,
        targets,
        num_classes=num_classes,
        threshold=threshold,
        axis=axis,
        where=where,
        axis_name=axis_name,
    )
    return safe_div(2.0 * c.tp, 2.0 * c.tp + c.fp + c.fn)
