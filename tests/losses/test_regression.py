"""Regression family: parity with PyTorch, optax and float64 NumPy formulas.

Values and gradients on random inputs across shapes, options and reductions,
plus the edge cases the family promises.
"""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close

import jaxloss

SHAPES = [(7,), (4, 5), (2, 3, 4)]
REDUCTIONS = ("mean", "sum", "none")


def _inputs(shape, seed, n=2, positive=False):
    rng = np.random.default_rng(seed)
    xs = [rng.normal(scale=2.0, size=shape).astype(np.float32) for _ in range(n)]
    return [np.exp(x / 2) if positive else x for x in xs]


def _torch(fn, arrays, **kwargs):
    """Value and gradients of the summed output under torch in float64."""
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*ts, **kwargs)
    out.sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


def _jax(fn, arrays, **kwargs):
    arrays = [jnp.asarray(a) for a in arrays]
    value = fn(*arrays, **kwargs)
    g = jax.grad(lambda *a: jnp.sum(fn(*a, **kwargs)), argnums=tuple(range(len(arrays))))(*arrays)
    return value, list(g)


def _check_torch(jfn, tfn, arrays, jkw=None, tkw=None, rtol=2e-5, atol=1e-5):
    for reduction in REDUCTIONS:
        ours = _jax(jfn, arrays, reduction=reduction, **(jkw or {}))
        ref = _torch(tfn, arrays, reduction=reduction, **(tkw or jkw or {}))
        assert_close(ours[0], ref[0], rtol=rtol, atol=atol)
        assert_close(ours[1], ref[1], rtol=rtol, atol=atol)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("jfn", "tfn", "grid"),
    [
        (jaxloss.mse_loss, F.mse_loss, {}),
        (jaxloss.l1_loss, F.l1_loss, {}),
        (jaxloss.huber_loss, F.huber_loss, {"delta": [0.3, 1.0, 2.5]}),
        (jaxloss.smooth_l1_loss, F.smooth_l1_loss, {"beta": [0.0, 0.5, 1.0, 2.0]}),
    ],
    ids=["mse", "l1", "huber", "smooth_l1"],
)
def test_pointwise_matches_torch(jfn, tfn, grid, shape):
    for seed, options in enumerate(_grid(grid)):
        _check_torch(jfn, tfn, _inputs(shape, seed), options)


def _grid(grid):
    keys = list(grid)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*grid.values())]


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
        ours = _jax(
            lambda p, t=counts, r=reduction: jaxloss.poisson_nll_loss(p, t, reduction=r, **options),
            [preds],
        )
        ref = _torch(
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
    p, t = _inputs(shape, 11)
    vshape = {"same": shape, "no_last_axis": shape[:-1], "one_axis_is_1": (3, 1, 5)}[var_shape]
    var = np.exp(np.random.default_rng(5).normal(size=vshape)).astype(np.float32)
    var.flat[0] = 1e-9  # below eps: clamped, gradient passed straight through as torch does
    _check_torch(
        jaxloss.gaussian_nll_loss, F.gaussian_nll_loss, [p, t, var], {"full": full, "eps": eps}
    )


def test_gaussian_nll_negative_variance_is_nan_not_silent():
    value = jaxloss.gaussian_nll_loss(
        jnp.zeros(3), jnp.ones(3), jnp.array([1.0, -1.0, 1.0]), reduction="none"
    )
    assert np.isnan(value[1]) and np.all(np.isfinite(np.asarray(value)[[0, 2]]))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(torch.zeros(3), torch.ones(3), torch.tensor([1.0, -1.0, 1.0]))


@pytest.mark.parametrize(
    ("jfn", "tfn"),
    [
        (jaxloss.mse_loss, F.mse_loss),
        (jaxloss.l1_loss, F.l1_loss),
        (jaxloss.huber_loss, F.huber_loss),
    ],
)
def test_weight_against_torch(jfn, tfn):
    p, t = _inputs((6, 5), 21)
    w = np.random.default_rng(2).uniform(0.1, 3.0, size=(6, 5)).astype(np.float32)
    for reduction in ("sum", "none"):
        assert_close(
            jfn(p, t, weight=w, reduction=reduction),
            tfn(
                torch.tensor(p), torch.tensor(t), weight=torch.tensor(w), reduction=reduction
            ).numpy(),
        )
    # jaxloss's weighted mean divides by the element count (DESIGN.md); torch 2.13's
    # mse/l1 divide by weight.sum() while its huber divides by the count.
    torch_sum = tfn(
        torch.tensor(p), torch.tensor(t), weight=torch.tensor(w), reduction="sum"
    ).item()
    assert_close(jfn(p, t, weight=w), torch_sum / p.size)


@pytest.mark.parametrize("delta", [0.5, 1.0, 3.0])
def test_huber_matches_optax(delta):
    p, t = _inputs((5, 6), 4)
    assert_close(
        jaxloss.huber_loss(p, t, delta=delta, reduction="none"),
        optax.losses.huber_loss(p, t, delta=delta),
    )


def test_log_cosh_matches_optax_and_numpy():
    p, t = _inputs((5, 6), 8)
    ours = jaxloss.log_cosh_loss(p, t, reduction="none")
    assert_close(ours, optax.losses.log_cosh(p, t))
    assert_close(ours, np.log(np.cosh(p.astype(np.float64) - t)))


def test_rmse_against_numpy():
    p, t = _inputs((4, 7), 9)
    w = np.random.default_rng(1).uniform(size=(4, 7))
    m = np.random.default_rng(2).random((4, 7)) < 0.7
    e2 = (p.astype(np.float64) - t) ** 2
    assert_close(jaxloss.rmse_loss(p, t), np.sqrt(e2.mean()))
    assert_close(jaxloss.rmse_loss(p, t, weight=w, where=m), np.sqrt((w * e2)[m].sum() / m.sum()))
    assert_close(jaxloss.rmse_loss(p, t, reduction="sum"), np.sqrt(e2.sum()))
    g = jax.grad(jaxloss.rmse_loss)(jnp.asarray(p), jnp.asarray(t))
    n = p.size
    assert_close(g, (p - t) / (n * np.sqrt(e2.mean())), rtol=1e-4)


def test_rmse_gradient_at_zero_error_is_finite():
    x = jnp.ones((3, 2))
    for reduction in REDUCTIONS:
        g = jax.grad(lambda a, r=reduction: jnp.sum(jaxloss.rmse_loss(a, x, reduction=r)))(x)
        np.testing.assert_array_equal(g, np.zeros((3, 2)))


@pytest.mark.parametrize("quantiles", [0.1, 0.5, 0.93])
def test_quantile_scalar_against_numpy(quantiles):
    p, t = _inputs((5, 4), 12)
    e = t.astype(np.float64) - p
    ref = np.where(e >= 0, quantiles * e, (quantiles - 1) * e)
    assert_close(jaxloss.quantile_loss(p, t, quantiles=quantiles, reduction="none"), ref)
    g = jax.grad(
        lambda a: jaxloss.quantile_loss(a, jnp.asarray(t), quantiles=quantiles, reduction="sum")
    )(jnp.asarray(p))
    assert_close(g, np.where(e >= 0, -quantiles, 1 - quantiles))


def test_quantile_vector_shared_target_against_numpy():
    q = np.array([0.1, 0.5, 0.9])
    p, t = _inputs((6, 3), 13)
    y = t[:, 0]
    e = y[:, None].astype(np.float64) - p
    ref = np.maximum(q * e, (q - 1) * e)
    assert_close(jaxloss.quantile_loss(p, y, quantiles=q, reduction="none"), ref)
    assert_close(
        jaxloss.quantile_loss(p, t, quantiles=q), np.maximum(q * (t - p), (q - 1) * (t - p)).mean()
    )
    assert_close(jaxloss.quantile_loss(p, p, quantiles=0.5), 0.0)
    # median quantile is half the absolute error
    assert_close(jaxloss.quantile_loss(p, t, quantiles=0.5), 0.5 * np.abs(p - t).mean())


def test_mape_against_keras_formula():
    p, t = _inputs((5, 4), 14)
    t[0, 0] = 0.0  # Keras clamps |target| at epsilon = 1e-7
    ref = 100 * np.abs(t.astype(np.float64) - p) / np.maximum(np.abs(t), 1e-7)
    assert_close(jaxloss.mape_loss(p, t, reduction="none"), ref, rtol=1e-5)
    g = jax.grad(lambda a: jaxloss.mape_loss(a, jnp.asarray(t), reduction="sum"))(jnp.asarray(p))
    assert_close(g, 100 * np.sign(p - t) / np.maximum(np.abs(t), 1e-7), rtol=1e-5)


def test_msle_against_keras_formula():
    p, t = _inputs((5, 4), 15, positive=True)
    p[0, 0] = -0.5  # clamped as Keras does
    keras = (
        np.log(np.maximum(p.astype(np.float64), 1e-7) + 1) - np.log(np.maximum(t, 1e-7) + 1)
    ) ** 2
    assert_close(jaxloss.msle_loss(p, t, reduction="none"), keras, rtol=1e-5, atol=1e-6)
    g = jax.grad(lambda a: jaxloss.msle_loss(a, jnp.asarray(t), reduction="sum"))(jnp.asarray(p))
    d = np.log1p(np.maximum(p, 0)) - np.log1p(t)
    assert_close(g, np.where(p > 0, 2 * d / (1 + p), 0.0), rtol=1e-5)


def test_seed_001_outlier_example_from_the_formulas():
    # seed 001: errors 0.1, 0.2, 0.1, 0.1, 10 (one outlier). By the formulas:
    # MSE = (0.01+0.04+0.01+0.01+100)/5 = 20.014; MAE = 10.5/5 = 2.1 (the seed prints
    # 2.06); Huber(delta=1) = (0.005+0.02+0.005+0.005+9.5)/5 = 1.907 (the seed prints 2.56).
    y = jnp.array([1.0, 2.0, 3.0, 4.0, 5.0])
    yhat = jnp.array([1.1, 2.2, 2.9, 4.1, 15.0])
    assert_close(jaxloss.mse_loss(yhat, y), 20.014, rtol=1e-5)
    assert_close(jaxloss.mae_loss(yhat, y), 2.1, rtol=1e-5)
    assert_close(jaxloss.huber_loss(yhat, y), 1.907, rtol=1e-5)
    for ours, theirs in [(jaxloss.mae_loss, F.l1_loss), (jaxloss.huber_loss, F.huber_loss)]:
        assert_close(
            ours(yhat, y),
            theirs(torch.tensor(np.asarray(yhat)), torch.tensor(np.asarray(y))).item(),
        )


def test_log_cosh_large_errors_do_not_overflow():
    e = jnp.array([1e4, -1e4, 100.0])
    value = jaxloss.log_cosh_loss(e, jnp.zeros(3), reduction="none")
    assert_close(value, np.abs(np.asarray(e, np.float64)) - math.log(2), rtol=1e-6)
    g = jax.grad(lambda a: jaxloss.log_cosh_loss(a, jnp.zeros(3), reduction="sum"))(e)
    np.testing.assert_allclose(g, [1.0, -1.0, 1.0])


def test_smooth_l1_beta_zero_is_exactly_l1():
    p, t = _inputs((6, 5), 16)
    t[0] = p[0]  # exact zero errors
    for reduction in REDUCTIONS:
        np.testing.assert_array_equal(
            jaxloss.smooth_l1_loss(p, t, beta=0.0, reduction=reduction),
            jaxloss.l1_loss(p, t, reduction=reduction),
        )
    g = jax.grad(lambda a: jaxloss.smooth_l1_loss(a, jnp.asarray(t), beta=0.0))(jnp.asarray(p))
    assert np.all(np.isfinite(g)) and np.all(np.asarray(g)[0] == 0)
    _check_torch(jaxloss.smooth_l1_loss, F.smooth_l1_loss, [p, t], {"beta": 0.0})


def test_float16_inputs_do_not_overflow():
    p = jnp.array([300.0, -300.0], jnp.float16)
    t = jnp.zeros(2, jnp.float16)
    value = jaxloss.mse_loss(p, t)
    assert value.dtype == jnp.float32 and float(value) == 90000.0
    g = jax.grad(jaxloss.mse_loss)(p, t)
    assert g.dtype == jnp.float16 and np.all(np.isfinite(np.asarray(g, np.float32)))
