"""Squared and absolute errors (MSE, MAE, RMSE): parity with PyTorch and float64
NumPy, weights, seed 001's example and float16 inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from regression_helpers import REDUCTIONS, SHAPES, check_torch, inputs

import jaxloss


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("jfn", "tfn"),
    [(jaxloss.mse_loss, F.mse_loss), (jaxloss.l1_loss, F.l1_loss)],
    ids=["mse", "l1"],
)
def test_errors_match_torch(jfn, tfn, shape):
    check_torch(jfn, tfn, inputs(shape, 0))


@pytest.mark.parametrize(
    ("jfn", "tfn"), [(jaxloss.mse_loss, F.mse_loss), (jaxloss.l1_loss, F.l1_loss)]
)
def test_weight_against_torch(jfn, tfn):
    p, t = inputs((6, 5), 21)
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


def test_rmse_against_numpy():
    p, t = inputs((4, 7), 9)
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


def test_float16_inputs_do_not_overflow():
    p = jnp.array([300.0, -300.0], jnp.float16)
    t = jnp.zeros(2, jnp.float16)
    value = jaxloss.mse_loss(p, t)
    assert value.dtype == jnp.float32 and float(value) == 90000.0
    g = jax.grad(jaxloss.mse_loss)(p, t)
    assert g.dtype == jnp.float16 and np.all(np.isfinite(np.asarray(g, np.float32)))


def test_l2_loss_matches_optax():
    p, t = inputs((4, 5), 31)
    rng = np.random.default_rng(3)
    w, m = rng.uniform(0.1, 3.0, size=(4, 5)), rng.random(4) < 0.7

    @jax.jit
    def run(p, t):
        out = {r: jaxloss.l2_loss(p, t, weight=w, where=m, reduction=r) for r in REDUCTIONS}
        grad = jax.grad(lambda *a: jaxloss.l2_loss(*a, weight=w, where=m, reduction="sum"), (0, 1))
        return out, grad(p, t), jaxloss.l2_loss(p, jnp.zeros_like(p), reduction="none")

    out, (gp, gt), untargeted = run(jnp.asarray(p), jnp.asarray(t))
    ref = np.asarray(optax.l2_loss(p, t), np.float64)
    wm = w * m[:, None]
    assert_close(out["none"], wm * ref)
    assert_close(out["sum"], np.sum(wm * ref))
    assert_close(out["mean"], np.sum(wm * ref) / (m.sum() * 5))
    optax_grad = jax.grad(lambda a: jnp.sum(wm * optax.l2_loss(a, t)))(jnp.asarray(p))
    assert_close((gp, gt), (optax_grad, -np.asarray(optax_grad)))
    assert_close(untargeted, optax.l2_loss(p))  # optax's targets=None
