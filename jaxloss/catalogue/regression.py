"""Example inputs and registrations of the regression losses."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxloss._core.types import Array
from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.regression import (
    gaussian_nll_loss,
    huber_loss,
    l1_loss,
    l2_loss,
    log_cosh_loss,
    mape_loss,
    mse_loss,
    msle_loss,
    poisson_nll_loss,
    quantile_loss,
    rmse_loss,
    smooth_l1_loss,
)


def _tile(values: list[float], shape: tuple[int, ...]) -> Array:
    """``values`` repeated to fill ``shape``, so every extreme value shows up in
    every batch size."""
    return jnp.resize(jnp.asarray(values, jnp.float32), shape)


def pair_example(
    key: Array, batch: int, extreme: bool = False, *, positive: bool = False, features: int = 16
) -> Example:
    """Predictions and targets ``[batch, features]``; extreme ones mix zero errors
    with errors of 1e4 and values from 0 to 1e6. ``positive``: both are > 0
    (>= 0 when extreme), for the relative-error losses."""
    kp, kt = jax.random.split(key)
    shape = (batch, features)
    if extreme:
        t = _tile([0.0, 1e4, -1e4, 1e-30, 3e2, 1e6, -1e6, 0.5], shape)
        p = t + _tile([0.0, 1e4, -1e4, 0.0, 3e2, 1e-3, 0.0, 1e4, 0.0], shape)
    else:
        p, t = 2.0 * jax.random.normal(kp, shape), 2.0 * jax.random.normal(kt, shape)
    if positive:
        p, t = (jnp.abs(p) if extreme else jnp.exp(p)), (jnp.abs(t) if extreme else jnp.exp(t))
    return Example((p, t), diff_argnums=(0, 1))


def quantile_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """Predictions ``[batch, 3]`` of the 0.1, 0.5 and 0.9 quantiles and one target
    ``[batch]`` per row."""
    p, t = pair_example(key, batch, extreme, features=3).args
    return Example((p, t[:, 0]), {"quantiles": jnp.array([0.1, 0.5, 0.9])}, diff_argnums=(0, 1))


def poisson_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """Log-rates and counts ``[batch, 16]`` with the Stirling term; extreme ones
    have log-rates of +-30 and counts up to 1e4."""
    kp, kt = jax.random.split(key)
    shape = (batch, 16)
    if extreme:
        log_rate = _tile([-30.0, 30.0, 0.0, 20.0], shape)
        counts = _tile([0.0, 1e4, 1.0, 2.0, 0.0], shape)
    else:
        log_rate = jax.random.normal(kp, shape)
        counts = jax.random.poisson(kt, 3.0, shape).astype(jnp.float32)
    return Example((log_rate, counts), {"full": True})


def gaussian_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """Means, targets and variances ``[batch, 16]``; extreme variances run from 0
    (clamped to ``eps``) to 1e8."""
    kp, kv = jax.random.split(key)
    p, t = pair_example(kp, batch, extreme).args
    if extreme:
        var = _tile([0.0, 1e-30, 1e8, 1.0, 1e-3], p.shape)
    else:
        var = jnp.exp(jax.random.normal(kv, p.shape))
    return Example((p, t, var), {"full": True}, diff_argnums=(0, 1, 2))


register(
    mse_loss,
    family="regression",
    tasks=("regression",),
    input_kind="predictions, targets",
    example=pair_example,
    matches="torch F.mse_loss",
)
register(
    l1_loss,
    family="regression",
    tasks=("regression", "outliers"),
    input_kind="predictions, targets",
    example=pair_example,
    matches="torch F.l1_loss",
    aliases=("mae_loss",),
)
register(
    l2_loss,
    family="regression",
    tasks=("regression",),
    input_kind="predictions, targets",
    example=pair_example,
    matches="optax l2_loss",
)
register(
    rmse_loss,
    family="regression",
    tasks=("regression",),
    input_kind="predictions, targets",
    example=pair_example,
    linear_reduction=False,
    weight_kind="nonlinear",
)
register(
    huber_loss,
    family="regression",
    tasks=("regression", "outliers"),
    input_kind="predictions, targets",
    example=pair_example,
    matches="torch F.huber_loss, optax huber_loss",
)
register(
    smooth_l1_loss,
    family="regression",
    tasks=("regression", "outliers", "detection"),
    input_kind="predictions, targets",
    example=pair_example,
    matches="torch F.smooth_l1_loss",
)
register(
    log_cosh_loss,
    family="regression",
    tasks=("regression", "outliers"),
    input_kind="predictions, targets",
    example=pair_example,
    matches="optax log_cosh",
)
register(
    quantile_loss,
    family="regression",
    tasks=("regression", "quantile"),
    input_kind="predictions, targets",
    example=quantile_example,
    matches="pinball loss",
)
register(
    mape_loss,
    family="regression",
    tasks=("regression", "relative-error"),
    input_kind="predictions, targets",
    example=functools.partial(pair_example, positive=True),
    matches="Keras MeanAbsolutePercentageError",
)
register(
    msle_loss,
    family="regression",
    tasks=("regression", "relative-error"),
    input_kind="predictions, targets",
    example=functools.partial(pair_example, positive=True),
    matches="Keras MeanSquaredLogarithmicError",
)
register(
    poisson_nll_loss,
    family="regression",
    tasks=("regression", "counts"),
    input_kind="log-rates (or rates), counts",
    example=poisson_example,
    matches="torch F.poisson_nll_loss",
)
register(
    gaussian_nll_loss,
    family="regression",
    tasks=("regression", "uncertainty"),
    input_kind="means, targets, variances",
    example=gaussian_example,
    matches="torch F.gaussian_nll_loss",
)
