"""Example inputs and registrations of the generative losses.

Their inputs are batches (a row alone has no batch axis for the per-sample
reductions, the critic or the feature network), so every entry is
``batch_coupled``. The penalties and the perceptual loss take a function first:
their examples build a small deterministic critic or feature network from the key
and pass it as ``Example.leading``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxloss._core.types import Array
from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.generative import (
    content_loss,
    diffusion_loss,
    gan_discriminator_loss,
    gan_generator_loss,
    gradient_penalty,
    perceptual_loss,
    r1_penalty,
    style_loss,
    total_variation_loss,
    vae_loss,
)


def vae_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """Data ``[batch, 12]`` in [0, 1], reconstruction logits and ``[batch, 4]``
    encoder outputs; extreme logits of +-1e4 and log-variances of +-30."""
    ks = jax.random.split(key, 4)
    x = jax.random.uniform(ks[0], (batch, 12))
    recon = jax.random.normal(ks[1], (batch, 12)) * (1e4 if extreme else 1.0)
    mean = jax.random.normal(ks[2], (batch, 4))
    logvar = jnp.resize(jnp.array([30.0, -30.0]), (batch, 4)) if extreme else 0.3 * mean
    return Example((recon, x, mean, logvar), {"recon_loss": "bce_logits"}, diff_argnums=(0, 2, 3))


def gan_example(key: Array, batch: int, extreme: bool = False, *, player: str) -> Example:
    """Discriminator logits ``[batch]`` on real and fake samples (the
    ``"discriminator"``'s loss) or on fake ones only; extreme ones of +-1e4."""
    ks = jax.random.split(key, 4)
    scale = 1e4 if extreme else 2.0
    if player == "generator":
        return Example((jax.random.normal(ks[0], (batch,)) * scale,), {"kind": "non_saturating"})
    real, fake = (jax.random.normal(k, (batch,)) * scale for k in ks[:2])
    return Example((real, fake), diff_argnums=(0, 1))


def diffusion_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """Predicted and target noise ``[batch, 4, 4, 2]``, unweighted: ``snr`` is a
    keyword array without the batch axis the generic tests slice (its Min-SNR
    weights are checked in tests/losses/generative)."""
    ks = jax.random.split(key, 4)
    pred, target = (jax.random.normal(k, (batch, 4, 4, 2)) for k in ks[:2])
    return Example((pred, target), diff_argnums=(0, 1))


def image_example(key: Array, batch: int, extreme: bool = False, *, pair: bool = True) -> Example:
    """NHWC images or feature maps ``[batch, 6, 5, 3]`` (two of them with
    ``pair``); extreme ones of 1e4 with an all-zero first image."""
    ks = jax.random.split(key, 4)
    images = jax.random.normal(ks[0], (batch, 6, 5, 3)) * (1e4 if extreme else 1.0)
    if extreme:
        images = images.at[0].set(0.0)
    if not pair:
        return Example((images,))
    other = jax.random.normal(ks[1], images.shape)
    return Example((images, other), diff_argnums=(0, 1))


def _critic(x: Array, w1: Array, w2: Array) -> Array:
    """A two-layer critic ``[B, D] -> [B]`` whose input gradient varies with x."""
    return jnp.tanh(x @ w1) @ w2


def _feature_network(images: Array, w1: Array, w2: Array) -> list[Array]:
    """Two NHWC feature maps of 1x1 convolutions, ``[..., 4]`` and ``[..., 2]``."""
    hidden = jnp.tanh(images @ w1)
    return [hidden, hidden @ w2]


def critic_example(key: Array, batch: int, extreme: bool = False, *, penalty: str) -> Example:
    """A critic built from the key (``leading``) and real (and fake, for the
    ``"gradient"`` penalty, with its interpolation key) samples ``[batch, 6]``.
    Extreme samples of 1e4 saturate the critic (a zero input gradient); the first
    row is zero and, in the second, real and fake coincide."""
    ks = jax.random.split(key, 5)
    scale = 1e4 if extreme else 1.0
    real, fake = (jax.random.normal(k, (batch, 6)) * scale for k in ks[:2])
    if extreme:
        real, fake = real.at[0].set(0.0), fake.at[0].set(0.0).at[1].set(real[1])
    critic = functools.partial(
        _critic,
        w1=jax.random.normal(ks[2], (6, 8)) / 6**0.5,
        w2=jax.random.normal(ks[3], (8,)) / 8**0.5,
    )
    if penalty == "r1":
        return Example((real,), leading=(critic,))
    return Example((real, fake), {"key": ks[4]}, leading=(critic,), diff_argnums=(0, 1))


def perceptual_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """A two-layer feature network built from the key (``leading``) and images as
    :func:`image_example`'s; the targets' features carry no gradient."""
    images, other = image_example(key, batch, extreme).args
    k1, k2 = jax.random.split(jax.random.fold_in(key, 1))
    features = functools.partial(
        _feature_network,
        w1=jax.random.normal(k1, (3, 4)) / 3**0.5,
        w2=jax.random.normal(k2, (4, 2)) / 2.0,
    )
    return Example((images, other), {"layer_weights": (1.0, 0.5)}, leading=(features,))


register(
    vae_loss,
    family="generative",
    tasks=("vae", "generative"),
    input_kind="reconstruction, targets, mean, logvar",
    example=vae_example,
    matches="Kingma & Welling 2014 (ELBO)",
    batch_coupled=True,
)
register(
    gan_discriminator_loss,
    family="generative",
    tasks=("gan", "generative"),
    input_kind="real_logits, fake_logits",
    example=functools.partial(gan_example, player="discriminator"),
    matches="Goodfellow 2014 / LSGAN / WGAN / hinge GAN",
    batch_coupled=True,
)
register(
    gan_generator_loss,
    family="generative",
    tasks=("gan", "generative"),
    input_kind="fake_logits",
    example=functools.partial(gan_example, player="generator"),
    matches="Goodfellow 2014 / LSGAN / WGAN / hinge GAN",
    batch_coupled=True,
)
register(
    gradient_penalty,
    family="generative",
    tasks=("gan", "generative"),
    input_kind="critic_fn, real, fake, key",
    example=functools.partial(critic_example, penalty="gradient"),
    matches="WGAN-GP (Gulrajani et al.)",
    batch_coupled=True,
)
register(
    r1_penalty,
    family="generative",
    tasks=("gan", "generative"),
    input_kind="critic_fn, real",
    example=functools.partial(critic_example, penalty="r1"),
    matches="R1 (Mescheder et al.), StyleGAN",
    batch_coupled=True,
)
register(
    diffusion_loss,
    family="generative",
    tasks=("diffusion", "generative"),
    input_kind="predictions, targets",
    example=diffusion_example,
    matches="Ho et al. 2020 (DDPM), Hang et al. 2023 (min-SNR)",
    batch_coupled=True,
)
register(
    style_loss,
    family="generative",
    tasks=("style transfer",),
    input_kind="features, style_features",
    example=image_example,
    matches="Gatys et al. 2016",
    batch_coupled=True,
)
register(
    content_loss,
    family="generative",
    tasks=("style transfer", "image-to-image"),
    input_kind="features, target_features",
    example=image_example,
    matches="Gatys et al. 2016",
    batch_coupled=True,
)
register(
    perceptual_loss,
    family="generative",
    tasks=("style transfer", "image-to-image"),
    input_kind="feature_fn, predictions, targets",
    example=perceptual_example,
    matches="Johnson et al. (2016), pix2pixHD",
    batch_coupled=True,
)
register(
    total_variation_loss,
    family="generative",
    tasks=("style transfer", "image-to-image"),
    input_kind="images",
    example=functools.partial(image_example, pair=False),
    matches="Rudin et al. 1992 (anisotropic and isotropic TV)",
    batch_coupled=True,
)
