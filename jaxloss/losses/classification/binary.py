"""Binary and multi-label losses: one independent {0, 1} decision per element.

Outputs and targets share their shape; logit inputs are handled in log-space.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import class_axis_pair
from jaxloss._core.numerics import (
    bce_logits,
    bce_logits_pos_weight,
    bce_probs,
    log_sigmoid_pair,
    power,
    sigmoid_pair,
    softplus,
)
from jaxloss._core.reduce import prepare_pair, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "multilabel_soft_margin_loss",
    "sigmoid_focal_loss",
    "soft_margin_loss",
]


def binary_cross_entropy(
    probs: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Binary cross-entropy on probabilities.

    .. math:: \ell_i = -w_i\big(y_i \max(\log p_i, -100) + (1 - y_i)\max(\log(1 - p_i), -100)\big)

    Args:
      probs: ``[...]`` probabilities in [0, 1] (exact 0 and 1 allowed).
      targets: same shape, in [0, 1].
      weight: broadcastable to ``[...]``; rescales each element.
      where: broadcastable to ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.binary_cross_entropy``, including its log clamp
    at -100 and its gradient :math:`(p - y) / \max(p(1-p), 10^{-12})`, finite at
    p = 0 and 1. Prefer :func:`binary_cross_entropy_with_logits` when logits exist.
    Probabilities outside [0, 1] give NaN; :func:`jaxloss.checked` reports them.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.binary_cross_entropy(jnp.array([1.0, 0.0]), jnp.array([0.0, 0.0])))
      50.0
    """
    fn = "binary_cross_entropy"
    p, t, _ = prepare_pair(fn, "probs", jnp.asarray(probs), jnp.asarray(targets), where)
    checks.require(fn, "probs", (p >= 0) & (p <= 1), p, "probabilities in [0, 1]")
    return reduce_loss(
        bce_probs(p, t),
        fn=fn,
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def binary_cross_entropy_with_logits(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Binary (and multi-label) cross-entropy on logits.

    .. math:: \ell_i = -w_i\big(p_w\, y_i \log\sigma(x_i) + (1 - y_i)\log\sigma(-x_i)\big)

    Args:
      logits: ``[...]``; multi-label is the same call on ``[B, L]``.
      targets: same shape, in [0, 1] (soft targets allowed).
      weight: broadcastable to ``[...]``; rescales each element.
      pos_weight: broadcastable to ``[...]`` (e.g. ``[L]`` for the last axis);
        weights positives, e.g. ``num_negatives / num_positives`` for imbalance.
      where: broadcastable to ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.binary_cross_entropy_with_logits`` and optax
    ``sigmoid_binary_cross_entropy``. Both log-sigmoids share one ``exp(-|x|)``,
    so value and gradient cost two transcendentals per element; finite for any
    finite logit.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.binary_cross_entropy_with_logits(jnp.array([0.0]), jnp.array([1.0]))
      >>> round(float(loss), 4)
      0.6931
    """
    fn = "binary_cross_entropy_with_logits"
    x, t, _ = prepare_pair(fn, "logits", jnp.asarray(logits), jnp.asarray(targets), where)
    if pos_weight is None:
        loss = bce_logits(x, t)
    else:
        pos_weight = jnp.asarray(pos_weight)
        checks.check_numeric(fn, "pos_weight", pos_weight)
        checks.check_broadcastable(fn, "pos_weight", pos_weight, x.shape)
        loss = bce_logits_pos_weight(x, t, pos_weight.astype(x.dtype))
    return reduce_loss(
        loss, fn=fn, reduction=reduction, weight=weight, where=where, axis_name=axis_name
    )


def sigmoid_focal_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: float | Array | None = 0.25,
    gamma: float = 2.0,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Focal loss on logits (RetinaNet): BCE down-weighted on easy examples.

    .. math::
        \ell_i = \alpha_t\,(1 - p_t)^\gamma\,\mathrm{BCE}(x_i, y_i), \quad
        1 - p_t = y\,\sigma(-x) + (1 - y)\,\sigma(x), \quad
        \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    Args:
      logits: ``[...]``.
      targets: same shape, in [0, 1].
      alpha: balance of positives in [0, 1]; ``None`` or a negative value
        disables it (torchvision's convention).
      gamma: focusing exponent >= 0; 0 is BCE (times alpha).
      weight: broadcastable to ``[...]``; rescales each element.
      where: broadcastable to ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torchvision.ops.sigmoid_focal_loss`` and optax ``sigmoid_focal_loss``;
    unlike torchvision the default reduction is ``"mean"``. Gradients are finite
    at confident logits for every gamma >= 0 (and Hessians for gamma >= 2).
    References: Lin et al. (2017), "Focal Loss for Dense Object Detection".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.sigmoid_focal_loss(jnp.array([0.0]), jnp.array([1.0]))), 5)
      0.04332
    """
    fn = "sigmoid_focal_loss"
    checks.check_range(fn, "gamma", gamma, low=0.0)
    x, t, _ = prepare_pair(fn, "logits", jnp.asarray(logits), jnp.asarray(targets), where)
    log_p, log_not_p = log_sigmoid_pair(x)
    ce = -(t * log_p + (1.0 - t) * log_not_p)
    p, not_p = sigmoid_pair(x)
    one_minus_pt = t * not_p + (1.0 - t) * p
    loss = ce * power(one_minus_pt, gamma)
    if alpha is not None and (checks.is_traced(alpha) or alpha >= 0):
        loss = (alpha * t + (1.0 - alpha) * (1.0 - t)) * loss
    return reduce_loss(
        loss, fn=fn, reduction=reduction, weight=weight, where=where, axis_name=axis_name
    )


def soft_margin_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Logistic loss on {-1, +1} targets, :math:`\ell_i = \log(1 + e^{-y_i s_i})`.

    Args:
      scores: ``[...]``.
      targets: same shape, in {-1, +1}.
      weight: broadcastable to ``[...]``; rescales each element.
      where: broadcastable to ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.soft_margin_loss`` (which, like jaxloss, applies
    the formula to any target value).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.soft_margin_loss(jnp.array([0.0]), jnp.array([1.0]))), 4)
      0.6931
    """
    fn = "soft_margin_loss"
    s, t, _ = prepare_pair(fn, "scores", jnp.asarray(scores), jnp.asarray(targets), where)
    return reduce_loss(
        softplus(-t * s),
        fn=fn,
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def multilabel_soft_margin_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Multi-label one-versus-all logistic loss, averaged over the C labels of a sample.

    .. math::
        \ell_n = -\frac1C \sum_c w_c\big(y_{nc}\log\sigma(x_{nc})
                  + (1 - y_{nc})\log\sigma(-x_{nc})\big)

    Args:
      logits: ``[..., C]``.
      targets: same shape, in {0, 1}.
      weight: per-label weights broadcastable to ``[..., C]`` (torch's ``weight``).
      where: broadcastable to ``[...]`` (one flag per sample).
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.multilabel_soft_margin_loss``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.multilabel_soft_margin_loss(jnp.zeros((1, 2)), jnp.array([[1.0, 0.0]]))
      >>> round(float(loss), 4)
      0.6931
    """
    fn = "multilabel_soft_margin_loss"
    x, t, mask = class_axis_pair(fn, "logits", logits, targets, where)
    per_label = bce_logits(x, t)
    if weight is not None:
        weight = jnp.asarray(weight)
        checks.check_numeric(fn, "weight", weight)
        checks.check_broadcastable(fn, "weight", weight, x.shape)
        per_label = weight.astype(x.dtype) * per_label
    return reduce_loss(
        jnp.mean(per_label, axis=-1), fn=fn, reduction=reduction, where=mask, axis_name=axis_name
    )
