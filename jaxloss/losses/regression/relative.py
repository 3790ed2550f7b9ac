"""Relative errors: MAPE and MSLE, for targets that span orders of magnitude."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import abs_
from jaxloss._core.reduce import prepare_pair, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["mape_loss", "msle_loss"]


def mape_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    eps: float = 1e-7,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Mean absolute percentage error, in percent.

    .. math:: \ell_i = 100\,\frac{|y_i - \hat y_i|}{\max(|y_i|, \epsilon)}

    Args:
      predictions: ``[...]`` model outputs.
      targets: same shape as ``predictions``.
      eps: > 0; keeps a zero target finite (the loss is then huge, as it should be).
      weight: broadcastable to ``[...]``; rescales each element's loss.
      where: boolean, broadcastable to ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; float32 or wider.

    Matches Keras ``MeanAbsolutePercentageError`` (whose epsilon is 1e-7).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.mape_loss(jnp.array([110.0, 45.0]), jnp.array([100.0, 50.0])))
      10.0
    """
    fn = "mape_loss"
    checks.check_range(fn, "eps", eps, low=0.0, low_open=True)
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    loss = 100.0 * abs_(t - p) / jnp.maximum(jnp.abs(t), eps)
    return reduce_loss(
        loss, fn=fn, reduction=reduction, weight=weight, where=where, axis_name=axis_name
    )


def msle_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Mean squared logarithmic error.

    .. math:: \ell_i = \big(\log(1 + \max(\hat y_i, 0)) - \log(1 + \max(y_i, 0))\big)^2

    Args:
      predictions: ``[...]`` non-negative model outputs; negative ones are clamped
        to 0.
      targets: same shape as ``predictions``; non-negative (:func:`jaxloss.checked`
        reports negative ones, which are clamped to 0).
      weight: broadcastable to ``[...]``; rescales each element's loss.
      where: boolean, broadcastable to ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; float32 or wider.

    Matches Keras ``MeanSquaredLogarithmicError``, which clamps at 1e-7 rather than
    0, a difference below float32 resolution of the loss.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.msle_loss(jnp.array([0.0]), jnp.array([jnp.e - 1]))), 6)
      1.0
    """
    fn = "msle_loss"
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    checks.require(fn, "targets", t >= 0, t, "non-negative")
    loss = jnp.square(jnp.log1p(jnp.maximum(p, 0.0)) - jnp.log1p(jnp.maximum(t, 0.0)))
    return reduce_loss(
        loss, fn=fn, reduction=reduction, weight=weight, where=where, axis_name=axis_name
    )
