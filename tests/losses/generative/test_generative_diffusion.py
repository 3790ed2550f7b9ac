"""The diffusion loss and its Min-SNR weights against float64 NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

import jaxloss


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
