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
