"""Generative losses against their formulas in float64 NumPy: the GAN kinds of the
catalogue, the penalties on critics whose gradients are known, Min-SNR weights,
Gram matrices, style/content/perceptual losses (with a Flax model) and the VAE."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
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


@pytest.mark.parametrize("parameterization", ("epsilon", "v", "x0"))
def test_diffusion_min_snr_weights(parameterization):
    rng = np.random.default_rng(2)
    pred, target = rng.standard_normal((6, 4, 4, 3)), rng.standard_normal((6, 4, 4, 3))
    snr = np.array([0.0, 0.1, 1.0, 5.0, 20.0, 1e6])
    mse = np.mean((pred - target) ** 2, axis=(1, 2, 3))
    gamma = 5.0
    weight = {
        "epsilon": np.where(snr > 0, np.minimum(snr, gamma) / np.where(snr > 0, snr, 1), 1.0),
        "v": np.minimum(snr, gamma) / (snr + 1),
        "x0": np.minimum(snr, gamma),
    }[parameterization]
    got = jaxloss.diffusion_loss(
        pred,
        target,
        snr=snr,
        min_snr_gamma=gamma,
        parameterization=parameterization,
        reduction="none",
    )
    assert_close(got, weight * mse, rtol=1e-5)
    assert_close(jaxloss.diffusion_loss(pred, target), np.mean(mse), rtol=1e-5)
    with pytest.raises(ValueError, match="min_snr_gamma needs snr"):
        jaxloss.diffusion_loss(pred, target, min_snr_gamma=5.0)


def test_gram_style_content_and_total_variation():
    rng = np.random.default_rng(3)
    f, s = rng.standard_normal((2, 5, 4, 3)), rng.standard_normal((2, 5, 4, 3))
    gram = np.einsum("bhwc,bhwd->bcd", f, f) / 20
    assert_close(jaxloss.gram_matrix(f), gram, rtol=1e-5)
    gram_s = np.einsum("bhwc,bhwd->bcd", s, s) / 20
    assert_close(
        jaxloss.style_loss(f, s, reduction="none"),
        np.mean((gram - gram_s) ** 2, axis=(1, 2)),
        rtol=1e-5,
    )
    two_layers = jaxloss.style_loss([f, f], [s, s], layer_weights=[1.0, 0.5], reduction="none")
    assert_close(two_layers, 1.5 * np.mean((gram - gram_s) ** 2, axis=(1, 2)), rtol=1e-5)
    assert_close(
        jaxloss.content_loss(f, s, reduction="none"),
        np.mean((f - s) ** 2, axis=(1, 2, 3)),
        rtol=1e-5,
    )
    tv = np.sum(np.abs(np.diff(f, axis=1)), axis=(1, 2, 3)) + np.sum(
        np.abs(np.diff(f, axis=2)), axis=(1, 2, 3)
    )
    assert_close(jaxloss.total_variation_loss(f, reduction="none"), tv, rtol=1e-5)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "jaxloss.gram_matrix: features must be NHWC feature maps [B, H, W, C]; got shape (2, 5, 4)"
        ),
    ):
        jaxloss.gram_matrix(f[..., 0])


def test_perceptual_loss_over_a_flax_model():
    class Features(nnx.Module):
        def __init__(self, rngs):
            self.conv1 = nnx.Conv(3, 4, (3, 3), rngs=rngs)
            self.conv2 = nnx.Conv(4, 2, (3, 3), rngs=rngs)

        def __call__(self, x):
            a = nnx.relu(self.conv1(x))
            return [a, self.conv2(a)]

    model = Features(nnx.Rngs(0))
    rng = np.random.default_rng(4)
    x, y = (
        jnp.asarray(rng.standard_normal((2, 8, 8, 3))),
        jnp.asarray(rng.standard_normal((2, 8, 8, 3))),
    )
    fx, fy = model(x), model(y)
    expected = 1.0 * np.mean(np.abs(fx[0] - fy[0]), axis=(1, 2, 3)) + 0.3 * np.mean(
        np.abs(fx[1] - fy[1]), axis=(1, 2, 3)
    )
    got = jaxloss.perceptual_loss(
        model, x, y, layer_weights=[1.0, 0.3], criterion="l1", reduction="none"
    )
    assert_close(got, expected, rtol=1e-5)
    g = jax.grad(lambda a: jaxloss.perceptual_loss(model, a, y))(x)
    assert np.all(np.isfinite(g)) and np.any(g != 0)


@pytest.mark.parametrize("recon_loss", ("mse", "bce_logits"))
def test_vae_loss(recon_loss):
    rng = np.random.default_rng(5)
    recon, x = rng.standard_normal((3, 2, 5)), rng.uniform(size=(3, 2, 5))
    mean, logvar = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    if recon_loss == "mse":
        rec = np.sum((recon - x) ** 2, axis=(1, 2))
    else:
        rec = np.sum(np.logaddexp(0, recon) - x * recon, axis=(1, 2))
    kl = 0.5 * np.sum(np.exp(logvar) + mean**2 - 1 - logvar, -1)
    got = jaxloss.vae_loss(
        recon, x, mean, logvar, beta=0.5, recon_loss=recon_loss, reduction="none"
    )
    assert_close(got, rec + 0.5 * kl, rtol=1e-5)
