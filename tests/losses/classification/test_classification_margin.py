"""Margin losses (jaxloss/losses/classification/margin.py): parity with PyTorch and optax."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch.nn.functional as F
from classification_helpers import REDUCTIONS, C, jax_value_grad, to_torch, torch_value_grad
from helpers import assert_close

import jaxloss


@pytest.mark.parametrize(
    ("ours", "exponent"), [(jaxloss.hinge_loss, 1), (jaxloss.squared_hinge_loss, 2)]
)
def test_hinge_losses_accept_both_target_conventions(ours, exponent):
    rng = np.random.default_rng(3)
    s = 2 * rng.normal(size=(5, 4)).astype(np.float32)
    y01 = (rng.uniform(size=(5, 4)) < 0.5).astype(np.float32)
    ypm = 2 * y01 - 1
    ref = np.maximum(0, 1 - ypm * s.astype(np.float64)) ** exponent
    assert_close(ours(s, ypm, reduction="none"), ref)
    assert_close(ours(s, y01, reduction="none"), ref)
    if exponent == 1:
        assert_close(ours(s, ypm, reduction="none"), optax.hinge_loss(s, ypm))
    assert np.isnan(
        float(ours(s, jnp.full((5, 4), 0.5)))
    )  # neither convention: NaN, never a number


def test_hinge_embedding_matches_torch():
    rng = np.random.default_rng(4)
    x = 2 * rng.normal(size=(4, 6))
    y = np.where(rng.uniform(size=(4, 6)) < 0.5, -1.0, 1.0)
    d = np.abs(x)
    for reduction in REDUCTIONS:
        for margin in (0.5, 1.0, 2.0):
            assert_close(
                jax_value_grad(
                    jaxloss.hinge_embedding_loss,
                    d.astype(np.float32),
                    y,
                    margin=margin,
                    reduction=reduction,
                ),
                torch_value_grad(
                    F.hinge_embedding_loss, d, to_torch(y), margin=margin, reduction=reduction
                ),
                rtol=1e-5,
                atol=1e-6,
            )


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("margin", [0.5, 1.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_multi_margin_matches_torch(p, margin, weighted):
    rng = np.random.default_rng(10)
    s = rng.normal(size=(8, C))
    y = rng.integers(0, C, size=8)
    w = rng.uniform(0.2, 3.0, size=C) if weighted else None
    for reduction in REDUCTIONS:
        ours = jax_value_grad(
            jaxloss.multi_margin_loss,
            s.astype(np.float32),
            jnp.asarray(y),
            p=p,
            margin=margin,
            weight=w,
            reduction=reduction,
        )
        ref = torch_value_grad(
            F.multi_margin_loss,
            s,
            to_torch(y),
            p=p,
            margin=margin,
            weight=None if w is None else to_torch(w),
            reduction=reduction,
        )
        assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_multiclass_hinge_matches_optax():
    rng = np.random.default_rng(11)
    s = rng.normal(size=(8, C)).astype(np.float32)
    y = rng.integers(0, C, size=8)
    assert_close(
        jaxloss.multiclass_hinge_loss(s, y, reduction="none"),
        optax.losses.multiclass_hinge_loss(s, y),
    )


@pytest.mark.parametrize(
    ("call_", "error", "message"),
    [
        (
            lambda: jaxloss.multi_margin_loss(jnp.zeros((2, C)), jnp.zeros(2, int), p=3),
            ValueError,
            "jaxloss.multi_margin_loss: p must be one of 1, 2; got 3",
        ),
    ],
)
def test_trace_time_errors(call_, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call_()
    with pytest.raises(error, match=re.escape(message)):
        jax.jit(lambda: call_())()
