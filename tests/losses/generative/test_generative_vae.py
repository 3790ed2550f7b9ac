"""The VAE loss against its formula in float64 NumPy."""

from __future__ import annotations

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
