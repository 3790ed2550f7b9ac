"""Example inputs and registrations of the divergences."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxloss._core.types import Array
from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.divergence import (
    distillation_loss,
    gaussian_kl,
    generalized_kl_divergence,
    js_divergence,
    kl_div,
    kl_divergence,
    kl_divergence_with_logits,
)


def distribution_example(key: Array, batch: int, extreme: bool = False, *, kind: str) -> Example:
    """``[batch, 6]`` distributions: ``"probs"`` (two of probabilities),
    ``"logits"``, ``"kl_div"`` (log-probabilities and probabilities). Extreme:
    exact zeros, disjoint supports, one-hot rows, logits of +-1e4."""
    k1, k2 = jax.random.split(key)
    shape = (batch, 6)
    a, b = 2.0 * jax.random.normal(k1, shape), 2.0 * jax.random.normal(k2, shape)
    if extreme:
        a = jnp.resize(jnp.array([1e4, -1e4, 0.0]), shape)
        b = jnp.resize(jnp.array([-1e4, 1e4, 0.0, 5.0]), shape)
    if kind == "logits":
        return Example((a, b), diff_argnums=(0, 1))
    # probabilities from logits of scale 1: finite differences stay accurate in float64
    p, q = jax.nn.softmax(a / 2, -1), jax.nn.softmax(b / 2, -1)
    if kind == "kl_div":
        return Example((jax.nn.log_softmax(b, -1), p))
    return Example((p, q), diff_argnums=(0, 1))


def gaussian_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """Means and log-variances ``[batch, 6]`` of diagonal Gaussians; extreme ones
    have means of 1e3 and log-variances of +-30."""
    k1, k2 = jax.random.split(key)
    shape = (batch, 6)
    if extreme:
        lv = jnp.resize(jnp.array([30.0, -30.0, 0.0]), shape)
        return Example((jnp.full(shape, 1e3), lv), diff_argnums=(0, 1))
    return Example(
        (jax.random.normal(k1, shape), 0.5 * jax.random.normal(k2, shape)), diff_argnums=(0, 1)
    )


def measure_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """Log-predictions and positive targets ``[batch, 6]`` of unnormalised
    measures; extreme ones hold log-predictions of -1e4 and 30 and targets of 0,
    1e-30 and 1e6."""
    k1, k2 = jax.random.split(key)
    shape = (batch, 6)
    if extreme:
        x = jnp.resize(jnp.array([-1e4, 30.0, 0.0, -30.0, 5.0]), shape)
        t = jnp.resize(jnp.array([0.0, 1e6, 1e-30, 1.0]), shape)
    else:
        x, t = jax.random.normal(k1, shape), jnp.exp(jax.random.normal(k2, shape))
    return Example((x, t), diff_argnums=(0, 1))


register(
    kl_div,
    family="divergence",
    tasks=("distributions", "distillation"),
    input_kind="log_probs, targets",
    example=functools.partial(distribution_example, kind="kl_div"),
    matches="torch F.kl_div",
)
register(
    kl_divergence,
    family="divergence",
    tasks=("distributions", "distillation"),
    input_kind="p, q",
    example=functools.partial(distribution_example, kind="probs"),
    matches="optax kl_divergence",
)
register(
    kl_divergence_with_logits,
    family="divergence",
    tasks=("distributions", "distillation"),
    input_kind="p_logits, q_logits",
    example=functools.partial(distribution_example, kind="logits"),
    matches="optax kl_divergence_with_log_targets",
)
register(
    js_divergence,
    family="divergence",
    tasks=("distributions", "distillation"),
    input_kind="p, q",
    example=functools.partial(distribution_example, kind="probs"),
    matches="Liger JSD (beta 0.5)",
)
register(
    gaussian_kl,
    family="divergence",
    tasks=("vae",),
    input_kind="mean, logvar",
    example=gaussian_example,
    matches="VAE closed form",
)
register(
    generalized_kl_divergence,
    family="divergence",
    tasks=("distributions",),
    input_kind="log_predictions, targets",
    example=measure_example,
    matches="optax generalized_kl_divergence",
    aliases=("convex_kl_divergence",),
)
register(
    distillation_loss,
    family="divergence",
    tasks=("distillation",),
    input_kind="student_logits, teacher_logits",
    example=functools.partial(distribution_example, kind="logits"),
    matches="Hinton et al. 2015; torch F.kl_div(log_target=True, batchmean) * T^2",
)
