"""Squared and absolute errors: MSE, MAE (L1), RMSE and the halved squared error (L2)."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core.numerics import abs_, safe_sqrt
from jaxloss._core.reduce import prepare_pair, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["l1_loss", "l2_loss", "mae_loss", "mse_loss", "rmse_loss"]


def mse_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Mean squared error, :math:`\ell_i = (\hat y_i - y_i)^2`.

    Args:
      predictions: ``[...]`` model outputs.
      targets: same shape as ``predictions``.
      weight: aligned with the leading axes of ``[...]``; rescales each element's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; float32 or wider.

    Matches ``torch.nn.functional.mse_loss``. One deliberate difference: with a
    ``weight``, torch 2.13 divides the mean by ``weight.sum()``; jaxloss divides by
    the element count, as torch's ``huber_loss`` and ``binary_cross_entropy`` do.
    Use ``reduction="sum"`` and divide by ``weight.sum()`` for torch's form.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.mse_loss(jnp.array([1.0, 2.0]), jnp.array([1.0, 4.0])))
      2.0
    """
    fn = "mse_loss"
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    return reduce_loss(
        jnp.square(p - t),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def l2_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Halved squared error, :math:`\ell_i = \tfrac12 (\hat y_i - y_i)^2`.

    Args:
      predictions: ``[...]`` model outputs.
      targets: same shape as ``predictions``.
      weight: aligned with the leading axes of ``[...]``; rescales each element's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; float32 or wider.

    Matches optax ``l2_loss`` (``reduction="none"``; optax returns the elementwise
    loss), whose gradient is the plain error :math:`\hat y - y`. optax's
    ``targets=None`` is ``jnp.zeros_like(predictions)`` here.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.l2_loss(jnp.array([1.0, 2.0]), jnp.array([1.0, 4.0])))
      1.0
    """
    fn = "l2_loss"
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    return reduce_loss(
        0.5 * jnp.square(p - t),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def l1_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Mean absolute error, :math:`\ell_i = |\hat y_i - y_i|`.

    Args:
      predictions: ``[...]`` model outputs.
      targets: same shape as ``predictions``.
      weight: aligned with the leading axes of ``[...]``; rescales each element's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; float32 or wider.

    Matches ``torch.nn.functional.l1_loss`` including its gradient 0 at zero error
    (``jnp.abs`` would give 1); the weighted mean divides by the element count (see
    :func:`mse_loss`). Alias: ``mae_loss``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.l1_loss(jnp.array([1.0, 2.0]), jnp.array([1.0, 5.0])))
      1.5
    """
    fn = "l1_loss"
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    return reduce_loss(
        abs_(p - t),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


mae_loss = l1_loss


def rmse_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Root mean squared error: the square root of :func:`mse_loss`.

    .. math:: \text{RMSE} = \sqrt{\tfrac{1}{n}\textstyle\sum_i s_i w_i (\hat y_i - y_i)^2}

    Args:
      predictions: ``[...]`` model outputs.
      targets: same shape as ``predictions``.
      weight: aligned with the leading axes of ``[...]``; rescales each element's squared error
        (inside the square root).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator. Like ``weight``, it
        acts inside the square root, on the squared error (so ``"none"`` is scaled by
        :math:`\sqrt{s_i}`, not :math:`s_i`).
      where: boolean, aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis inside ``shard_map``; the square root is taken of the
        global mean.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; float32 or wider. With
      ``"sum"`` it is the Euclidean norm of the (weighted) error and with ``"none"``
      the elementwise :math:`\sqrt{s_i w_i}\,|\hat y_i - y_i|` (:math:`s_i` the
      sample weight of element i's example).

    Equals ``sqrt(torch.nn.functional.mse_loss(...))`` without a weight. The
    gradient at zero error is 0, not the NaN of a plain ``sqrt``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.rmse_loss(jnp.array([0.0, 0.0]), jnp.array([3.0, 4.0])))
      3.535533905029297
    """
    fn = "rmse_loss"
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    mean_squared = reduce_loss(
        jnp.square(p - t),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )
    return safe_sqrt(mean_squared)
