r"""The generalized KL divergence of non-negative measures (the Bregman divergence
of :math:`x \log x - x`), which needs no normalisation."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import xlogy
from jaxloss._core.reduce import reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.losses.divergence._common import distributions, nan_where_nan

__all__ = ["convex_kl_divergence", "generalized_kl_divergence"]


def generalized_kl_divergence(
    log_predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Generalized KL divergence of unnormalised measures, summed over the last axis.

    .. math:: D(t \,\|\, e^x) = \sum_k \big(t_k(\log t_k - x_k) + e^{x_k} - t_k\big)

    Non-negative, zero exactly when :math:`e^x = t`; for distributions it is the
    KL divergence.

    Args:
      log_predictions: x, ``[..., K]`` logs of the predicted measure (any real,
        ``-inf`` for a zero).
      targets: t, ``[..., K]`` non-negative; a negative entry gives NaN for its
        row. Zeros contribute :math:`e^{x_k}` only (:math:`0 \log 0 = 0`).
      axis: the measure axis (``axis=1`` takes PyTorch's ``[N, K, ...]``).
      weight, where: aligned with the leading axes of ``[...]`` (one value per row).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` (the axes other than ``axis``) for ``reduction="none"``.

    Matches optax ``generalized_kl_divergence``. Alias: ``convex_kl_divergence``
    (optax's older name for it).
    References: Boyd & Vandenberghe (2004), "Convex Optimization", p. 90;
    optax ``optax/losses/_classification.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x, t = jnp.log(jnp.array([[1.0, 2.0]])), jnp.array([[1.0, 1.0]])
      >>> round(float(jaxloss.generalized_kl_divergence(x, t)), 4)
      0.3069
    """
    fn = "generalized_kl_divergence"
    x, t = distributions(
        fn, ("log_predictions", "targets"), (log_predictions, targets), axis, where
    )
    ok = ~(t < 0)  # NaN passes on as NaN
    checks.require(fn, "targets", ok, t, "non-negative")
    zero = t == 0
    cross = jnp.where(zero, nan_where_nan(x), t * jnp.where(zero, 0.0, x))
    loss = jnp.sum(xlogy(t, t) - cross + jnp.exp(x) - t, axis=-1)
    return reduce_loss(
        jnp.where(jnp.all(ok, axis=-1), loss, jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


convex_kl_divergence = generalized_kl_divergence
