"""Stable numerical primitives shared by every loss family.

Each primitive has a finite value and a finite gradient on its whole documented
domain, including the points where the textbook formula divides by zero.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core.checks import is_traced
from jaxloss._core.types import ArrayLike


def compute_dtype(*xs: ArrayLike) -> jnp.dtype:
    """The dtype a loss computes in: the inputs' common float type, at least float32."""
    dtype = jnp.result_type(*xs) if xs else jnp.float32
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.float32
    return jnp.promote_types(dtype, jnp.float32)


def upcast(*xs: ArrayLike) -> tuple[jax.Array, ...]:
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
    """x * log(y) with 0 * log(0) = 0 and finite gradients there; a NaN y stays NaN."""
    zero = x == 0
    return jnp.where(zero, _nan_if_nan(y), x * jnp.log(jnp.where(zero, 1.0, y)))


def _nan_if_nan(x: jax.Array) -> jax.Array:
    """0 where ``x`` is a number, NaN where it is NaN: an exact zero term that
    still carries a NaN input through, as ``0 * x`` would without an Inf."""
    return jnp.where(jnp.isnan(x), jnp.nan, 0.0)


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
    if not is_traced(gamma) and float(gamma).is_integer() and gamma >= 0:
        return z ** int(gamma)
    return _fractional_power(z, jnp.asarray(gamma, z.dtype))


@jax.custom_jvp
def _fractional_power(z, gamma):
    # only z == 0 needs guarding (0 ** 0 = 1, as for a concrete gamma); NaN and
    # negative z must stay NaN
    zero = z == 0
    at_zero = jnp.where(gamma == 0, 1.0, 0.0)
    return jnp.where(zero, at_zero, jnp.power(jnp.where(zero, 1.0, z), gamma))


@_fractional_power.defjvp
def _fractional_power_jvp(primals, tangents):
    (z, gamma), (tz, tgamma) = primals, tangents
    zero = z == 0
    safe_z = jnp.where(zero, 1.0, z)
    value = _fractional_power(z, gamma)
    dz = jnp.where(zero, 0.0, gamma * jnp.power(safe_z, gamma - 1.0))
    dgamma = jnp.where(zero, 0.0, value * jnp.log(safe_z))
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


# ---------------------------------------------------------------- log-space reductions


def shifted_logsumexp(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Logits shifted by their row max (so a common offset of 1e8 still resolves
    log C) and the row logsumexp of the shifted logits, over the last axis."""
    shifted = x - jax.lax.stop_gradient(jnp.max(x, axis=-1, keepdims=True))
    return shifted, jnp.log(jnp.sum(jnp.exp(shifted), axis=-1))


def masked_logsumexp(x: jax.Array, mask: jax.Array, axis: int = -1) -> jax.Array:
    """logsumexp over ``mask``ed entries; -inf (zero gradient) when there are none."""
    top = jnp.max(jnp.where(mask, x, -jnp.inf), axis=axis, keepdims=True)
    top = jax.lax.stop_gradient(jnp.where(jnp.isfinite(top), top, 0.0))
    # masked entries never reach exp: a huge one would overflow and poison the gradient
    total = jnp.sum(jnp.exp(jnp.where(mask, x - top, -jnp.inf)), axis=axis)
    empty = total == 0
    return jnp.where(
        empty, -jnp.inf, jnp.log(jnp.where(empty, 1.0, total)) + jnp.squeeze(top, axis)
    )


@jax.custom_jvp
def p_log_ratio(p: jax.Array, q: jax.Array) -> jax.Array:
    """p log(p / q), 0 where p is 0, with zero gradients there. The derivatives are
    written in closed form so that XLA computes them straight from p and q."""
    zero = p == 0
    return jnp.where(
        zero, _nan_if_nan(q), p * jnp.log(jnp.where(zero, 1.0, p) / jnp.where(zero, 1.0, q))
    )


@p_log_ratio.defjvp
def _p_log_ratio_jvp(primals, tangents):
    (p, q), (tp, tq) = primals, tangents
    zero = p == 0
    ratio = jnp.where(zero, 1.0, p) / jnp.where(zero, 1.0, q)
    value = jnp.where(zero, _nan_if_nan(q), p * jnp.log(ratio))
    dp = jnp.where(zero, 0.0, jnp.log(ratio) + 1.0)
    dq = jnp.where(zero, 0.0, -ratio)
    return value, dp * tp + dq * tq


def score_ratio(numerator: jax.Array, denominator: jax.Array) -> jax.Array:
    """numerator / denominator, taken as 1 (a perfect score) when both are 0."""
    empty = denominator == 0
    return jnp.where(empty, 1.0, numerator / jnp.where(empty, 1.0, denominator))


# ---------------------------------------------------------------- binary cross-entropy

LOG_CLAMP = -100.0  # torch's clamp on log-probabilities in binary_cross_entropy
_BCE_GRAD_EPS = 1e-12  # torch's floor on p (1 - p) in binary_cross_entropy's gradient


@jax.custom_jvp
def bce_probs(p: jax.Array, t: jax.Array) -> jax.Array:
    """-(t log p + (1 - t) log(1 - p)) with torch's clamp of each log at -100."""
    log_p = jnp.maximum(jnp.log(p), LOG_CLAMP)
    log_q = jnp.maximum(jnp.log1p(-p), LOG_CLAMP)
    return -(t * log_p + (1.0 - t) * log_q)


@bce_probs.defjvp
def _bce_probs_jvp(primals, tangents):
    # torch's gradient: (p - t) / max(p (1 - p), 1e-12), finite at p = 0 and 1
    (p, t), (dp, dt) = primals, tangents
    log_p = jnp.maximum(jnp.log(p), LOG_CLAMP)
    log_q = jnp.maximum(jnp.log1p(-p), LOG_CLAMP)
    value = -(t * log_p + (1.0 - t) * log_q)
    grad_p = (p - t) / jnp.maximum(p * (1.0 - p), _BCE_GRAD_EPS)
    return value, grad_p * dp + (log_q - log_p) * dt


def softplus_neg(x: jax.Array) -> jax.Array:
    """softplus(-x) = max(-x, 0) + log1p(exp(-|x|)): two transcendentals, exact for all x."""
    return jnp.maximum(-x, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(x)))


# The derivatives are given in closed form (sigmoid(x) - y, ...) so that XLA computes
# the gradient straight from the inputs instead of keeping intermediates alive.
@jax.custom_jvp
def bce_logits(x: jax.Array, t: jax.Array) -> jax.Array:
    """Binary cross-entropy of logits ``x`` against targets ``t`` in [0, 1]."""
    return (1.0 - t) * x + softplus_neg(x)


@bce_logits.defjvp
def _bce_logits_jvp(primals, tangents):
    (x, t), (tx, tt) = primals, tangents
    return bce_logits(x, t), (jax.nn.sigmoid(x) - t) * tx - x * tt


@jax.custom_jvp
def bce_logits_pos_weight(x: jax.Array, t: jax.Array, pos_weight: jax.Array) -> jax.Array:
    """:func:`bce_logits` with the positive term scaled by ``pos_weight`` (torch's form:
    (1 - y) x + (1 + (p_w - 1) y) softplus(-x))."""
    return (1.0 - t) * x + (1.0 + (pos_weight - 1.0) * t) * softplus_neg(x)


@bce_logits_pos_weight.defjvp
def _bce_logits_pos_weight_jvp(primals, tangents):
    (x, t, pw), (tx, tt, tpw) = primals, tangents
    sp = softplus_neg(x)
    scale = 1.0 + (pw - 1.0) * t
    value = (1.0 - t) * x + scale * sp
    dx = scale * jax.nn.sigmoid(x) - pw * t
    return value, dx * tx + (-x + (pw - 1.0) * sp) * tt + t * sp * tpw


# ---------------------------------------------------------------- vectors and similarities

NORMALIZE_EPS = 1e-12  # F.normalize's floor on the norm (sentence-transformers' cos_sim)


def normalize(x: jax.Array) -> jax.Array:
    """Rows scaled to unit norm, as torch's ``F.normalize`` (norm floored at 1e-12)."""
    return x / jnp.maximum(safe_norm(x, axis=-1, keepdims=True), NORMALIZE_EPS)


def cosine_similarity(a: jax.Array, b: jax.Array, *, eps: float = 1e-8) -> jax.Array:
    """Cosine of rows with each norm floored at ``eps``, as ``torch.cosine_similarity``."""
    dot = jnp.sum(a * b, axis=-1)
    return dot / (jnp.maximum(safe_norm(a, -1), eps) * jnp.maximum(safe_norm(b, -1), eps))


def cosine_similarity_squared_eps(a: jax.Array, b: jax.Array, eps: float = 1e-12) -> jax.Array:
    """Cosine of rows with ``eps`` added to each squared norm, as torch's
    ``cosine_embedding_loss`` computes it."""
    dot = jnp.sum(a * b, axis=-1)
    return dot / jnp.sqrt((jnp.sum(a * a, -1) + eps) * (jnp.sum(b * b, -1) + eps))


def p_norm(x: jax.Array, p: float) -> jax.Array:
    """The p-norm of rows, with finite gradients at the zero vector."""
    if p == 2:
        return safe_norm(x, axis=-1)
    if p == 1:
        return jnp.sum(abs_(x), axis=-1)
    return power(jnp.sum(power(abs_(x), p), axis=-1), 1.0 / p)
