"""Binary and multi-label losses: one independent {0, 1} decision per element.

Outputs and targets share their shape; logit inputs are handled in log-space.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike

from jaxloss._core import checks
from jaxloss._core.classes import class_axis_pair, move_class_axis
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


def _unit_interval(fn: str, name: str, values: Array) -> Array:
    """Where ``values`` lie in [0, 1]; the others are reported by
    :func:`jaxloss.checked`, naming ``name``, and the loss gives NaN there."""
    ok = (values >= 0) & (values <= 1)
    expected = "probabilities in [0, 1]" if name == "probs" else "in [0, 1]"
    checks.require(fn, name, ok, values, expected)
    return ok


def binary_cross_entropy(
    probs: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Binary cross-entropy on probabilities.

    .. math:: \ell_i = -w_i\big(y_i \max(\log p_i, -100) + (1 - y_i)\max(\log(1 - p_i), -100)\big)

    Args:
      probs: ``[...]`` probabilities in [0, 1] (exact 0 and 1 allowed).
      targets: same shape, in [0, 1].
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.binary_cross_entropy``, including its log clamp
    at -100 and its gradient :math:`(p - y) / \max(p(1-p), 10^{-12})`, finite at
    p = 0 and 1. Prefer :func:`binary_cross_entropy_with_logits` when logits exist.
    Probabilities (logits passed by mistake) or targets outside [0, 1] give NaN
    for their element; :func:`jaxloss.checked` reports them.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.binary_cross_entropy(jnp.array([1.0, 0.0]), jnp.array([0.0, 0.0])))
      50.0
    """
    fn = "binary_cross_entropy"
    p, t, _ = prepare_pair(fn, "probs", jnp.asarray(probs), jnp.asarray(targets), where)
    valid = _unit_interval(fn, "probs", p) & _unit_interval(fn, "targets", t)
    # clamped to the domain first, so an invalid element's NaN stays out of the gradient
    loss = bce_probs(jnp.where(valid, p, 0.5), jnp.where(valid, t, 0.5))
    return reduce_loss(
        jnp.where(valid, loss, jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def binary_cross_entropy_with_logits(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    label_smoothing: float | Array = 0.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Binary (and multi-label) cross-entropy on logits.

    .. math:: \ell_i = -w_i\big(p_w\, y_i \log\sigma(x_i) + (1 - y_i)\log\sigma(-x_i)\big)

    with the targets smoothed towards 1/2 first,
    :math:`y \leftarrow (1 - \varepsilon)\,y + \varepsilon / 2`.

    Args:
      logits: ``[...]``; multi-label is the same call on ``[B, L]``.
      targets: same shape, in [0, 1] (soft targets allowed); others give NaN.
      label_smoothing: :math:`\varepsilon` in [0, 1] (Keras' ``label_smoothing``;
        segmentation_models_pytorch's ``smooth_factor`` s is ``2 s``).
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      pos_weight: broadcastable to ``[...]`` (e.g. ``[L]`` for the last axis);
        weights positives, e.g. ``num_negatives / num_positives`` for imbalance.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.binary_cross_entropy_with_logits`` and optax
    ``sigmoid_binary_cross_entropy`` (on targets smoothed as above), and Keras
    ``BinaryCrossentropy(from_logits=True, label_smoothing=)`` per element. Both
    log-sigmoids share one ``exp(-|x|)``, so value and gradient cost two
    transcendentals per element; finite for any finite logit.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.binary_cross_entropy_with_logits(jnp.array([0.0]), jnp.array([1.0]))
      >>> round(float(loss), 4)
      0.6931
    """
    fn = "binary_cross_entropy_with_logits"
    smoothing_ok = checks.option_in_range(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    x, t, _ = prepare_pair(fn, "logits", jnp.asarray(logits), jnp.asarray(targets), where)
    valid = _unit_interval(fn, "targets", t)
    t = _smooth_binary(t, label_smoothing)
    if pos_weight is None:
        loss = bce_logits(x, t)
    else:
        loss = bce_logits_pos_weight(x, t, _pos_weight(fn, pos_weight, x.shape, x.dtype))
    return reduce_loss(
        checks.nan_unless(smoothing_ok, jnp.where(valid, loss, jnp.nan)),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def _smooth_binary(t: Array, label_smoothing: float | Array) -> Array:
    """Targets pulled towards 1/2: :math:`(1 - \varepsilon) t + \varepsilon / 2` (Keras)."""
    if not checks.may_be_nonzero(label_smoothing):
        return t
    return t + jnp.asarray(label_smoothing, t.dtype) * (0.5 - t)


def _pos_weight(fn: str, pos_weight: ArrayLike, shape: tuple[int, ...], dtype: DTypeLike) -> Array:
    """``pos_weight`` checked to be numeric and to broadcast to ``shape``."""
    pos_weight = jnp.asarray(pos_weight)
    checks.check_numeric(fn, "pos_weight", pos_weight)
    checks.check_broadcastable(fn, "pos_weight", pos_weight, shape)
    return pos_weight.astype(dtype)


def _focal_alpha(fn: str, alpha: float | Array) -> Array | None:
    """Checks ``alpha`` is in [0, 1] or negative (disabled): a concrete one now, a
    traced one at run time (the returned flag, False when out of range)."""
    checks.check_number(fn, "alpha", alpha)
    expected = "in [0, 1] (negative or None disables it)"
    if not checks.is_traced(alpha):
        a = np.asarray(alpha, np.float64)
        if np.any(a > 1) or np.any(np.isnan(a)):
            checks.fail(fn, f"alpha must be {expected}; got {alpha!r}")
        return None
    ok = jnp.all(jnp.asarray(alpha) <= 1)  # False for NaN too
    checks.require(fn, "alpha", ok, alpha, expected)
    return ok


def sigmoid_focal_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: float | Array | None = 0.25,
    gamma: float = 2.0,
    label_smoothing: float | Array = 0.0,
    pos_weight: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Focal loss on logits (RetinaNet): BCE down-weighted on easy examples.

    .. math::
        \ell_i = \alpha_t\,(1 - p_t)^\gamma\,\mathrm{BCE}(x_i, y_i), \quad
        1 - p_t = y\,\sigma(-x) + (1 - y)\,\sigma(x), \quad
        \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    where :math:`\mathrm{BCE} = -(p_w\, y \log\sigma(x) + (1 - y)\log\sigma(-x))` and
    the targets are smoothed first, :math:`y \leftarrow (1 - \varepsilon)\,y + \varepsilon / 2`.

    Args:
      logits: ``[...]``.
      targets: same shape, in [0, 1]; others give NaN.
      alpha: balance of positives in [0, 1]; ``None`` or a negative value
        disables it (torchvision's convention), traced or not; above 1 raises
        (a traced one gives NaN).
      gamma: focusing exponent >= 0; 0 is BCE (times alpha).
      label_smoothing: :math:`\varepsilon` in [0, 1], Keras'
        ``BinaryFocalCrossentropy(label_smoothing=)``; the smoothed targets enter
        the cross-entropy, :math:`p_t` and :math:`\alpha_t`.
      pos_weight: :math:`p_w`, broadcastable to ``[...]``; multiplies the positive
        term of the cross-entropy, as ``pos_weight`` in
        :func:`binary_cross_entropy_with_logits` (torch's); the focal factor is unchanged.
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torchvision.ops.sigmoid_focal_loss``, optax ``sigmoid_focal_loss`` and
    segmentation_models_pytorch ``FocalLoss`` (binary); unlike torchvision the
    default reduction is ``"mean"``. Keras ``BinaryFocalCrossentropy`` is
    ``alpha=None`` (or ``apply_class_balancing=True``: ``alpha``) with its
    ``from_logits=True``, averaged over its last axis. Gradients are finite
    at confident logits for every gamma >= 0 (and Hessians for gamma >= 2).
    References: Lin et al. (2017), "Focal Loss for Dense Object Detection".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.sigmoid_focal_loss(jnp.array([0.0]), jnp.array([1.0]))), 5)
      0.04332
    """
    fn = "sigmoid_focal_loss"
    gamma_ok = checks.option_in_range(fn, "gamma", gamma, low=0.0)
    alpha_ok = None if alpha is None else _focal_alpha(fn, alpha)
    smoothing_ok = checks.option_in_range(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    x, t, _ = prepare_pair(fn, "logits", jnp.asarray(logits), jnp.asarray(targets), where)
    valid = _unit_interval(fn, "targets", t)
    t = _smooth_binary(t, label_smoothing)
    log_p, log_not_p = log_sigmoid_pair(x)
    if pos_weight is None:
        ce = -(t * log_p + (1.0 - t) * log_not_p)
    else:
        pw = _pos_weight(fn, pos_weight, x.shape, x.dtype)
        ce = -(pw * t * log_p + (1.0 - t) * log_not_p)
    p, not_p = sigmoid_pair(x)
    one_minus_pt = t * not_p + (1.0 - t) * p
    loss = ce * power(one_minus_pt, gamma)
    if alpha is not None:
        # a select on the sign, not a Python test, so that a traced alpha gives
        # the number the same concrete alpha gives
        a = jnp.asarray(alpha, x.dtype)
        loss = jnp.where(a >= 0, (a * t + (1.0 - a) * (1.0 - t)) * loss, loss)
    loss = checks.nan_unless(alpha_ok, checks.nan_unless(gamma_ok, jnp.where(valid, loss, jnp.nan)))
    loss = checks.nan_unless(smoothing_ok, loss)
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def soft_margin_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Logistic loss on {-1, +1} targets, :math:`\ell_i = \log(1 + e^{-y_i s_i})`.

    Args:
      scores: ``[...]``.
      targets: same shape, in {-1, +1}; any other value (a {0, 1} label) gives NaN.
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.soft_margin_loss`` on {-1, +1} targets (torch
    applies the formula to any value, so a 0 label silently costs log 2);
    :func:`jaxloss.checked` names a target outside {-1, +1}.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.soft_margin_loss(jnp.array([0.0]), jnp.array([1.0]))), 4)
      0.6931
    """
    fn = "soft_margin_loss"
    s, t, _ = prepare_pair(
        fn, "scores", jnp.asarray(scores), jnp.asarray(targets), where, target_fill=1.0
    )
    valid = (t == 1) | (t == -1)
    checks.require(fn, "targets", valid, t, "in {-1, +1}")
    return reduce_loss(
        jnp.where(valid, softplus(-t * s), jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def multilabel_soft_margin_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    weight: ArrayLike | None = None,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
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
      targets: same shape, in [0, 1] ({0, 1} labels); others give NaN.
      axis: the label axis of ``logits`` and ``targets`` (and of a ``weight``
        laid out like them); ``axis=1`` is PyTorch's ``[N, C, d1, ...]``.
      weight: per-label weights ``[C]`` (torch's ``weight``), or any array
        broadcastable to ``[..., C]``.
      class_weights: ``[C]``, one weight per label; multiplies each label's term,
        as a ``[C]`` ``weight`` does (its shared name: pass one of the two).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]`` (one flag per sample).
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
    if weight is not None:
        logits, targets, weight = move_class_axis(fn, axis, logits, targets, weight)
    else:
        logits, targets = move_class_axis(fn, axis, logits, targets)
    x, t, mask = class_axis_pair(fn, "logits", logits, targets, where)
    valid = jnp.all(_unit_interval(fn, "targets", t), axis=-1)
    per_label = bce_logits(x, t)
    if class_weights is not None:
        weight = checks.either_class_weights(fn, weight, class_weights, x.shape[-1])
    if weight is not None:
        weight = jnp.asarray(weight)
        checks.check_numeric(fn, "weight", weight)
        checks.check_broadcastable(fn, "weight", weight, x.shape)
        per_label = weight.astype(x.dtype) * per_label
    loss = jnp.where(valid, jnp.mean(per_label, axis=-1), jnp.nan)
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        sample_weights=sample_weights,
        where=mask,
        axis_name=axis_name,
    )
