"""Poisson and Gaussian negative log-likelihoods: parity with PyTorch in float64."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from regression_helpers import (
    REDUCTIONS,
    SHAPES,
    check_torch,
    inputs,
    jax_value_and_grads,
    torch_value_and_grads,
)

import jaxloss


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("eps", [1e-8, 1e-2])
def test_poisson_nll_matches_torch(shape, log_input, full, eps):
    rng = np.random.default_rng(3)
    preds = rng.normal(size=shape).astype(np.float32)
    if not log_input:
        preds = np.exp(preds)
    counts = rng.poisson(2.0, size=shape).astype(np.float32)  # includes 0 and 1
    options = {"log_input": log_input, "full": full, "eps": eps}
    for reduction in REDUCTIONS:
        ours = jax_value_and_grads(
            lambda p, t=counts, r=reduction: jaxloss.poisson_nll_loss(p, t, reduction=r, **options),
            [preds],
        )
        ref = torch_value_and_grads(
            lambda p, t=counts, r=reduction: F.poisson_nll_loss(
                p, torch.tensor(t, dtype=torch.float64), reduction=r, **options
            ),
            [preds],
        )
        assert_close(ours, ref, rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("var_shape", ["same", "no_last_axis", "one_axis_is_1"])
@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("eps", [1e-6, 0.5])
def test_gaussian_nll_matches_torch(var_shape, full, eps):
    shape = (3, 4, 5)
    p, t = inputs(shape, 11)
    vshape = {"same": shape, "no_last_axis": shape[:-1], "one_axis_is_1": (3, 1, 5)}[var_shape]
    var = np.exp(np.random.default_rng(5).normal(size=vshape)).astype(np.float32)
    var.flat[0] = 1e-9  # below eps: clamped, gradient passed straight through as torch does
    check_torch(
        jaxloss.gaussian_nll_loss, F.gaussian_nll_loss, [p, t, var], {"full": full, "eps": eps}
    )


def test_gaussian_nll_negative_variance_is_nan_not_silent():
    value = jaxloss.gaussian_nll_loss(
        jnp.zeros(3), jnp.ones(3), jnp.array([1.0, -1.0, 1.0]), reduction="none"
    )
    assert np.isnan(value[1]) and np.all(np.isfinite(np.asarray(value)[[0, 2]]))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(torch.zeros(3), torch.ones(3), torch.tensor([1.0, -1.0, 1.0]))
