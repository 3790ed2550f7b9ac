"""Relative errors (MAPE, MSLE) against the Keras formulas in float64 NumPy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close
from regression_helpers import inputs

import jaxloss


def test_mape_against_keras_formula():
    p, t = inputs((5, 4), 14)
    t[0, 0] = 0.0  # Keras clamps |target| at epsilon = 1e-7
    ref = 100 * np.abs(t.astype(np.float64) - p) / np.maximum(np.abs(t), 1e-7)
    assert_close(jaxloss.mape_loss(p, t, reduction="none"), ref, rtol=1e-5)
    g = jax.grad(lambda a: jaxloss.mape_loss(a, jnp.asarray(t), reduction="sum"))(jnp.asarray(p))
    assert_close(g, 100 * np.sign(p - t) / np.maximum(np.abs(t), 1e-7), rtol=1e-5)


def test_msle_against_keras_formula():
    p, t = inputs((5, 4), 15, positive=True)
    p[0, 0] = -0.5  # clamped as Keras does
    keras = (
        np.log(np.maximum(p.astype(np.float64), 1e-7) + 1) - np.log(np.maximum(t, 1e-7) + 1)
    ) ** 2
    assert_close(jaxloss.msle_loss(p, t, reduction="none"), keras, rtol=1e-5, atol=1e-6)
    g = jax.grad(lambda a: jaxloss.msle_loss(a, jnp.asarray(t), reduction="sum"))(jnp.asarray(p))
    d = np.log1p(np.maximum(p, 0)) - np.log1p(t)
    assert_close(g, np.where(p > 0, 2 * d / (1 + p), 0.0), rtol=1e-5)


# ------------------------------------------------- contract: no silently wrong number


def test_msle_negative_target_gives_nan_not_a_clamped_number():
    # guards against a negative target being clamped to 0 (a finite wrong loss);
    # the other elements still match the Keras formula in float64
    p, t = inputs((3, 4), 16, positive=True)
    t[1, 2] = -2.0
    ours = np.asarray(jaxloss.msle_loss(p, t, reduction="none"))
    keras = (np.log1p(np.maximum(p.astype(np.float64), 1e-7)) - np.log1p(t)) ** 2
    valid = np.ones(t.shape, bool)
    valid[1, 2] = False
    assert np.isnan(ours[1, 2])
    assert_close(ours[valid], keras[valid], rtol=1e-5, atol=1e-6)
    assert np.isnan(float(jaxloss.msle_loss(p, t)))
    # masked out, the bad target is harmless
    m = jnp.asarray(valid)
    assert_close(jaxloss.msle_loss(p, t, where=m, reduction="sum"), keras[valid].sum(), rtol=1e-5)
    with pytest.raises(Exception, match=r"msle_loss: targets must be non-negative; got -2.0"):
        jaxloss.checked(jax.jit(jaxloss.msle_loss))(jnp.asarray(p), jnp.asarray(t))


def test_mape_traced_eps_out_of_range_gives_nan():
    # guards against a traced eps <= 0 computing a finite number (the concrete one raises)
    p, t = inputs((5, 4), 17)
    ref = (100 * np.abs(t.astype(np.float64) - p) / np.maximum(np.abs(t), 0.5)).mean()
    assert_close(jax.jit(lambda e: jaxloss.mape_loss(p, t, eps=e))(0.5), ref, rtol=1e-5)
    assert np.isnan(float(jax.jit(lambda e: jaxloss.mape_loss(p, t, eps=e))(-1.0)))
    with pytest.raises(TypeError, match=r"^jaxloss\.mape_loss: eps must be a number"):
        jaxloss.mape_loss(p, t, eps="0.5")  # pyright: ignore[reportArgumentType]
