"""Stable numerical primitives shared by every loss family.

Each primitive has a finite value and a finite gradient on its whole documented
domain, including the points where the textbook formula divides by zero.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def compute_dtype(*xs: jax.Array) -> jnp.dtype:
    """The dtype a loss computes in: the inputs' common float type, at least float32."""
    dtype = jnp.result_type(*xs) if xs else jnp.float32
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.float32
    return jnp.promote_types(dtype, jnp.float32)


def upcast(*xs: jax.Array) -> tuple[jax.Array, ...]:
    """Casts arrays to their common compute dtype (bf16/f16/int become float32)."""
    dtype = compute_dtype(*xs)
    return tuple(jnp.asarray(x).astype(dtype) for x in xs)


@jax.custom_jvp
def abs_(x: jax.Array) -> jax.Array:
    """|x| with derivative sign(x), so 0 at x = 0 as in PyTorch (jnp.abs gives 1)."""
    return jnp.abs(x)


@abs_.defjvp
def _abs_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return jnp.abs(x), jnp.sign(x) * t


@jax.custom_jvp
def safe_sqrt(x: jax.Array) -> jax.Array:
    """sqrt(x) for x >= 0 whose derivative at 0 is 0 instead of inf."""
    return jnp.sqrt(x)


@safe_sqrt.defjvp
def _safe_sqrt_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    y = jnp.sqrt(x)
    return y, jnp.where(y > 0, 0.5 / jnp.where(y > 0, y, 1.0), 0.0) * t


def safe_div(numerator: jax.Array, denominator: jax.Array) -> jax.Array:
    """numerator / denominator, defined as 0 (value and gradient) where the denominator is 0."""
    zero = denominator == 0
    return jnp.where(zero, 0.0, numerator / jnp.where(zero, 1.0, denominator))


def safe_norm(x: jax.Array, axis: int | tuple[int, ...] | None = -1, keepdims: bool = False):
    """Euclidean norm with gradient 0 (not NaN) at the zero vector."""
    return safe_sqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=keepdims))


def xlogy(x: jax.Array, y: jax.Array) -> jax.Array:
    """x * log(y) with 0 * log(0) = 0 and finite gradients there."""
    zero = x == 0
    return jnp.where(zero, 0.0, x * jnp.log(jnp.where(zero, 1.0, y)))


def softplus(x: jax.Array) -> jax.Array:
    """log(1 + exp(x)), exact for |x| up to the float range."""
    return jnp.logaddexp(x, 0.0)


def log_sigmoid(x: jax.Array) -> jax.Array:
    """log(sigmoid(x)) = -softplus(-x), finite for every finite x."""
    return -softplus(-x)


@jax.custom_jvp
def log_cosh(x: jax.Array) -> jax.Array:
    """log(cosh(x)) = |x| + log1p(exp(-2|x|)) - log 2, finite for every finite x.

    cosh itself overflows past |x| ~ 89 in float32. The derivative is written as
    tanh(x) rather than left to autodiff so that XLA fuses value and gradient
    straight from the inputs, without materialising intermediates.
    """
    a = jnp.abs(x)
    return a + jnp.log1p(jnp.exp(-2.0 * a)) - jnp.log(2.0).astype(a.dtype)


@log_cosh.defjvp
def _log_cosh_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log_cosh(x), jnp.tanh(x) * t


def log_sigmoid_pair(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(log sigmoid(x), log sigmoid(-x)) from one exp and one log1p.

    With e = exp(-|x|): log sigmoid(x) = min(x, 0) - log1p(e) and
    log sigmoid(-x) = -max(x, 0) - log1p(e). Their derivatives reuse e, so a
    binary cross-entropy costs two transcendentals per element, value and gradient.
    """
    softplus_neg_abs = jnp.log1p(jnp.exp(-jnp.abs(x)))
    return jnp.minimum(x, 0.0) - softplus_neg_abs, -jnp.maximum(x, 0.0) - softplus_neg_abs


def power(z: jax.Array, gamma: float | jax.Array) -> jax.Array:
    """z ** gamma for z >= 0 with a finite derivative at z = 0 for every gamma >= 0.

    Integer gamma uses repeated multiplication (exact, no transcendentals). For
    0 < gamma < 1 the true derivative at 0 is infinite; it is taken as 0 there,
    the limit of the focal-loss gradient it feeds.
    """
    if not isinstance(gamma, jax.core.Tracer) and float(gamma).is_integer() and gamma >= 0:
        return z ** int(gamma)
    return _fractional_power(z, jnp.asarray(gamma, z.dtype))


@jax.custom_jvp
def _fractional_power(z, gamma):
    positive = z > 0
    return jnp.where(positive, jnp.power(jnp.where(positive, z, 1.0), gamma), 0.0)


@_fractional_power.defjvp
def _fractional_power_jvp(primals, tangents):
    (z, gamma), (tz, tgamma) = primals, tangents
    positive = z > 0
    safe_z = jnp.where(positive, z, 1.0)
    value = _fractional_power(z, gamma)
    dz = jnp.where(positive, gamma * _fractional_power(safe_z, gamma - 1.0), 0.0)
    dgamma = jnp.where(positive, value * jnp.log(safe_z), 0.0)
    return value, dz * tz + dgamma * tgamma


def sigmoid_pair(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(sigmoid(x), sigmoid(-x)), each exact to full relative precision.

    Built on the same exp(-|x|) as :func:`log_sigmoid_pair`, which XLA computes
    once when both are used; ``1 - sigmoid(x)`` would round to 0 past x ~ 17.
    """
    e = jnp.exp(-jnp.abs(x))
    big, small = 1.0 / (1.0 + e), e / (1.0 + e)
    positive = x >= 0
    return jnp.where(positive, big, small), jnp.where(positive, small, big)
