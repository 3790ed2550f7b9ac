"""GAN losses against their formulas in float64 NumPy (the kinds of the catalogue),
and the gradient penalties on critics whose gradients are known."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import jaxloss


def _softplus(x):
    return np.logaddexp(0.0, x)


GAN_D = {
    "minimax": lambda r, f: np.mean(_softplus(-r)) + np.mean(_softplus(f)),
    "non_saturating": lambda r, f: np.mean(_softplus(-r)) + np.mean(_softplus(f)),
    "hinge": lambda r, f: np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)),
    "wasserstein": lambda r, f: np.mean(f) - np.mean(r),
    "least_squares": lambda r, f: 0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f**2),
}
GAN_G = {
    "minimax": lambda f: -np.mean(_softplus(f)),
    "non_saturating": lambda f: np.mean(_softplus(-f)),
    "hinge": lambda f: -np.mean(f),
    "wasserstein": lambda f: -np.mean(f),
    "least_squares": lambda f: 0.5 * np.mean((f - 1) ** 2),
}


@pytest.mark.parametrize("kind", GAN_D)
def test_gan_losses_match_the_catalogue_formulas(kind):
    rng = np.random.default_rng(0)
    real, fake = 3 * rng.standard_normal((8, 2)), 3 * rng.standard_normal((8, 2))
    assert_close(
        jaxloss.gan_discriminator_loss(real, fake, kind=kind), GAN_D[kind](real, fake), rtol=1e-5
    )
    assert_close(jaxloss.gan_generator_loss(fake, kind=kind), GAN_G[kind](fake), rtol=1e-5)
    extreme = jnp.array([1e4, -1e4, 0.0])
    for fn, args in (
        (jaxloss.gan_discriminator_loss, (extreme, -extreme)),
        (jaxloss.gan_generator_loss, (extreme,)),
    ):
        value, grads = jax.value_and_grad(
            lambda *a, f=fn: f(*a, kind=kind), argnums=tuple(range(len(args)))
        )(*args)
        assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)


def test_gan_unknown_kind_lists_the_kinds():
    message = "jaxloss.gan_generator_loss: kind must be one of 'minimax', 'non_saturating', 'hinge', 'wasserstein', 'least_squares'; got 'wgan'"
    with pytest.raises(ValueError, match=re.escape(message)):
        jaxloss.gan_generator_loss(jnp.zeros(3), kind="wgan")


def test_gradient_penalty_and_r1_on_critics_with_known_gradients():
    rng = np.random.default_rng(1)
    w = jnp.asarray(rng.standard_normal((3, 4)))
    real, fake = (
        jnp.asarray(rng.standard_normal((5, 3, 4))),
        jnp.asarray(rng.standard_normal((5, 3, 4))),
    )

    def linear(x, w=w):  # gradient w everywhere
        return jnp.sum(x * w, axis=(1, 2))

    norm_w = float(jnp.linalg.norm(w))
    gp = jaxloss.gradient_penalty(linear, real, fake, jax.random.key(0), reduction="none")
    assert_close(gp, np.full(5, (norm_w - 1.0) ** 2), rtol=1e-5)
    r1 = jaxloss.r1_penalty(lambda x: 0.5 * jnp.sum(x**2, axis=(1, 2)), real, reduction="none")
    assert_close(r1, np.sum(np.asarray(real) ** 2, axis=(1, 2)), rtol=1e-5)
    # differentiable in the critic's parameters, finite at a zero gradient
    g = jax.grad(
        lambda v: jaxloss.gradient_penalty(lambda x: linear(x, v), real, fake, jax.random.key(0))
    )(w)
    assert_close(g, 2 * (norm_w - 1.0) * np.asarray(w) / norm_w, rtol=1e-4)
    g0 = jax.grad(
        lambda v: jaxloss.gradient_penalty(lambda x: linear(x, v), real, fake, jax.random.key(0))
    )(jnp.zeros_like(w))
    assert np.all(np.isfinite(g0))


def test_gradient_penalty_target_norm_is_the_lipschitz_target():
    rng = np.random.default_rng(6)
    w = jnp.asarray(rng.standard_normal((4,)))
    real, fake = jnp.asarray(rng.standard_normal((3, 4))), jnp.asarray(rng.standard_normal((3, 4)))
    norm_w = float(jnp.linalg.norm(w))
    for t in (0.0, 1.0, 2.5):
        gp = jaxloss.gradient_penalty(
            lambda x: x @ w, real, fake, jax.random.key(1), target_norm=t, reduction="none"
        )
        assert_close(gp, np.full(3, (norm_w - t) ** 2), rtol=1e-5)


@pytest.mark.parametrize("penalty", ("gradient", "r1"))
def test_penalties_on_an_empty_batch(penalty):
    """Guards against the ZeroDivisionError a batch of 0 raised (reshape(0, -1)):
    0 for "mean" and "sum", an empty "none", a zero gradient."""
    w = jnp.arange(1.0, 5.0)

    def loss(real, reduction="mean"):
        if penalty == "r1":
            return jaxloss.r1_penalty(lambda x: jnp.tanh(x @ w), real, reduction=reduction)
        return jaxloss.gradient_penalty(
            lambda x: jnp.tanh(x @ w), real, real + 1.0, jax.random.key(0), reduction=reduction
        )

    empty = jnp.zeros((0, 4))
    for reduction in ("mean", "sum"):
        assert float(loss(empty, reduction)) == 0.0
        g = jax.grad(loss)(empty, reduction)
        assert g.shape == (0, 4)
    assert loss(empty, "none").shape == (0,)


def test_gradient_penalty_refuses_a_critic_that_scores_the_batch():
    """A critic returning one score for the batch (its mean) scaled every
    sample's gradient by 1 / B: a finite, wrong penalty. It now raises."""
    real, fake = jnp.ones((4, 3)), jnp.zeros((4, 3))
    with pytest.raises(
        ValueError,
        match=r"^jaxloss\.gradient_penalty: critic_fn must return one score per sample, \[4\]",
    ):
        jaxloss.gradient_penalty(lambda x: jnp.mean(x), real, fake, jax.random.key(0))
    with pytest.raises(ValueError, match=r"^jaxloss\.r1_penalty: critic_fn must return one score"):
        jaxloss.r1_penalty(lambda x: jnp.sum(x, axis=0), real)
    # [B, 1] scores are fine; the penalty of a linear critic is (|w| - 1)^2 exactly
    w = jnp.array([1.0, 2.0, 2.0])
    gp = jaxloss.gradient_penalty(lambda x: (x @ w)[:, None], real, fake, jax.random.key(0))
    assert_close(gp, (3.0 - 1.0) ** 2, rtol=1e-6)


@pytest.mark.parametrize(
    ("call_", "error", "message"),
    [
        (lambda: jaxloss.gradient_penalty(jnp.sum, jnp.ones((2, 3)), jnp.ones((2, 3)), jax.random.key(0), target_norm="1.0"),  # pyright: ignore[reportArgumentType]
         TypeError, "jaxloss.gradient_penalty: target_norm must be a number; got '1.0'"),
        (lambda: jaxloss.gradient_penalty(jnp.sum, jnp.ones((2, 3)), jnp.ones((2, 3)), jax.random.key(0), target_norm=-1.0),
         ValueError, "jaxloss.gradient_penalty: target_norm must be in [0.0, inf]; got -1.0"),
        (lambda: jaxloss.gradient_penalty(jnp.sum, jnp.ones((2, 3)), jnp.ones((2, 3)), 0),  # pyright: ignore[reportArgumentType]
         TypeError, "jaxloss.gradient_penalty: key must be one PRNG key"),
        (lambda: jaxloss.r1_penalty("critic", jnp.ones((2, 3))),  # pyright: ignore[reportArgumentType]
         TypeError, "jaxloss.r1_penalty: critic_fn must be a function of the samples"),
        (lambda: jaxloss.gan_discriminator_loss(jnp.ones(2), jnp.ones(2), kind=1),  # pyright: ignore[reportArgumentType]
         ValueError, "jaxloss.gan_discriminator_loss: kind must be one of"),
    ],
)  # fmt: skip
def test_option_errors(call_, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call_()
