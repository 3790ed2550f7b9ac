"""KL divergences (torch's elementwise form and the textbook one, from
probabilities or logits) and the Jensen-Shannon divergence."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import move_class_axis
from jaxloss._core.numerics import p_log_ratio, xlogy
from jaxloss._core.reduce import prepare_pair, reduce_loss, sample_weights_of
from jaxloss._core.sharding import psum
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.losses.divergence._common import (
    distributions,
    layout_of,
    nan_where_nan,
    probabilities,
)

__all__ = ["js_divergence", "kl_div", "kl_divergence", "kl_divergence_with_logits"]


def kl_div(
    log_probs: ArrayLike,
    targets: ArrayLike,
    *,
    log_target: bool = False,
    axis: int = -1,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""torch's KL divergence loss, elementwise: :math:`\ell = t\,(\log t - x)`.

    .. math:: \ell_i = t_i(\log t_i - x_i) \quad\text{or, with log\_target,}\quad e^{t_i}(t_i - x_i)

    Args:
      log_probs: x, log-probabilities of the model (any shape), each <= 0; a
        positive one (a probability passed where its log belongs) gives NaN.
      targets: t, probabilities in [0, 1] (or log-probabilities <= 0 with
        ``log_target=True``), the shape of ``log_probs``; others give NaN.
      log_target: whether ``targets`` holds log-probabilities.
      axis: the class (distribution) axis of ``log_probs`` and ``targets``;
        ``axis=1`` takes PyTorch's ``[N, C, ...]`` layout. The batch is the first
        of the other axes (``"batchmean"`` divides by its size).
      weight, where: of the full rank of ``log_probs`` and laid out like it, or
        aligned with its leading non-class axes (``[N]`` rows; ``[N, H, W]``
        pixels for ``[N, C, H, W]`` with ``axis=1``).
      sample_weights: a leading prefix of the unreduced loss's shape (``[N]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"`` over elements (torch's default, which is not the KL of
        rows), ``"batchmean"`` (the sum over the batch divided by the number of
        rows: the KL of each row averaged, what ``"mean"`` should be), ``"sum"``
        or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or the elementwise loss (the shape and layout of ``log_probs``)
      for ``reduction="none"``.

    Matches ``torch.nn.functional.kl_div``. A target of exactly 0 contributes 0
    with finite gradients, even where the log-probability is ``-inf`` (torch:
    NaN); a NaN log-probability gives NaN there, as in torch.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> q = jnp.log(jnp.array([[0.5, 0.5]]))
      >>> p = jnp.array([[1.0, 0.0]])
      >>> round(float(jaxloss.kl_div(q, p, reduction="batchmean")), 4)
      0.6931
    """
    fn = "kl_div"
    checks.check_bool_option(fn, "log_target", log_target)
    checks.check_reduction(fn, reduction, ("mean", "sum", "none", "batchmean"))
    checks.check_floating(fn, "targets", jnp.asarray(targets))
    given, t_given = jnp.asarray(log_probs), jnp.asarray(targets)
    checks.check_same_shape(fn, "log_probs", given, "targets", t_given)
    ndim, shape = given.ndim, given.shape
    # per example of the "none" output (the given layout): validated there, then laid
    # out like the loss
    per_sample = sample_weights_of(fn, sample_weights, shape)
    if ndim:
        given, t_given = move_class_axis(fn, axis, given, t_given)
    else:
        checks.check_integer(fn, "axis", axis)
    where, weight = layout_of(where, ndim, axis), layout_of(weight, ndim, axis)
    per_sample = layout_of(per_sample, ndim, axis)
    x, t, mask = prepare_pair(fn, "log_probs", given, t_given, where)
    ok_x = x <= 0  # -inf is a zero probability; NaN is reported and stays NaN
    checks.require(fn, "log_probs", ok_x, x, "log-probabilities (<= 0)")
    if log_target:  # a log-target of -inf is a zero probability: it contributes 0
        ok_t = t <= 0
        checks.require(fn, "targets", ok_t, t, "log-probabilities (<= 0) (log_target=True)")
        zero = jnp.isneginf(t)
        t_safe = jnp.where(zero, 0.0, t)
        loss = jnp.where(zero, nan_where_nan(x), jnp.exp(t_safe) * (t_safe - x))
    else:
        ok_t = (t >= 0) & (t <= 1)
        checks.require(fn, "targets", ok_t, t, "probabilities in [0, 1]")
        zero = t == 0
        loss = xlogy(t, t) - jnp.where(zero, nan_where_nan(x), t * jnp.where(zero, 0.0, x))
    loss = jnp.where(ok_x & ok_t, loss, jnp.nan)
    if reduction != "batchmean":
        out = reduce_loss(
            loss,
            fn=fn,
            reduction=reduction,
            weight=weight,
            sample_weights=per_sample,
            where=where,
            axis_name=axis_name,
        )
        if reduction == "none" and ndim and axis % ndim != ndim - 1:
            out = jnp.moveaxis(out, -1, axis)
        return out
    total = reduce_loss(
        loss, fn=fn, reduction="sum", weight=weight, sample_weights=per_sample, where=where
    )
    rows = x.shape[0] if x.ndim else 1
    if mask is not None:
        rows = jnp.sum(jnp.any(mask.reshape(mask.shape[0], -1), axis=1)) if x.ndim else 1
    total, rows = psum((total, jnp.asarray(rows, total.dtype)), axis_name)
    return jnp.where(rows == 0, 0.0, total / jnp.maximum(rows, 1))


def kl_divergence(
    p: ArrayLike,
    q: ArrayLike,
    *,
    eps: float = 1e-12,
    axis: int = -1,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""KL(P‖Q) of probability vectors on the class axis.

    .. math:: D_{KL}(P \| Q) = \sum_k p_k \log\frac{p_k}{\max(q_k, \epsilon)}

    Args:
      p, q: ``[..., K]`` probabilities in [0, 1]; a distribution holding a value
        outside gives NaN.
      eps: floor on q, >= 0, so a class where q is 0 and p is not (disjoint
        supports) costs :math:`p\log(p/\epsilon)` instead of infinity. Zeros in p
        contribute exactly 0, with finite gradients.
      axis: the distribution axis (``axis=1`` takes PyTorch's ``[N, K, ...]``).
      weight, where: aligned with the leading axes of ``[...]`` (one value per
        distribution).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` (the axes other than ``axis``) for ``reduction="none"``.

    The textbook formula; a common version clips both p and q to [1e-7, 1 - 1e-7], which moves
    every term slightly, while only q is floored here. The same as optax
    ``kl_divergence(log(q), p)`` where q > 0.
    References: Kullback & Leibler (1951), "On Information and Sufficiency".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([0.5, 0.3, 0.2])
      >>> q = jnp.array([0.33, 0.33, 0.34])
      >>> round(float(jaxloss.kl_divergence(p, q)), 4)
      0.073
    """
    fn = "kl_divergence"
    checks.check_range(fn, "eps", eps, low=0.0)
    a, b = distributions(fn, ("p", "q"), (p, q), axis, where)
    valid = probabilities(fn, "p", a) & probabilities(fn, "q", b)
    loss = jnp.sum(p_log_ratio(a, jnp.maximum(b, eps)), axis=-1)
    return reduce_loss(
        fn=fn,
        loss=jnp.where(valid, loss, jnp.nan),
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def kl_divergence_with_logits(
    p_logits: ArrayLike,
    q_logits: ArrayLike,
    *,
    axis: int = -1,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""KL(P‖Q) with P = softmax(p_logits) and Q = softmax(q_logits), from log-softmax.

    .. math:: D_{KL} = \sum_k p_k\big(\log p_k - \log q_k\big)

    Args:
      p_logits, q_logits: ``[..., K]``. ``-inf`` logits (classes outside a
        support) are allowed in p_logits.
      axis: the class axis (``axis=1`` takes PyTorch's ``[N, K, ...]``).
      weight, where: aligned with the leading axes of ``[...]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` (the axes other than ``axis``) for ``reduction="none"``.

    Finite for any finite logits: nothing is exponentiated before the log.
    Knowledge distillation is this with teacher logits as p (divided by a
    temperature). The same as ``optax.losses.kl_divergence_with_log_targets``
    of ``log_softmax(q_logits)`` and ``log_softmax(p_logits)``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.kl_divergence_with_logits(jnp.zeros(2), jnp.array([0.0, 1.0]))), 4)
      0.1201
    """
    fn = "kl_divergence_with_logits"
    a, b = distributions(fn, ("p_logits", "q_logits"), (p_logits, q_logits), axis, where)
    log_p, log_q = jax.nn.log_softmax(a, axis=-1), jax.nn.log_softmax(b, axis=-1)
    absent = jnp.isneginf(log_p)
    terms = jnp.exp(log_p) * (jnp.where(absent, 0.0, log_p) - jnp.where(absent, 0.0, log_q))
    loss = jnp.sum(jnp.where(absent, 0.0, terms), axis=-1)
    return reduce_loss(
        fn=fn,
        loss=loss,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def js_divergence(
    p: ArrayLike,
    q: ArrayLike,
    *,
    axis: int = -1,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Jensen-Shannon divergence of probability vectors, natural log.

    .. math::
        \mathrm{JS}(P, Q) = \tfrac12 D_{KL}(P\|M) + \tfrac12 D_{KL}(Q\|M),
        \quad M = \tfrac12(P + Q)

    Args:
      p, q: ``[..., K]`` probabilities in [0, 1]; a distribution holding a value
        outside gives NaN.
      axis: the distribution axis (``axis=1`` takes PyTorch's ``[N, K, ...]``).
      weight, where: aligned with the leading axes of ``[...]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; in [0, log 2].

    Symmetric and finite for disjoint supports (it is log 2 there), with finite
    gradients where p or q is 0. Liger's ``JSD`` with beta = 0.5 on
    probabilities.
    References: Lin (1991), "Divergence Measures Based on the Shannon Entropy".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.js_divergence(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]))), 4)
      0.6931
    """
    fn = "js_divergence"
    a, b = distributions(fn, ("p", "q"), (p, q), axis, where)
    valid = probabilities(fn, "p", a) & probabilities(fn, "q", b)
    m = 0.5 * (a + b)
    loss = 0.5 * jnp.sum(p_log_ratio(a, m) + p_log_ratio(b, m), axis=-1)
    return reduce_loss(
        fn=fn,
        loss=jnp.where(valid, loss, jnp.nan),
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )
