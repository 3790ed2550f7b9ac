"""Dense-detection classification and distribution losses: Varifocal loss and the
two Generalized Focal losses (quality and distribution).

Varifocal and quality focal loss are elementwise sigmoid losses over ``[..., C]``
class scores whose targets are IoU-aware quality scores in [0, 1] (0 for the
background); distribution focal loss reads a ``[..., K]`` discretised
distribution of each box side against a continuous target.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import pick
from jaxloss._core.numerics import abs_, bce_logits, power, shifted_logsumexp, sigmoid_pair, upcast
from jaxloss._core.reduce import fill_masked, mask_of, prepare_pair, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName, Scalar

__all__ = ["distribution_focal_loss", "quality_focal_loss", "varifocal_loss"]


def _scores(fn: str, logits: ArrayLike, targets: ArrayLike, where: ArrayLike | None):
    """Validated logits and quality targets, and where the targets lie in [0, 1]
    (the others are reported by :func:`jaxloss.checked` and give NaN)."""
    x, t, _ = prepare_pair(fn, "logits", logits, targets, where)
    valid = (t >= 0) & (t <= 1)
    checks.require(fn, "targets", valid, t, "quality scores in [0, 1]")
    return x, t, valid


def varifocal_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: Scalar = 0.75,
    gamma: Scalar = 2.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Varifocal loss: BCE weighted by the IoU target on positives and focally
    down-weighted on negatives.

    With :math:`p = \sigma(x)` and the IoU-aware target :math:`q`:

    .. math::
        \ell = \mathrm{BCE}(x, q)\cdot
        \begin{cases} q & q > 0 \\ \alpha\,p^{\gamma} & q = 0 \end{cases}

    Args:
      logits: ``[..., C]`` class logits (any shape).
      targets: same shape: the IoU of the predicted box with its ground truth at
        the target class, 0 elsewhere and for the background; in [0, 1], others
        give NaN.
      alpha: weight of the negatives, >= 0.
      gamma: focusing exponent of the negatives, >= 0.
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over every element), ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or the shape of ``logits`` for ``reduction="none"``.

    Matches mmdet's ``varifocal_loss`` with its default ``iou_weighted=True``;
    mmdet's ``avg_factor`` (the number of positives) is ``reduction="sum"``
    divided by it. The focal weight is not differentiated through on positives
    (it is the target), as in mmdet; finite for logits of +-1e4 and gamma < 1.
    References: Zhang et al. (2021), "VarifocalNet: An IoU-aware Dense Object
    Detector"; github.com/open-mmlab/mmdetection, ``mmdet/models/losses/varifocal_loss.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.varifocal_loss(jnp.array([0.0, 0.0]), jnp.array([0.5, 0.0]))
      >>> round(float(loss), 4)
      0.2383
    """
    fn = "varifocal_loss"
    ok_alpha = checks.option_in_range(fn, "alpha", alpha, low=0.0)
    ok_gamma = checks.option_in_range(fn, "gamma", gamma, low=0.0)
    x, t, valid = _scores(fn, logits, targets, where)
    p, _ = sigmoid_pair(x)
    negative = jnp.asarray(alpha, x.dtype) * power(p, gamma)
    loss = bce_logits(x, t) * jnp.where(t > 0, t, negative)
    loss = checks.nan_unless(ok_gamma, checks.nan_unless(ok_alpha, loss))
    return reduce_loss(
        jnp.where(valid, loss, jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def quality_focal_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    beta: Scalar = 2.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Quality focal loss (GFL): BCE against a soft quality target, scaled by
    the distance to it.

    .. math:: \ell = |q - \sigma(x)|^{\beta}\,\mathrm{BCE}(x, q)

    with :math:`q` the quality (IoU) score of the target class, 0 for the others
    and the background, so negatives get :math:`\sigma(x)^\beta\,\mathrm{BCE}(x, 0)`.

    Args:
      logits: ``[..., C]`` joint class-quality logits (any shape).
      targets: same shape, quality scores in [0, 1]; others give NaN.
      beta: the modulating exponent, >= 0.
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over every element), ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or the shape of ``logits`` for ``reduction="none"``.

    Matches mmdet's ``quality_focal_loss_tensor_target`` elementwise; mmdet sums
    over the class axis first, so its per-anchor loss is
    ``quality_focal_loss(..., reduction="none").sum(-1)`` and its mean is
    ``"mean"`` times C. (mmdet's ``quality_focal_loss`` takes (label, score)
    pairs: its targets are the score at the label and 0 elsewhere.) The gradient
    of :math:`|q - \sigma(x)|` is taken as 0 where it vanishes.
    References: Li et al. (2020), "Generalized Focal Loss: Learning Qualified and
    Distributed Bounding Boxes for Dense Object Detection";
    github.com/open-mmlab/mmdetection, ``mmdet/models/losses/gfocal_loss.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.quality_focal_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      >>> round(float(loss), 4)
      0.1733
    """
    fn = "quality_focal_loss"
    ok_beta = checks.option_in_range(fn, "beta", beta, low=0.0)
    x, t, valid = _scores(fn, logits, targets, where)
    p, _ = sigmoid_pair(x)
    loss = bce_logits(x, t) * power(abs_(t - p), beta)
    return reduce_loss(
        jnp.where(valid, checks.nan_unless(ok_beta, loss), jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def distribution_focal_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Distribution focal loss (GFL): cross-entropy towards the two bins around
    a continuous target.

    With :math:`y_l = \lfloor y \rfloor`, :math:`y_r = y_l + 1` and
    :math:`S = \mathrm{softmax}(x)` over the K bins:

    .. math:: \ell = -\big((y_r - y)\log S_{y_l} + (y - y_l)\log S_{y_r}\big)

    Args:
      logits: ``[..., K]`` logits of a distribution over the bins 0 .. K - 1
        (e.g. ``[N, 4, K]`` for the four sides of N boxes).
      targets: ``[...]`` continuous targets in [0, K - 1]; one outside gives NaN.
        K - 1 itself is allowed (all its weight on the last bin), so the
        ``max - 0.01`` clamp of GFL's box coder is not needed.
      weight: aligned with the leading axes of ``[...]``; rescales each position.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False positions are left out.
      reduction: ``"mean"`` (over positions), ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches mmdet's ``distribution_focal_loss``; finite for logits of +-1e4.
    References: Li et al. (2020), "Generalized Focal Loss";
    github.com/open-mmlab/mmdetection, ``mmdet/models/losses/gfocal_loss.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.distribution_focal_loss(jnp.zeros((1, 4)), jnp.array([1.5]))
      >>> round(float(loss), 4)
      1.3863
    """
    fn = "distribution_focal_loss"
    x, t = jnp.asarray(logits), jnp.asarray(targets)
    checks.check_floating(fn, "logits", x)
    checks.check_numeric(fn, "targets", t)
    if x.ndim < 1:
        checks.fail(fn, f"logits must have a bin axis [..., K]; got shape {x.shape}")
    if t.shape != x.shape[:-1]:
        checks.fail(
            fn,
            f"targets has shape {t.shape} but logits has shape {x.shape}; expected "
            f"{x.shape[:-1]}, one continuous target per distribution",
        )
    x, t = upcast(x, t)
    mask = mask_of(fn, where, t.shape)
    if mask is not None:
        x, t = fill_masked(mask[..., None], x, 0.0), fill_masked(mask, t, 0.0)
    last = x.shape[-1] - 1
    valid = (t >= 0) & (t <= last)
    checks.require(fn, "targets", valid, t, f"in [0, {last}] (the bins of logits)")
    safe_t = jnp.where(valid, t, 0.0)
    left = jnp.floor(safe_t)
    weight_right = safe_t - left
    left_bin = jnp.minimum(left, last).astype(jnp.int32)
    right_bin = jnp.minimum(left_bin + 1, last)
    shifted, lse = shifted_logsumexp(x)
    loss = (1.0 - weight_right) * (lse - pick(shifted, left_bin)) + weight_right * (
        lse - pick(shifted, right_bin)
    )
    return reduce_loss(
        jnp.where(valid, loss, jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )
