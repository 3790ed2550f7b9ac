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
from jaxloss._core.reduce import mask_of
from jaxloss._core.sharding import psum
from jaxloss._core.types import Array, AxisName

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
    """Per-bin statistics of a reliability diagram (``[n_bins]`` each)."""

    edges: Array  # [n_bins + 1] bin edges in [0, 1]
    confidence: Array  # mean confidence in the bin (0 where empty)
    accuracy: Array  # accuracy (or positive frequency) in the bin (0 where empty)
    count: Array  # samples in the bin


class ConfusionCounts(NamedTuple):
    """True/false positives/negatives per class ``[C]`` (scalars for binary)."""

    tp: Array
    fp: Array
    fn: Array
    tn: Array


def reliability_diagram(
    probs: Array,
    labels: Array,
    *,
    n_bins: int = 10,
    where: Array | None = None,
    axis_name: AxisName = None,
) -> ReliabilityDiagram:
    """Confidence against accuracy in equal-width bins.

    Two forms, by the shape of ``probs``:

    - ``[N, C]`` class probabilities with integer ``labels [N]``: the top-label
      confidence max_c p against whether the top label is right, in bins
      ``(lo, hi]`` (Guo et al. 2017; confidence 0 goes in the first bin).
    - ``[N]`` positive-class probabilities with 0/1 ``labels [N]``: p against
      the frequency of positives, in bins ``[lo, hi)`` as seed 003 bins them,
      except that p = 1 goes in the last bin (the seed's loop drops it).

    Args:
      probs, labels: as above. where: ``[N]`` samples to use.
      n_bins: number of equal-width bins (static).
      axis_name: counts and sums are taken across devices.

    Returns:
      A :class:`ReliabilityDiagram`.
    """
    fn = "reliability_diagram"
    p = jnp.asarray(probs)
    y = jnp.asarray(labels)
    checks.check_floating(fn, "probs", p)
    checks.check_rank(fn, "probs", p, {1, 2})
    if y.shape != p.shape[:1]:
        checks.fail(fn, f"labels has shape {y.shape}; expected {p.shape[:1]}, one per sample")
    if not isinstance(n_bins, int) or n_bins < 1:
        checks.fail(fn, f"n_bins must be a positive int; got {n_bins!r}")
    (p,) = upcast(p)
    if p.ndim == 2:
        confidence = jnp.max(p, axis=-1)
        hit = (jnp.argmax(p, axis=-1) == y).astype(p.dtype)
        index = jnp.ceil(confidence * n_bins).astype(jnp.int32) - 1
    else:
        confidence, hit = p, y.astype(p.dtype)
        index = jnp.floor(confidence * n_bins).astype(jnp.int32)
    index = jnp.clip(index, 0, n_bins - 1)
    mask = mask_of(fn, where, confidence.shape)
    keep = jnp.ones_like(confidence) if mask is None else mask.astype(p.dtype)

    def binned(values):
        return jax.ops.segment_sum(values * keep, index, n_bins)

    count, conf_sum, hit_sum = psum(
        (binned(jnp.ones_like(confidence)), binned(confidence), binned(hit)),
        axis_name,
    )
    return ReliabilityDiagram(
        jnp.linspace(0.0, 1.0, n_bins + 1),
        safe_div(conf_sum, count),
        safe_div(hit_sum, count),
        count,
    )


def expected_calibration_error(
    probs: Array,
    labels: Array,
    *,
    n_bins: int = 10,
    where: Array | None = None,
    axis_name: AxisName = None,
) -> Array:
    r"""Expected calibration error: the count-weighted gap between confidence and
    accuracy over equal-width bins.

    .. math:: \mathrm{ECE} = \sum_b \frac{n_b}{N}\,\big|\mathrm{acc}_b - \mathrm{conf}_b\big|

    Args: as :func:`reliability_diagram` (both forms: ``[N, C]`` top-label,
    ``[N]`` positive-class as in seed 003).

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
    d = reliability_diagram(probs, labels, n_bins=n_bins, where=where, axis_name=axis_name)
    total = jnp.sum(d.count)
    return safe_div(jnp.sum(d.count * jnp.abs(d.accuracy - d.confidence)), total)


def accuracy(
    scores: Array,
    labels: Array,
    *,
    top_k: int = 1,
    where: Array | None = None,
    axis_name: AxisName = None,
) -> Array:
    """Fraction of samples whose label is among the ``top_k`` highest scores.

    Args:
      scores: ``[..., C]`` logits or probabilities. labels: integer ``[...]``.
      top_k: static k. where: ``[...]`` samples to count.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[0.1, 0.9], [0.8, 0.2]])
      >>> float(jaxloss.accuracy(s, jnp.array([1, 1])))
      0.5
    """
    fn = "accuracy"
    s, y = jnp.asarray(scores), jnp.asarray(labels)
    checks.check_rank(fn, "scores", s, set(range(1, 33)))
    if y.shape != s.shape[:-1]:
        checks.fail(fn, f"labels has shape {y.shape}; expected {s.shape[:-1]}")
    if not isinstance(top_k, int) or not 1 <= top_k <= s.shape[-1]:
        checks.fail(fn, f"top_k must be an int in [1, {s.shape[-1]}]; got {top_k!r}")
    _, top = jax.lax.top_k(s, top_k)
    hit = jnp.any(top == y[..., None], axis=-1).astype(jnp.float32)
    mask = mask_of(fn, where, y.shape)
    keep = jnp.ones_like(hit) if mask is None else mask.astype(hit.dtype)
    hits, total = psum((jnp.sum(hit * keep), jnp.sum(keep)), axis_name)
    return safe_div(hits, total)


def _decisions(fn: str, predictions: Array, labels: Array, num_classes, threshold):
    """Hard predicted labels and true labels, and the number of classes (None: binary)."""
    pred, y = jnp.asarray(predictions), jnp.asarray(labels)
    scores = pred.ndim == y.ndim + 1 and pred.shape[:-1] == y.shape
    if jnp.issubdtype(pred.dtype, jnp.floating) and scores:
        return jnp.argmax(pred, -1), y, pred.shape[-1]
    if pred.shape != y.shape:
        checks.fail(
            fn,
            f"labels has shape {y.shape} but predictions has shape {pred.shape}; "
            "predictions are labels (same shape), scores [..., C], or binary "
            "probabilities (same shape)",
        )
    if jnp.issubdtype(pred.dtype, jnp.floating):
        return (pred > threshold).astype(jnp.int32), y.astype(jnp.int32), num_classes
    return pred, y, num_classes


def confusion_counts(
    predictions: Array,
    labels: Array,
    *,
    num_classes: int | None = None,
    threshold: float = 0.5,
    where: Array | None = None,
    axis_name: AxisName = None,
) -> ConfusionCounts:
    """True/false positives/negatives, per class or for the positive class.

    Args:
      predictions: predicted labels (same shape as ``labels``), scores ``[..., C]``
        (argmax), or binary probabilities/scores (same shape, positive above
        ``threshold``).
      labels: integer labels.
      num_classes: C for integer predictions; None means binary 0/1 labels.
      threshold: for binary float predictions.
      where: samples to count. axis_name: counts across devices.

    Returns:
      :class:`ConfusionCounts` of ``[C]`` counts, or scalars for binary.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> c = jaxloss.confusion_counts(jnp.array([0.9, 0.2, 0.7]), jnp.array([1, 1, 0]))
      >>> [int(v) for v in c]
      [1, 1, 1, 0]
    """
    fn = "confusion_counts"
    pred, y, classes = _decisions(fn, predictions, labels, num_classes, threshold)
    mask = mask_of(fn, where, y.shape)
    keep = jnp.ones(y.shape, jnp.float32) if mask is None else mask.astype(jnp.float32)
    if classes is None:
        pred_pos, true_pos = pred == 1, y == 1
    else:
        c = jnp.arange(classes)
        pred_pos, true_pos = pred[..., None] == c, y[..., None] == c
        keep = keep[..., None]
    axes = tuple(range(y.ndim))

    def count(a, b):
        return jnp.sum((a & b) * keep, axis=axes)

    tp, fp = count(pred_pos, true_pos), count(pred_pos, ~true_pos)
    fn_, tn = count(~pred_pos, true_pos), count(~pred_pos, ~true_pos)
    return ConfusionCounts(*psum((tp, fp, fn_, tn), axis_name))


def precision_recall_f1(
    predictions: Array,
    labels: Array,
    *,
    average: str = "binary",
    num_classes: int | None = None,
    threshold: float = 0.5,
    where: Array | None = None,
    axis_name: AxisName = None,
) -> tuple[Array, Array, Array]:
    """Precision, recall and F1, as scikit-learn computes them (``zero_division=0``).

    Args:
      predictions, labels, num_classes, threshold, where, axis_name: as
        :func:`confusion_counts`.
      average: ``"binary"`` (the positive class 1), ``"macro"`` (unweighted mean
        over classes) or ``"micro"`` (from the summed counts).

    Returns:
      ``(precision, recall, f1)`` scalars.

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
        labels,
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


def _overlap_score(predictions, labels, num_classes, threshold, where, axis_name, dice):
    c = confusion_counts(
        predictions,
        labels,
        num_classes=num_classes,
        threshold=threshold,
        where=where,
        axis_name=axis_name,
    )
    if dice:
        return safe_div(2.0 * c.tp, 2.0 * c.tp + c.fp + c.fn)
    return safe_div(c.tp, c.tp + c.fp + c.fn)


def iou_score(
    predictions: Array,
    labels: Array,
    *,
    num_classes: int | None = None,
    threshold: float = 0.5,
    where: Array | None = None,
    axis_name: AxisName = None,
) -> Array:
    """Hard intersection over union, TP / (TP + FP + FN), per class (``[C]``) or for
    the positive class; average with ``jnp.mean`` for mIoU. A class absent from
    both prediction and labels scores 0.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.iou_score(jnp.array([1, 1, 0]), jnp.array([1, 0, 0])))
      0.5
    """
    return _overlap_score(predictions, labels, num_classes, threshold, where, axis_name, dice=False)


def dice_score(
    predictions: Array,
    labels: Array,
    *,
    num_classes: int | None = None,
    threshold: float = 0.5,
    where: Array | None = None,
    axis_name: AxisName = None,
) -> Array:
    """Hard Dice (F1) score, 2 TP / (2 TP + FP + FN), per class or for the positive
    class.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.dice_score(jnp.array([1, 1, 0]), jnp.array([1, 0, 0]))), 4)
      0.6667
    """
    return _overlap_score(predictions, labels, num_classes, threshold, where, axis_name, dice=True)
