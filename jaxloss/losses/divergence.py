"""Divergences between distributions: KL (torch's and the textbook form), JS, and
the closed-form KL of diagonal Gaussians used by VAEs.

Distributions lie on the last axis. Zeros in the first distribution contribute
exactly 0, with finite gradients; disjoint supports stay finite.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import p_log_ratio, xlogy
from jaxloss._core.reduce import prepare_arrays, prepare_pair, reduce_loss
from jaxloss._core.sharding import psum
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["gaussian_kl", "js_divergence", "kl_div", "kl_divergence", "kl_divergence_with_logits"]


def kl_div(
    log_probs: ArrayLike,
    targets: ArrayLike,
    *,
    log_target: bool = False,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""torch's KL divergence loss, elementwise: :math:`\ell = t\,(\log t - x)`.

    .. math:: \ell_i = t_i(\log t_i - x_i) \quad\text{or, with log\_target,}\quad e^{t_i}(t_i - x_i)

    Args:
      log_probs: x, log-probabilities of the model (any shape).
      targets: t, probabilities (or log-probabilities with ``log_target=True``).
      reduction: ``"mean"`` over elements (torch's default, which is not the KL of
        rows), ``"batchmean"`` (the sum over the batch divided by the number of
        rows: the KL of each row averaged, what ``"mean"`` should be), ``"sum"``
        or ``"none"``.
      weight, where: broadcastable to the elementwise loss.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or the elementwise loss (the shape of ``log_probs``) for
      ``reduction="none"``.

    Matches ``torch.nn.functional.kl_div``. A target of exactly 0 contributes 0
    with finite gradients, even where the log-probability is ``-inf``.

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
    x, t, mask = prepare_pair(fn, "log_probs", log_probs, targets, where)
    if log_target:  # a log-target of -inf is a zero probability: it contributes 0
        zero = jnp.isneginf(t)
        t_safe = jnp.where(zero, 0.0, t)
        loss = jnp.where(zero, 0.0, jnp.exp(t_safe) * (t_safe - x))
    else:
        loss = xlogy(t, t) - jnp.where(t == 0, 0.0, t * jnp.where(t == 0, 0.0, x))
    if reduction != "batchmean":
        return reduce_loss(
            loss, fn=fn, reduction=reduction, weight=weight, where=where, axis_name=axis_name
        )
    total = reduce_loss(loss, fn=fn, reduction="sum", weight=weight, where=where)
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
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""KL(P‖Q) of probability vectors on the last axis.

    .. math:: D_{KL}(P \| Q) = \sum_k p_k \log\frac{p_k}{\max(q_k, \epsilon)}

    Args:
      p, q: ``[..., K]`` probabilities.
      eps: floor on q, so a class where q is 0 and p is not (disjoint supports)
        costs :math:`p\log(p/\epsilon)` instead of infinity. Zeros in p
        contribute exactly 0, with finite gradients.
      weight, where: broadcastable to ``[...]`` (one value per distribution).
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Seed 001's formula; it clips both p and q to [1e-7, 1 - 1e-7], which moves
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
    (a, b), _ = prepare_arrays(fn, ("p", "q"), (p, q), where, mask_axes=-1)
    loss = jnp.sum(p_log_ratio(a, jnp.maximum(b, eps)), axis=-1)
    return reduce_loss(
        fn=fn, loss=loss, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )


def kl_divergence_with_logits(
    p_logits: ArrayLike,
    q_logits: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""KL(P‖Q) with P = softmax(p_logits) and Q = softmax(q_logits), from log-softmax.

    .. math:: D_{KL} = \sum_k p_k\big(\log p_k - \log q_k\big)

    Args:
      p_logits, q_logits: ``[..., K]``. ``-inf`` logits (classes outside a
        support) are allowed in p_logits.
      weight, where: broadcastable to ``[...]``.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

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
    (a, b), _ = prepare_arrays(
        fn, ("p_logits", "q_logits"), (p_logits, q_logits), where, mask_axes=-1
    )
    log_p, log_q = jax.nn.log_softmax(a, axis=-1), jax.nn.log_softmax(b, axis=-1)
    absent = jnp.isneginf(log_p)
    terms = jnp.exp(log_p) * (jnp.where(absent, 0.0, log_p) - jnp.where(absent, 0.0, log_q))
    loss = jnp.sum(jnp.where(absent, 0.0, terms), axis=-1)
    return reduce_loss(
        fn=fn, loss=loss, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )


def js_divergence(
    p: ArrayLike,
    q: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Jensen-Shannon divergence of probability vectors, natural log.

    .. math::
        \mathrm{JS}(P, Q) = \tfrac12 D_{KL}(P\|M) + \tfrac12 D_{KL}(Q\|M),
        \quad M = \tfrac12(P + Q)

    Args:
      p, q: ``[..., K]`` probabilities.
      weight, where: broadcastable to ``[...]``.
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
    (a, b), _ = prepare_arrays(fn, ("p", "q"), (p, q), where, mask_axes=-1)
    m = 0.5 * (a + b)
    loss = 0.5 * jnp.sum(p_log_ratio(a, m) + p_log_ratio(b, m), axis=-1)
    return reduce_loss(
        fn=fn, loss=loss, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )


def gaussian_kl(
    mean: ArrayLike,
    logvar: ArrayLike,
    *,
    mean2: ArrayLike | None = None,
    logvar2: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Closed-form KL of diagonal Gaussians, summed over the last (latent) axis.

    .. math::
        D_{KL}\big(\mathcal N(\mu_1, e^{v_1}) \,\|\, \mathcal N(\mu_2, e^{v_2})\big)
        = \tfrac12\sum_k \Big(v_2 - v_1 + \frac{e^{v_1} + (\mu_1 - \mu_2)^2}{e^{v_2}} - 1\Big)

    with :math:`\mu_2 = 0, v_2 = 0` (the VAE prior N(0, I)) by default.

    Args:
      mean, logvar: ``[..., L]`` of the first Gaussian (the encoder's output).
      mean2, logvar2: optional ``[..., L]`` of the second.
      weight, where: broadcastable to ``[...]`` (one value per sample).
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar (the mean over samples of each sample's KL), or ``[...]`` for
      ``reduction="none"``.

    Finite for log-variances of +-30 and beyond (no variance is ever divided by).
    References: Kingma & Welling (2014), "Auto-Encoding Variational Bayes".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.gaussian_kl(jnp.zeros((1, 4)), jnp.zeros((1, 4))))
      0.0
    """
    fn = "gaussian_kl"
    if (mean2 is None) != (logvar2 is None):
        checks.fail(fn, "mean2 and logvar2 go together: pass both or neither")
    if mean2 is None or logvar2 is None:
        (mu, lv), _ = prepare_arrays(fn, ("mean", "logvar"), (mean, logvar), where, mask_axes=-1)
        terms = jnp.expm1(lv) - lv + mu * mu
    else:
        names = ("mean", "logvar", "mean2", "logvar2")
        arrays = (mean, logvar, mean2, logvar2)
        (mu, lv, mu2, lv2), _ = prepare_arrays(fn, names, arrays, where, mask_axes=-1)
        d = mu - mu2
        terms = lv2 - lv + (jnp.exp(lv) + d * d) * jnp.exp(-lv2) - 1.0
    loss = 0.5 * jnp.sum(terms, axis=-1)
    return reduce_loss(
        fn=fn, loss=loss, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )
