"""The VAE loss against its formula in float64 NumPy."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import jaxloss


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


def test_vae_errors_name_vae_loss_not_gaussian_kl():
    """Guards against errors reported as ``jaxloss.gaussian_kl`` (the shared KL
    code named itself): a loss built on another names itself."""
    x, z = jnp.ones((2, 3)), jnp.zeros((2, 4))
    with pytest.raises(ValueError, match=r"^jaxloss\.vae_loss: logvar has shape \(2, 5\)"):
        jaxloss.vae_loss(x, x, z, jnp.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"^jaxloss\.vae_loss: mean has shape \(3, 4\)"):
        jaxloss.vae_loss(x, x, jnp.zeros((3, 4)), jnp.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"^jaxloss\.vae_loss: where has shape \(3,\)"):
        jaxloss.vae_loss(x, x, z, z, where=jnp.ones(3, bool))
    with pytest.raises(TypeError, match=r"^jaxloss\.vae_loss: mean must be a floating-point"):
        jaxloss.vae_loss(x, x, z.astype(jnp.int32), z)
    with pytest.raises(TypeError, match=r"^jaxloss\.vae_loss: beta must be a number; got '1'"):
        jaxloss.vae_loss(x, x, z, z, beta="1")  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match=r"^jaxloss\.vae_loss: recon_loss must be one of"):
        jaxloss.vae_loss(x, x, z, z, recon_loss="bce")


def test_vae_latent_maps_sum_the_kl_over_every_latent_axis():
    """Guards against a [B, h, w] latent whose KL [B, h] was added to the [B]
    reconstruction by trailing broadcasting (silently wrong when h == B)."""
    rng = np.random.default_rng(6)
    recon, x = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    mean, logvar = rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 2, 3))
    rec = np.sum((recon - x) ** 2, axis=1)
    kl = 0.5 * np.sum(np.exp(logvar) + mean**2 - 1 - logvar, axis=(1, 2))
    got = jaxloss.vae_loss(recon, x, mean, logvar, reduction="none")
    assert_close(got, rec + kl, rtol=1e-5)


def test_vae_bce_targets_outside_unit_interval_give_nan():
    """Guards against a finite (and unbounded below) BCE for data outside [0, 1];
    ``checked`` names vae_loss's targets, not binary_cross_entropy_with_logits'."""
    recon, z = jnp.zeros((2, 3)), jnp.zeros((2, 4))
    data = jnp.array([[0.0, 0.5, 1.0], [0.0, 2.0, 1.0]])
    got = jaxloss.vae_loss(recon, data, z, z, recon_loss="bce_logits", reduction="none")
    assert_close(got[0], 3 * np.log(2.0), rtol=1e-6)  # logits 0: log 2 per element
    assert np.isnan(got[1])
    with pytest.raises(Exception, match=r"jaxloss\.vae_loss: targets must be in \[0, 1\]"):
        jaxloss.checked(jaxloss.vae_loss)(recon, data, z, z, recon_loss="bce_logits")
