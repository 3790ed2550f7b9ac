"""Robust errors (Huber, smooth L1, log-cosh) and the quantile loss: parity with
PyTorch, optax and float64 NumPy, and the edge cases they promise."""

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
from regression_helpers import REDUCTIONS, SHAPES, check_torch, inputs

import jaxloss


def _grid(grid):
    keys = list(grid)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*grid.values())]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("jfn", "tfn", "grid"),
    [
        (jaxloss.huber_loss, F.huber_loss, {"delta": [0.3, 1.0, 2.5]}),
        (jaxloss.smooth_l1_loss, F.smooth_l1_loss, {"beta": [0.0, 0.5, 1.0, 2.0]}),
    ],
    ids=["huber", "smooth_l1"],
)
def test_robust_match_torch(jfn, tfn, grid, shape):
    for seed, options in enumerate(_grid(grid)):
        check_torch(jfn, tfn, inputs(shape, seed), options)


def test_huber_weight_against_torch():
    p, t = inputs((6, 5), 21)
    w = np.random.default_rng(2).uniform(0.1, 3.0, size=(6, 5)).astype(np.float32)
    for reduction in ("sum", "none"):
        assert_close(
            jaxloss.huber_loss(p, t, weight=w, reduction=reduction),
            F.huber_loss(
                torch.tensor(p),
                torch.tensor(t),
                weight=torch.tensor(w),  # pyright: ignore[reportCallIssue]
                reduction=reduction,
            ).numpy(),
        )
    # torch's huber divides the weighted mean by the element count, as jaxloss does
    torch_sum = F.huber_loss(
        torch.tensor(p),
        torch.tensor(t),
        weight=torch.tensor(w),  # pyright: ignore[reportCallIssue]
        reduction="sum",
    ).item()
    assert_close(jaxloss.huber_loss(p, t, weight=w), torch_sum / p.size)


@pytest.mark.parametrize("delta", [0.5, 1.0, 3.0])
def test_huber_matches_optax(delta):
    p, t = inputs((5, 6), 4)
    assert_close(
        jaxloss.huber_loss(p, t, delta=delta, reduction="none"),
        optax.losses.huber_loss(p, t, delta=delta),
    )


def test_log_cosh_matches_optax_and_numpy():
    p, t = inputs((5, 6), 8)
    ours = jaxloss.log_cosh_loss(p, t, reduction="none")
    assert_close(ours, optax.losses.log_cosh(p, t))
    assert_close(ours, np.log(np.cosh(p.astype(np.float64) - t)))


def test_log_cosh_large_errors_do_not_overflow():
    e = jnp.array([1e4, -1e4, 100.0])
    value = jaxloss.log_cosh_loss(e, jnp.zeros(3), reduction="none")
    assert_close(value, np.abs(np.asarray(e, np.float64)) - math.log(2), rtol=1e-6)
    g = jax.grad(lambda a: jaxloss.log_cosh_loss(a, jnp.zeros(3), reduction="sum"))(e)
    np.testing.assert_allclose(g, [1.0, -1.0, 1.0])


def test_smooth_l1_beta_zero_is_exactly_l1():
    p, t = inputs((6, 5), 16)
    t[0] = p[0]  # exact zero errors
    for reduction in REDUCTIONS:
        np.testing.assert_array_equal(
            jaxloss.smooth_l1_loss(p, t, beta=0.0, reduction=reduction),
            jaxloss.l1_loss(p, t, reduction=reduction),
        )
    g = jax.grad(lambda a: jaxloss.smooth_l1_loss(a, jnp.asarray(t), beta=0.0))(jnp.asarray(p))
    assert np.all(np.isfinite(g)) and np.all(np.asarray(g)[0] == 0)
    check_torch(jaxloss.smooth_l1_loss, F.smooth_l1_loss, [p, t], {"beta": 0.0})


@pytest.mark.parametrize("quantiles", [0.1, 0.5, 0.93])
def test_quantile_scalar_against_numpy(quantiles):
    p, t = inputs((5, 4), 12)
    e = t.astype(np.float64) - p
    ref = np.where(e >= 0, quantiles * e, (quantiles - 1) * e)
    assert_close(jaxloss.quantile_loss(p, t, quantiles=quantiles, reduction="none"), ref)
    g = jax.grad(
        lambda a: jaxloss.quantile_loss(a, jnp.asarray(t), quantiles=quantiles, reduction="sum")
    )(jnp.asarray(p))
    assert_close(g, np.where(e >= 0, -quantiles, 1 - quantiles))


def test_quantile_vector_shared_target_against_numpy():
    q = np.array([0.1, 0.5, 0.9])
    p, t = inputs((6, 3), 13)
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


# ------------------------------------------------- contract: no silently wrong number


@pytest.mark.parametrize(
    ("jfn", "tfn", "option", "good", "bad"),
    [
        (jaxloss.huber_loss, F.huber_loss, "delta", 0.7, (0.0, -1.0)),
        (jaxloss.smooth_l1_loss, F.smooth_l1_loss, "beta", 0.7, (-0.5,)),
    ],
    ids=["huber", "smooth_l1"],
)
def test_traced_option_out_of_range_gives_nan(jfn, tfn, option, good, bad):
    # guards against a traced delta <= 0 (beta < 0) computing a finite number, which
    # eagerly raises; a traced valid value still matches torch
    p, t = inputs((4, 5), 40)
    traced = jax.jit(lambda v: jfn(p, t, reduction="none", **{option: v}))
    ref = tfn(torch.tensor(p, dtype=torch.float64), torch.tensor(t, dtype=torch.float64),
              reduction="none", **{option: good}).numpy()  # fmt: skip
    assert_close(traced(good), ref, rtol=1e-5)
    for value in bad:
        assert np.all(np.isnan(np.asarray(traced(value))))
        with pytest.raises(ValueError, match=rf"^jaxloss\.{jfn.__name__}: {option} must be in"):
            jfn(p, t, **{option: value})


def test_quantiles_validated_eagerly_and_when_traced():
    # guards against quantiles="0.5" failing deep inside (not naming quantiles), a
    # list being refused, and a traced quantile outside [0, 1] computing a number
    p, t = inputs((6, 3), 41)
    y = t[:, 0]
    with pytest.raises(TypeError, match=r"^jaxloss\.quantile_loss: quantiles must be a number"):
        jaxloss.quantile_loss(p, y, quantiles="0.5")  # pyright: ignore[reportArgumentType]
    q = np.array([0.1, 0.5, 0.9])
    e = y[:, None].astype(np.float64) - p
    ref = np.maximum(q * e, (q - 1) * e)
    assert_close(jaxloss.quantile_loss(p, y, quantiles=[0.1, 0.5, 0.9], reduction="none"), ref)
    traced = jax.jit(lambda qs: jaxloss.quantile_loss(p, y, quantiles=qs, reduction="none"))
    assert_close(traced(jnp.asarray(q)), ref, rtol=1e-5)
    out = np.asarray(traced(jnp.array([0.1, 1.5, 0.9])))
    assert np.all(np.isnan(out[:, 1]))  # only the elements the bad quantile scores
    assert_close(out[:, [0, 2]], ref[:, [0, 2]], rtol=1e-5)
    scalar = jax.jit(lambda qs: jaxloss.quantile_loss(p, t, quantiles=qs))
    assert np.isnan(float(scalar(-0.1))) and np.isfinite(float(scalar(0.3)))
