"""Poisson and Gaussian negative log-likelihoods: parity with PyTorch in float64."""

from __future__ import annotations

import jax
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


# ------------------------------------------------- contract: no silently wrong number


@pytest.mark.parametrize(
    ("fn", "option"),
    [
        (jaxloss.poisson_nll_loss, "log_input"),
        (jaxloss.poisson_nll_loss, "full"),
        (jaxloss.gaussian_nll_loss, "full"),
    ],
)
def test_switches_must_be_bools(fn, option):
    # guards against log_input="False" / full="False" being truthy strings that
    # silently computed as if True
    args = (jnp.ones(3), jnp.ones(3)) + ((jnp.ones(3),) if fn is jaxloss.gaussian_nll_loss else ())
    with pytest.raises(
        TypeError, match=rf"^jaxloss\.{fn.__name__}: {option} must be True or False"
    ):
        fn(*args, **{option: "False"})


@pytest.mark.parametrize("fn", [jaxloss.poisson_nll_loss, jaxloss.gaussian_nll_loss])
def test_eps_must_be_a_number_in_range(fn):
    # guards against eps="0.5" failing deep inside without naming eps, and against a
    # negative eps computing a number
    args = (jnp.ones(3), jnp.ones(3)) + ((jnp.ones(3),) if fn is jaxloss.gaussian_nll_loss else ())
    with pytest.raises(TypeError, match=rf"^jaxloss\.{fn.__name__}: eps must be a number"):
        fn(*args, eps="0.5")
    with pytest.raises(ValueError, match=rf"^jaxloss\.{fn.__name__}: eps must be in"):
        fn(*args, eps=-1.0)


def test_poisson_negative_counts_and_rates_give_nan():
    # guards against a negative count (or, with log_input=False, a rate in (-eps, 0))
    # giving a finite loss; the valid elements still match torch
    preds = np.array([0.3, -0.5, 1.2, 2.0], np.float32)
    counts = np.array([2.0, 1.0, -3.0, 0.0], np.float32)
    ours = np.asarray(jaxloss.poisson_nll_loss(preds, counts, reduction="none"))
    ref = F.poisson_nll_loss(
        torch.tensor(preds, dtype=torch.float64),
        torch.tensor(counts, dtype=torch.float64),
        reduction="none",
    ).numpy()
    assert np.isnan(ours[2]) and np.isfinite(ref[2])  # torch computes a number
    assert_close(ours[[0, 1, 3]], ref[[0, 1, 3]])
    assert np.isnan(float(jaxloss.poisson_nll_loss(preds, counts)))
    rates = np.array([0.5, -0.005, 1.0], np.float32)  # log(-0.005 + 0.01) is finite
    value = jaxloss.poisson_nll_loss(
        rates, np.ones(3, np.float32), log_input=False, eps=1e-2, reduction="none"
    )
    assert np.isnan(value[1]) and np.all(np.isfinite(np.asarray(value)[[0, 2]]))
    with pytest.raises(Exception, match=r"poisson_nll_loss: targets must be non-negative counts"):
        jaxloss.checked(jax.jit(jaxloss.poisson_nll_loss))(jnp.asarray(preds), jnp.asarray(counts))


def test_poisson_zero_rate_and_count_is_zero_not_nan():
    # guards against 0 * log(0) = NaN for a rate of 0 with a count of 0 and eps=0
    # (the likelihood of 0 events at rate 0 is 1); torch gives NaN here
    rates = jnp.array([0.0, 2.0])
    counts = jnp.array([0.0, 3.0])
    value, grad = jax.value_and_grad(
        lambda r: jaxloss.poisson_nll_loss(r, counts, log_input=False, eps=0.0, reduction="sum")
    )(rates)
    ref = 0.0 + (2.0 - 3.0 * np.log(2.0))  # float64 formula, 0 log 0 = 0
    assert_close(value, ref, rtol=1e-6)
    assert_close(grad, np.array([1.0, 1.0 - 3.0 / 2.0]), rtol=1e-6)


def test_traced_eps_out_of_range_gives_nan():
    # guards against a traced eps <= 0 (out of its documented range) computing a
    # finite number, while a traced valid eps equals the concrete one and torch
    p, t = inputs((4, 3), 30)
    var = np.exp(np.random.default_rng(6).normal(size=(4, 3))).astype(np.float32)
    var[0, 0] = 1e-9
    for eps in (1e-3, 0.5):
        traced = jax.jit(lambda e: jaxloss.gaussian_nll_loss(p, t, var, eps=e))(eps)
        ref = F.gaussian_nll_loss(
            torch.tensor(p, dtype=torch.float64),
            torch.tensor(t, dtype=torch.float64),
            torch.tensor(var, dtype=torch.float64),
            eps=eps,
        ).item()
        assert_close(traced, ref, rtol=2e-5)
    assert np.isnan(float(jax.jit(lambda e: jaxloss.gaussian_nll_loss(p, t, var, eps=e))(-1.0)))
    value = jax.jit(
        lambda e: jaxloss.poisson_nll_loss(jnp.ones(2), jnp.ones(2), log_input=False, eps=e)
    )(-0.5)
    assert np.isnan(float(value))
