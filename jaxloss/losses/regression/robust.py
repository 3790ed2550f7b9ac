"""Robust errors: Huber, smooth L1, log-cosh, and the pinball (quantile) loss."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jaxloss._core import checks
from jaxloss._core.numerics import abs_, log_cosh
from jaxloss._core.reduce import prepare_pair, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["huber_loss", "log_cosh_loss", "quantile_loss", "smooth_l1_loss"]


def huber_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    delta: float = 1.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Huber loss: quadratic for small errors, linear (slope ``delta``) for large ones.

    .. math::
        \ell_i = \begin{cases} \tfrac12 e_i^2 & |e_i| < \delta \\
                 \delta\,(|e_i| - \tfrac12\delta) & \text{otherwise} \end{cases},
        \quad e_i = \hat y_i - y_i

    Args:
      predictions: ``[...]`` model outputs.
      targets: same shape as ``predictions``.
      delta: the error size where the loss turns linear; must be > 0 (a traced
        ``delta`` <= 0 gives NaN).
      weight: aligned with the leading axes of ``[...]``; rescales each element's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; float32 or wider.

    Matches ``torch.nn.functional.huber_loss`` (with ``weight``) and
    ``optax.losses.huber_loss``. References: Huber (1964), "Robust Estimation of a
    Location Parameter".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.huber_loss(jnp.array([0.5, 3.0]), jnp.array([0.0, 0.0])))
      1.3125
    """
    fn = "huber_loss"
    delta_ok = checks.option_in_range(fn, "delta", delta, low=0.0, low_open=True)
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    error = abs_(p - t)
    loss = jnp.where(error < delta, 0.5 * jnp.square(error), delta * (error - 0.5 * delta))
    loss = checks.nan_unless(delta_ok, loss)
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def smooth_l1_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    beta: float = 1.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Smooth L1: Huber divided by ``beta``, so its linear part has slope 1.

    .. math::
        \ell_i = \begin{cases} \tfrac{1}{2\beta} e_i^2 & |e_i| < \beta \\
                 |e_i| - \tfrac12\beta & \text{otherwise} \end{cases}

    Args:
      predictions: ``[...]`` model outputs (box offsets in detection).
      targets: same shape as ``predictions``.
      beta: the error size where the loss turns linear; >= 0 (a traced ``beta`` < 0
        gives NaN). ``beta=0`` is exactly :func:`l1_loss`, with finite gradients at
        zero error.
      weight: aligned with the leading axes of ``[...]``; rescales each element's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; float32 or wider.

    Matches ``torch.nn.functional.smooth_l1_loss``. References: Girshick (2015),
    "Fast R-CNN".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.smooth_l1_loss(jnp.array([0.5, 3.0]), jnp.array([0.0, 0.0])))
      1.3125
    """
    fn = "smooth_l1_loss"
    beta_ok = checks.option_in_range(fn, "beta", beta, low=0.0)
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    error = abs_(p - t)
    quadratic = error < beta
    # beta = 0 never selects the quadratic branch; keep its division finite anyway
    safe_beta = jnp.where(quadratic, beta, 1.0)
    loss = jnp.where(quadratic, 0.5 * jnp.square(error) / safe_beta, error - 0.5 * beta)
    loss = checks.nan_unless(beta_ok, loss)
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def log_cosh_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Log-cosh loss, :math:`\ell_i = \log\cosh(\hat y_i - y_i)`.

    About :math:`e^2/2` for small errors and :math:`|e| - \log 2` for large ones;
    computed as ``logaddexp(e, -e) - log 2`` so errors of 1e4 do not overflow.

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

    Matches ``optax.losses.log_cosh`` and Keras ``LogCosh``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.log_cosh_loss(jnp.array([1e4]), jnp.array([0.0]))), 1)
      9999.3
    """
    fn = "log_cosh_loss"
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    return reduce_loss(
        log_cosh(p - t),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def quantile_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    quantiles: ArrayLike | list[float] | tuple[float, ...] = 0.5,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Pinball (quantile) loss for one quantile or a vector of quantiles.

    .. math:: \ell_i = \max\big(q\,(y_i - \hat y_i),\; (q - 1)(y_i - \hat y_i)\big)

    Args:
      predictions: ``[...]`` for a scalar ``quantiles``; ``[..., Q]`` for a vector
        of ``Q`` quantiles (one prediction per quantile on the last axis).
      targets: same shape as ``predictions``, or ``[...]`` (one target shared by
        the ``Q`` predicted quantiles) when ``quantiles`` is a vector.
      quantiles: in [0, 1]; scalar or ``[Q]`` (a list is accepted). 0.5 gives half
        the absolute error. A traced quantile outside [0, 1] gives NaN for the
        elements it scores.
      weight: aligned with the leading axes of ``predictions``' shape; rescales each element's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``predictions``' shape; False elements are
        left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``predictions``' shape for ``"none"``.

    The pinball loss of quantile regression (no torch or optax peer; checked
    against its formula). References: Koenker & Bassett (1978), "Regression
    Quantiles".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.quantile_loss(jnp.array([0.0]), jnp.array([2.0]), quantiles=0.9)), 4)
      1.8
    """
    fn = "quantile_loss"
    if isinstance(quantiles, list | tuple):
        quantiles = np.asarray(quantiles)
    q_ok = checks.option_in_range(fn, "quantiles", quantiles, low=0.0, high=1.0, per_element=True)
    predictions, q = jnp.asarray(predictions), jnp.asarray(quantiles)
    if q.ndim > 1:
        checks.fail(fn, f"quantiles must be a scalar or a vector; got shape {q.shape}")
    if q.ndim == 1:
        if predictions.shape[-1:] != q.shape:
            checks.fail(
                fn,
                f"predictions must have the {q.shape[0]} quantiles on its last axis; "
                f"got shape {predictions.shape}",
            )
        if jnp.shape(targets) == predictions.shape[:-1]:
            targets = jnp.broadcast_to(jnp.expand_dims(targets, -1), predictions.shape)
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    error = t - p
    q = q.astype(p.dtype)
    loss = checks.nan_unless(q_ok, jnp.maximum(q * error, (q - 1.0) * error))
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )
