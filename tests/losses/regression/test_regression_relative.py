"""Relative errors (MAPE, MSLE) against the Keras formulas in float64 NumPy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
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
