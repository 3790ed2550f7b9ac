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
    sample_weights: ArrayLike | None = None,
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
        A traced ``eps`` <= 0 gives NaN.
      weight: aligned with the leading axes of ``[...]``; rescales each element's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[...]``; False elements are left out.
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
    eps_ok = checks.option_in_range(fn, "eps", eps, low=0.0, low_open=True)
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    loss = checks.nan_unless(eps_ok, 100.0 * abs_(t - p) / jnp.maximum(jnp.abs(t), eps))
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def msle_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Mean squared logarithmic error.

    .. math:: \ell_i = \big(\log(1 + \max(\hat y_i, 0)) - \log(1 + y_i)\big)^2

    Args:
      predictions: ``[...]`` non-negative model outputs; negative ones are clamped
        to 0, as Keras does (a NaN stays NaN).
      targets: same shape as ``predictions``; non-negative: a negative target gives
        NaN for its element and :func:`jaxloss.checked` reports it.
      weight: aligned with the leading axes of ``[...]``; rescales each element's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; float32 or wider.

    Matches Keras ``MeanSquaredLogarithmicError``, which clamps at 1e-7 rather than
    0, a difference below float32 resolution of the loss. Keras also clamps negative
    targets; jaxloss gives NaN for them rather than a finite wrong number.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.msle_loss(jnp.array([0.0]), jnp.array([jnp.e - 1]))), 6)
      1.0
    """
    fn = "msle_loss"
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    valid = t >= 0
    checks.require(fn, "targets", valid, t, "non-negative")
    # a negative target is invalid (NaN); a negative prediction is clamped to 0 as
    # Keras does (jnp.maximum keeps a NaN prediction NaN)
    loss = jnp.square(jnp.log1p(jnp.maximum(p, 0.0)) - jnp.log1p(jnp.where(valid, t, jnp.nan)))
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )
