"""Long-tailed and multi-label classification: the asymmetric loss (ASL), LDAM's
label-distribution-aware margins, and class-balanced weights.

ASL is elementwise over ``[..., L]`` labels like a binary cross-entropy; LDAM is a
softmax cross-entropy over ``[..., C]`` classes whose margins come from the class
counts of the training set; :func:`class_balanced_weights` turns those counts into
``[C]`` class weights for any loss that takes them.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import (
    logits_and_labels,
    move_class_axis,
    reduce_classwise,
    softmax_cross_entropy_rows,
)
from jaxloss._core.numerics import log_sigmoid, sigmoid_pair, upcast
from jaxloss._core.reduce import prepare_pair, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName, Scalar

__all__ = ["asymmetric_loss", "class_balanced_weights", "ldam_loss"]

_ASL_EPS = 1e-8  # the official AsymmetricLoss's floor on probabilities inside the logs


def _power(base: Array, exponent: Array) -> Array:
    """``base ** exponent`` for base >= 0 and a per-element exponent >= 0, with
    0 ** 0 = 1 and a zero (not infinite) derivative at base 0."""
    zero = base == 0
    value = jnp.exp(exponent * jnp.log(jnp.where(zero, 1.0, base)))
    return jnp.where(zero, jnp.where(exponent == 0, 1.0, 0.0), value)


def asymmetric_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    gamma_neg: Scalar = 4.0,
    gamma_pos: Scalar = 1.0,
    clip: Scalar = 0.05,
    weight: ArrayLike | None = None,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Asymmetric loss (ASL) for multi-label classification with many negatives.

    With :math:`p = \sigma(x)` and the shifted probability of a negative
    :math:`p_m = \max(p - m, 0)` (:math:`m` = ``clip``):

    .. math::
        \ell = -\,y\,(1 - p)^{\gamma_+}\log p
               \;-\; (1 - y)\,p_m^{\gamma_-}\log(1 - p_m)

    each log floored at :math:`\log 10^{-8}` as the official code. Easy negatives
    (p below m) are discarded outright and the rest down-weighted harder than the
    positives (:math:`\gamma_- > \gamma_+`). Soft targets follow the official
    code: the base is :math:`y(1-p) + (1-y)p_m` and the exponent
    :math:`\gamma_+ y + \gamma_-(1 - y)`.

    Args:
      logits: ``[..., L]`` one logit per label.
      targets: same shape, in [0, 1] (0/1 label vectors); others give NaN.
      gamma_neg: focusing exponent of the negatives, >= 0.
      gamma_pos: focusing exponent of the positives, >= 0.
      clip: probability margin m in [0, 1] shifted off the negatives; 0 disables it.
      weight: aligned with the leading axes of ``[..., L]``; rescales each element.
      class_weights: ``[L]``, one weight per class (label); multiplies each label's
        term by its weight :math:`w_c`.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[..., L]``; False elements are left out.
      reduction: ``"mean"`` (over samples and labels), ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[..., L]`` for ``reduction="none"``.

    Matches the official ``AsymmetricLoss`` (gradients through the focusing
    weight, its default) up to the reduction: the official code returns the sum
    over samples and labels, which is ``reduction="sum"``; ``"mean"`` divides it
    by the number of elements. All-negative rows and logits of +-1e4 stay finite:
    the probabilities come from exact sigmoids and every log is clamped before it
    is taken.
    References: Ridnik et al. (2021), "Asymmetric Loss For Multi-Label
    Classification"; github.com/Alibaba-MIIL/ASL, ``src/loss_functions/losses.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.asymmetric_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      >>> round(float(loss), 4)
      0.1855
    """
    fn = "asymmetric_loss"
    ok_neg = checks.option_in_range(fn, "gamma_neg", gamma_neg, low=0.0)
    ok_pos = checks.option_in_range(fn, "gamma_pos", gamma_pos, low=0.0)
    ok_clip = checks.option_in_range(fn, "clip", clip, low=0.0, high=1.0)
    x, t, _ = prepare_pair(fn, "logits", logits, targets, where)
    if class_weights is not None and x.ndim < 1:
        checks.fail(fn, f"class_weights needs a label axis [..., L]; logits has shape {x.shape}")
    class_w = checks.class_weights_of(
        fn, class_weights, x.shape[-1] if x.ndim else 0, "class_weights"
    )
    valid = (t >= 0) & (t <= 1)
    checks.require(fn, "targets", valid, t, "in [0, 1]")
    m = jnp.asarray(clip, x.dtype)
    p, not_p = sigmoid_pair(x)
    log_eps = math.log(_ASL_EPS)
    log_pos = jnp.maximum(log_sigmoid(x), log_eps)
    # 1 - p_m = min(1 - p + m, 1), clamped before the log so its gradient is finite
    log_neg = jnp.log(jnp.clip(not_p + m, _ASL_EPS, 1.0))
    loss = -(t * log_pos + (1.0 - t) * log_neg)
    base = t * not_p + (1.0 - t) * jnp.maximum(p - m, 0.0)
    exponent = jnp.asarray(gamma_pos, x.dtype) * t + jnp.asarray(gamma_neg, x.dtype) * (1.0 - t)
    loss = jnp.where(valid, loss * _power(base, exponent), jnp.nan)
    for ok in (ok_neg, ok_pos, ok_clip):
        loss = checks.nan_unless(ok, loss)
    if class_w is not None:
        loss = class_w.astype(loss.dtype) * loss
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def _counts(fn: str, name: str, counts: ArrayLike) -> Array:
    """A ``[C]`` vector of class counts, upcast; a negative or NaN count is
    reported by :func:`jaxloss.checked` and makes the result NaN."""
    counts = jnp.asarray(counts)
    checks.check_numeric(fn, name, counts)
    if counts.ndim != 1:
        checks.fail(
            fn, f"{name} must be a [C] vector of per-class counts; got shape {counts.shape}"
        )
    (c,) = upcast(counts)
    checks.require(fn, name, c >= 0, c, "non-negative counts")
    return c


def class_balanced_weights(counts: ArrayLike, *, beta: Scalar = 0.9999) -> Array:
    r"""Class-balanced weights from the effective number of samples per class.

    .. math::
        E_c = \frac{1 - \beta^{n_c}}{1 - \beta}, \qquad
        w_c = \frac{C\,/E_c}{\sum_k 1/E_k}

    so the weights sum to C. :math:`\beta = 0` gives uniform weights and
    :math:`\beta \to 1` inverse class frequencies (``beta=1`` is that limit).

    Args:
      counts: ``[C]`` training examples per class (integers or floats), >= 0. A
        class with no examples gets weight 0 (it never appears as a target, and an
        infinite weight would swamp the others); the others still sum to C. A
        negative count, or no examples at all, gives NaN weights.
      beta: in [0, 1]; the paper uses 0.9, 0.99, 0.999 or 0.9999.

    Returns:
      ``[C]`` weights, float32 (float64 under x64), for the ``weight`` of
      :func:`jaxloss.cross_entropy`, the ``pos_weight``/``weight`` of a sigmoid
      loss, or :func:`ldam_loss` (deferred re-weighting).

    References: Cui et al. (2019), "Class-Balanced Loss Based on Effective Number
    of Samples"; github.com/richardaecn/class-balanced-loss.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> w = jaxloss.class_balanced_weights(jnp.array([1000, 10]), beta=0.99)
      >>> [round(float(v), 4) for v in w]
      [0.1746, 1.8254]
    """
    fn = "class_balanced_weights"
    ok_beta = checks.option_in_range(fn, "beta", beta, low=0.0, high=1.0)
    n = _counts(fn, "counts", counts)
    if checks.is_traced(beta):
        log_beta = jnp.log(jnp.asarray(beta, n.dtype))
    else:  # taken in float64 before the cast: 1 - beta is tiny
        b = float(beta)
        log_beta = jnp.asarray(-math.inf if b == 0 else math.log(b), n.dtype)
    present = n > 0
    safe_n = jnp.where(present, n, 1.0)
    frequency = log_beta == 0  # beta = 1: E_c = n_c
    safe_log = jnp.where(frequency, -1.0, log_beta)
    # 1 / E_c up to the common factor 1 - beta, which the normalisation cancels
    inverse = jnp.where(frequency, 1.0 / safe_n, -1.0 / jnp.expm1(safe_n * safe_log))
    inverse = jnp.where(present, inverse, 0.0)
    total = jnp.sum(inverse)
    weights = jnp.where(total > 0, n.shape[0] * inverse / jnp.where(total > 0, total, 1.0), jnp.nan)
    weights = jnp.where(jnp.all(n >= 0), weights, jnp.nan)
    return checks.nan_unless(ok_beta, weights)


def ldam_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    class_counts: ArrayLike,
    *,
    max_margin: Scalar = 0.5,
    scale: Scalar = 30.0,
    axis: int = -1,
    weight: ArrayLike | None = None,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""LDAM loss: cross-entropy with a larger margin for rarer classes.

    .. math::
        \ell = -\log\frac{e^{s(x_y - \Delta_y)}}
                         {e^{s(x_y - \Delta_y)} + \sum_{j \ne y} e^{s x_j}},
        \qquad \Delta_c = M\Big(\frac{\min_k n_k}{n_c}\Big)^{1/4}

    so :math:`\Delta_c \propto n_c^{-1/4}` and the rarest class gets the margin M
    (``max_margin``).

    Args:
      logits: ``[..., C]`` (or the class axis at ``axis``), typically cosine
        similarities (a normalised last layer), which is why they are multiplied
        by ``scale``.
      targets: integer class ids ``[...]``; one outside [0, C) gives NaN for its row.
      class_counts: ``[C]`` training examples per class, shared by every row. A
        count of 0 is taken as 1 (the class gets the largest margin); a negative
        count gives NaN.
      max_margin: M, the margin of the rarest class, >= 0.
      scale: s > 0, multiplies the logits after the margin is taken off.
      axis: the class axis of ``logits``; ``axis=1`` is PyTorch's ``[N, C, d1, ...]``.
      weight: ``[C]`` class weights, as the official ``weight`` (deferred
        re-weighting passes :func:`class_balanced_weights` here late in training);
        the mean divides by the weights of the targets, as torch's cross-entropy.
      class_weights: ``[C]``, one weight per class; the same as ``weight`` (the
        official name; pass one of the two), with its meaning.
      sample_weights: a leading prefix of the unreduced loss's shape (``[...]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False rows are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches the official ``LDAMLoss(cls_num_list, max_m, weight, s)``.
    References: Cao et al. (2019), "Learning Imbalanced Datasets with
    Label-Distribution-Aware Margin Loss"; github.com/kaidic/LDAM-DRW, ``losses.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.ldam_loss(
      ...     jnp.array([[0.0, 0.0]]), jnp.array([1]), jnp.array([16, 1]), scale=1.0
      ... )
      >>> round(float(loss), 4)
      0.9741
    """
    fn = "ldam_loss"
    ok_margin = checks.option_in_range(fn, "max_margin", max_margin, low=0.0)
    ok_scale = checks.option_in_range(fn, "scale", scale, low=0.0, low_open=True)
    (logits,) = move_class_axis(fn, axis, logits)
    x, rows = logits_and_labels(fn, "logits", logits, targets, where, None)
    n = _counts(fn, "class_counts", class_counts).astype(x.dtype)
    if n.shape != x.shape[-1:]:
        checks.fail(
            fn,
            f"class_counts has shape {n.shape}; expected ({x.shape[-1]},), one count per "
            f"class of logits (its class axis has {x.shape[-1]})",
        )
    class_w = checks.either_class_weights(fn, weight, class_weights, x.shape[-1])
    n = jnp.where(n >= 0, jnp.maximum(n, 1.0), jnp.nan)
    margins = jnp.asarray(max_margin, x.dtype) * jnp.power(jnp.min(n) / n, 0.25)
    one_hot = jax.nn.one_hot(rows.labels, x.shape[-1], dtype=x.dtype)
    z = jnp.asarray(scale, x.dtype) * (x - one_hot * margins)
    loss = softmax_cross_entropy_rows(z, rows.labels, class_weights=class_w)
    loss = checks.nan_unless(ok_scale, checks.nan_unless(ok_margin, loss))
    return reduce_classwise(
        loss,
        rows,
        fn=fn,
        reduction=reduction,
        axis_name=axis_name,
        class_weights=class_w,
        sample_weights=sample_weights,
    )
