"""Evaluation metrics: calibration, accuracy, confusion counts, precision/recall/F1
and overlap scores. They are jit-able and shard-safe (``axis_name`` sums counts
across devices), but not meant for ``grad``: their inputs are hard decisions.

An empty bin, class or mask gives 0, never NaN (scikit-learn's
``zero_division=0``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import safe_div, upcast
from jaxloss._core.reduce import mask_of, mask_weights
from jaxloss._core.sharding import psum
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = [
    "ConfusionCounts",
    "ReliabilityDiagram",
    "accuracy",
    "confusion_counts",
    "dice_score",
    "expected_calibration_error",
    "iou_score",
    "precision_recall_f1",
    "reliability_diagram",
]


class ReliabilityDiagram(NamedTuple):
    """Per-bin statistics of a reliability diagram (``[num_bins]`` each)."""

    edges: Array  # [num_bins + 1] bin edges in [0, 1]
    confidence: Array  # mean confidence in the bin (0 where empty)
    accuracy: Array  # accuracy (or positive frequency) in the bin (0 where empty)
    # samples in the bin; the public field name shadows tuple.count on purpose
    count: Array  # pyright: ignore[reportIncompatibleMethodOverride]


class ConfusionCounts(NamedTuple):
    """True/false positives/negatives per class ``[C]`` (scalars for binary)."""

    tp: Array
    fp: Array
    fn: Array
    tn: Array


def _keep_of(fn: str, where: ArrayLike | None, shape: tuple[int, ...], dtype) -> Array:
    """``where`` as 1/0 weights of ``shape`` (all ones without a mask)."""
    return mask_weights(mask_of(fn, where, shape), shape, dtype)


def reliability_diagram(
    probs: ArrayLike,
    targets: ArrayLike,
    *,
    num_bins: int = 10,
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> ReliabilityDiagram:
    """Confidence against accuracy in equal-width bins.

    Two forms, by the shape of ``probs``:

    - ``[N, C]`` class probabilities with integer ``targets [N]``: the top-label
      confidence max_c p against whether the top label is right, in bins
      ``(lo, hi]`` (Guo et al. 2017; confidence 0 goes in the first bin).
    - ``[N]`` positive-class probabilities with 0/1 ``targets [N]``: p against
      the frequency of positives, in bins ``[lo, hi)`` as seed 003 bins them,
      except that p = 1 goes in the last bin (the seed's loop drops it).

    Args:
      probs: ``[N, C]`` or ``[N]`` probabilities, as above.
      targets: ``[N]`` class ids (``[N, C]`` form) or 0/1 outcomes (``[N]`` form).
      num_bins: number of equal-width bins (static).
      where: boolean ``[N]``; False samples are left out.
      axis_name: counts and sums are taken across devices.

    Returns:
      A :class:`ReliabilityDiagram`.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> d = jaxloss.reliability_diagram(jnp.array([0.1, 0.9]), jnp.array([0, 1]), num_bins=2)
      >>> d.count.tolist(), d.accuracy.tolist()
      ([1.0, 1.0], [0.0, 1.0])
    """
    fn = "reliability_diagram"
    p = jnp.asarray(probs)
    checks.check_floating(fn, "probs", p)
    checks.check_rank(fn, "probs", p, {1, 2})
    y = checks.row_values(fn, "targets", targets, p.shape[:1])
    if not isinstance(num_bins, int) or num_bins < 1:
        checks.fail(fn, f"num_bins must be a positive int; got {num_bins!r}")
    (p,) = upcast(p)
    if p.ndim == 2:
        confidence = jnp.max(p, axis=-1)
        hit = (jnp.argmax(p, axis=-1) == y).astype(p.dtype)
        index = jnp.ceil(confidence * num_bins).astype(jnp.int32) - 1
    else:
        confidence, hit = p, y.astype(p.dtype)
        index = jnp.floor(confidence * num_bins).astype(jnp.int32)
    index = jnp.clip(index, 0, num_bins - 1)
    keep = _keep_of(fn, where, confidence.shape, p.dtype)

    def binned(values: Array) -> Array:
        return jax.ops.segment_sum(values * keep, index, num_bins)

    count, conf_sum, hit_sum = psum(
        (binned(jnp.ones_like(confidence)), binned(confidence), binned(hit)),
        axis_name,
    )
    return ReliabilityDiagram(
        jnp.linspace(0.0, 1.0, num_bins + 1),
        safe_div(conf_sum, count),
        safe_div(hit_sum, count),
        count,
    )


def expected_calibration_error(
    probs: ArrayLike,
    targets: ArrayLike,
    *,
    num_bins: int = 10,
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> Array:
    r"""Expected calibration error: the count-weighted gap between confidence and
    accuracy over equal-width bins.

    .. math:: \mathrm{ECE} = \sum_b \frac{n_b}{N}\,\big|\mathrm{acc}_b - \mathrm{conf}_b\big|

    Args:
      probs: ``[N, C]`` class probabilities (top-label ECE) or ``[N]``
        positive-class probabilities (as in seed 003); see :func:`reliability_diagram`.
      targets: ``[N]`` class ids (``[N, C]`` form) or 0/1 outcomes (``[N]`` form).
      num_bins: number of equal-width bins (static).
      where: boolean ``[N]``; False samples are left out.
      axis_name: counts and sums are taken across devices.

    Returns:
      A scalar in [0, 1]; empty bins contribute 0, and so does an empty input.

    References: Guo et al. (2017), "On Calibration of Modern Neural Networks";
    seed 003.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([0.9, 0.9, 0.2, 0.2])
      >>> y = jnp.array([1, 0, 0, 0])
      >>> round(float(jaxloss.expected_calibration_error(p, y)), 4)
      0.3
    """
    d = reliability_diagram(probs, targets, num_bins=num_bins, where=where, axis_name=axis_name)
    total = jnp.sum(d.count)
    return safe_div(jnp.sum(d.count * jnp.abs(d.accuracy - d.confidence)), total)


def accuracy(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    top_k: int = 1,
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> Array:
    """Fraction of samples whose target class is among the ``top_k`` highest scores.

    Args:
      scores: ``[..., C]`` logits or probabilities.
      targets: integer class ids ``[...]``.
      top_k: static k in [1, C].
      where: boolean ``[...]``; False samples are not counted.
      axis_name: hits and counts are summed across devices.

    Returns:
      A scalar in [0, 1] (0 when no sample is counted).

    Matches scikit-learn's ``top_k_accuracy_score``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[0.1, 0.9], [0.8, 0.2]])
      >>> float(jaxloss.accuracy(s, jnp.array([1, 1])))
      0.5
    """
    fn = "accuracy"
    s = jnp.asarray(scores)
    checks.check_rank(fn, "scores", s, set(range(1, 33)))
    y = checks.row_values(fn, "targets", targets, s.shape[:-1])
    if not isinstance(top_k, int) or not 1 <= top_k <= s.shape[-1]:
        checks.fail(fn, f"top_k must be an int in [1, {s.shape[-1]}]; got {top_k!r}")
    _, top = jax.lax.top_k(s, top_k)
    hit = jnp.any(top == y[..., None], axis=-1).astype(jnp.float32)
    keep = _keep_of(fn, where, y.shape, hit.dtype)
    hits, total = psum((jnp.sum(hit * keep), jnp.sum(keep)), axis_name)
    return safe_div(hits, total)


def _decisions(
    fn: str, predictions: ArrayLike, targets: ArrayLike, num_classes: int | None, threshold: float
) -> tuple[Array, Array, int | None]:
    """Hard predicted and true class ids, and the number of classes (None: binary)."""
    pred, y = jnp.asarray(predictions), jnp.asarray(targets)
    scores = pred.ndim == y.ndim + 1 and pred.shape[:-1] == y.shape
    if jnp.issubdtype(pred.dtype, jnp.floating) and scores:
        return jnp.argmax(pred, -1), y, pred.shape[-1]
    if pred.shape != y.shape:
        checks.fail(
            fn,
            f"targets has shape {y.shape} but predictions has shape {pred.shape}; "
            "predictions are class ids (same shape), scores [..., C], or binary "
            "probabilities (same shape)",
        )
    if jnp.issubdtype(pred.dtype, jnp.floating):
        return (pred > threshold).astype(jnp.int32), y.astype(jnp.int32), num_classes
    return pred, y, num_classes


def confusion_counts(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    num_classes: int | None = None,
    threshold: float = 0.5,
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> ConfusionCounts:
    """True/false positives/negatives, per class or for the positive class.

    Args:
      predictions: predicted class ids (same shape as ``targets``), scores
        ``[..., C]`` (argmax), or binary probabilities/scores (same shape, positive
        above ``threshold``).
      targets: integer class ids ``[...]``.
      num_classes: C for integer predictions; None means binary 0/1 targets.
      threshold: for binary float predictions.
      where: boolean ``[...]``; False samples are not counted.
      axis_name: counts are summed across devices.

    Returns:
      :class:`ConfusionCounts` of ``[C]`` counts, or scalars for binary.

    Its ``tp`` is the diagonal of scikit-learn's ``confusion_matrix``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> c = jaxloss.confusion_counts(jnp.array([0.9, 0.2, 0.7]), jnp.array([1, 1, 0]))
      >>> [int(v) for v in c]
      [1, 1, 1, 0]
    """
    fn = "confusion_counts"
    pred, y, classes = _decisions(fn, predictions, targets, num_classes, threshold)
    keep = _keep_of(fn, where, y.shape, jnp.float32)
    if classes is None:
        pred_pos, true_pos = pred == 1, y == 1
    else:
        c = jnp.arange(classes)
        pred_pos, true_pos = pred[..., None] == c, y[..., None] == c
        keep = keep[..., None]
    axes = tuple(range(y.ndim))

    def count(a: Array, b: Array) -> Array:
        return jnp.sum((a & b) * keep, axis=axes)

    tp, fp = count(pred_pos, true_pos), count(pred_pos, ~true_pos)
    fn_, tn = count(~pred_pos, true_pos), count(~pred_pos, ~true_pos)
    return ConfusionCounts(*psum((tp, fp, fn_, tn), axis_name))


def precision_recall_f1(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    average: str = "binary",
    num_classes: int | None = None,
    threshold: float = 0.5,
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> tuple[Array, Array, Array]:
    """Precision, recall and F1, as scikit-learn computes them (``zero_division=0``).

    Args:
      predictions: as :func:`confusion_counts`.
      targets: integer class ids ``[...]``.
      average: ``"binary"`` (the positive class 1), ``"macro"`` (unweighted mean
        over classes) or ``"micro"`` (from the summed counts).
      num_classes: C for integer predictions; None means binary 0/1 targets.
      threshold: for binary float predictions.
      where: boolean ``[...]``; False samples are not counted.
      axis_name: counts are summed across devices.

    Returns:
      ``(precision, recall, f1)`` scalars.

    Matches scikit-learn's ``precision_recall_fscore_support``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, r, f = jaxloss.precision_recall_f1(jnp.array([1, 1, 0, 0]), jnp.array([1, 0, 1, 0]))
      >>> float(p), float(r), float(f)
      (0.5, 0.5, 0.5)
    """
    fn = "precision_recall_f1"
    checks.check_option(fn, "average", average, ("binary", "macro", "micro"))
    c = confusion_counts(
        predictions,
        targets,
        num_classes=num_classes,
        threshold=threshold,
        where=where,
        axis_name=axis_name,
    )
    tp, fp, fn_ = c.tp, c.fp, c.fn
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
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> Array:
    """Hard intersection over union, TP / (TP + FP + FN), per class or for the
    positive class; average with ``jnp.mean`` for mIoU.

    Args:
      predictions: as :func:`confusion_counts`.
      targets: integer class ids ``[...]``.
      num_classes: C for integer predictions; None means binary 0/1 targets.
      threshold: for binary float predictions.
      where: boolean ``[...]``; False samples (pixels) are not counted.
      axis_name: counts are summed across devices.

    Returns:
      ``[C]`` scores, or a scalar for binary. A class absent from both predictions
      and targets scores 0.

    Matches scikit-learn's ``jaccard_score(average=None)``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.iou_score(jnp.array([1, 1, 0]), jnp.array([1, 0, 0])))
      0.5
    """
    c = confusion_counts(
        predictions,
        targets,
        num_classes=num_classes,
        threshold=threshold,
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
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> Array:
    """Hard Dice (F1) score, 2 TP / (2 TP + FP + FN), per class or for the positive
    class.

    Args:
      predictions: as :func:`confusion_counts`.
      targets: integer class ids ``[...]``.
      num_classes: C for integer predictions; None means binary 0/1 targets.
      threshold: for binary float predictions.
      where: boolean ``[...]``; False samples (pixels) are not counted.
      axis_name: counts are summed across devices.

    Returns:
      ``[C]`` scores, or a scalar for binary. A class absent from both predictions
      and targets scores 0.

    Matches scikit-learn's ``f1_score(average=None)``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.dice_score(jnp.array([1, 1, 0]), jnp.array([1, 0, 0]))), 4)
      0.6667
    """
    c = confusion_counts(
        predictions,
        targets,
        num_classes=num_classes,
        threshold=threshold,
        where=where,
        axis_name=axis_name,
    )
    return safe_div(2.0 * c.tp, 2.0 * c.tp + c.fp + c.fn)
