"""The diffusion loss and its Min-SNR weights against float64 NumPy."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
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


def test_negative_snr_gives_nan_for_its_sample_and_checked_names_snr():
    """Guards against a finite weight from a negative signal-to-noise ratio (the
    epsilon weight was 1, the x0 weight negative): that sample is NaN now."""
    rng = np.random.default_rng(3)
    pred, target = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    snr = np.array([1.0, -2.0, 10.0])
    mse = np.mean((pred - target) ** 2, axis=1)
    for parameterization in ("epsilon", "v", "x0"):
        got = jaxloss.diffusion_loss(
            pred, target, snr=snr, min_snr_gamma=5.0, parameterization=parameterization,
            reduction="none",
        )  # fmt: skip
        assert np.isnan(got[1]) and np.all(np.isfinite(np.asarray(got)[[0, 2]]))
    got = jaxloss.diffusion_loss(pred, target, snr=snr, min_snr_gamma=5.0, reduction="none")
    assert_close(np.asarray(got)[[0, 2]], np.array([1.0, 0.5]) * mse[[0, 2]], rtol=1e-5)
    # a masked sample's snr may hold anything
    where = jnp.array([True, False, True])
    masked = jaxloss.diffusion_loss(pred, target, snr=snr, min_snr_gamma=5.0, where=where)
    assert_close(masked, np.mean(np.array([1.0, 0.5]) * mse[[0, 2]]), rtol=1e-5)
    with pytest.raises(Exception, match=r"jaxloss\.diffusion_loss: snr must be non-negative"):
        jaxloss.checked(jax.jit(jaxloss.diffusion_loss, static_argnames="min_snr_gamma"))(
            jnp.asarray(pred), jnp.asarray(target), snr=jnp.asarray(snr), min_snr_gamma=5.0
        )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"min_snr_gamma": "5"}, TypeError, "jaxloss.diffusion_loss: min_snr_gamma must be a number"),
        ({"min_snr_gamma": 0.0}, ValueError, "jaxloss.diffusion_loss: min_snr_gamma must be in (0.0, inf]"),
        ({"parameterization": "eps"}, ValueError, "jaxloss.diffusion_loss: parameterization must be one of"),
    ],
)  # fmt: skip
def test_option_errors(kwargs, error, message):
    """A string gamma raised deep in jnp.minimum (not naming the loss) when snr was
    missing it was reported as missing snr; it is checked first now."""
    with pytest.raises(error, match=re.escape(message)):
        jaxloss.diffusion_loss(np.ones((2, 3)), np.ones((2, 3)), **kwargs)
