"""Binary and multi-label losses (jaxloss/losses/classification/binary.py): parity with
PyTorch, torchvision and optax, and the stability promises at extreme logits.
"""

from __future__ import annotations

import itertools
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


@pytest.mark.parametrize("shape", [(7,), (4, 3), (2, 3, 4)])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_matches_torch(shape, weighted):
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.99, size=shape)
    p.flat[:2] = [0.0, 1.0]  # exact 0 and 1: torch clamps the log at -100
    t = rng.uniform(size=shape)
    t.flat[:2] = [1.0, 0.0]
    w = rng.uniform(0.5, 2.0, size=shape) if weighted else None
    for reduction in REDUCTIONS:
        ours = jax_value_grad(
            jaxloss.binary_cross_entropy, p.astype(np.float32), t, weight=w, reduction=reduction
        )
        ref = torch_value_grad(
            F.binary_cross_entropy,
            p,
            to_torch(t),
            weight=None if w is None else to_torch(w),
            reduction=reduction,
        )
        assert_close(ours, ref, rtol=1e-4, atol=1e-4)
        assert np.all(np.isfinite(ours[1]))


@pytest.mark.parametrize("shape", [(7,), (4, 3), (2, 3, 4)])
@pytest.mark.parametrize(
    ("weighted", "pos_weighted"), list(itertools.product([False, True], repeat=2))
)
def test_bce_with_logits_matches_torch_and_optax(shape, weighted, pos_weighted):
    rng = np.random.default_rng(1)
    x = 4 * rng.normal(size=shape)
    t = rng.uniform(size=shape)  # soft targets
    w = rng.uniform(0.5, 2.0, size=shape) if weighted else None
    pw = (
        rng.uniform(0.5, 3.0, size=shape[-1:]) if pos_weighted else None
    )  # broadcast on the last axis
    for reduction in REDUCTIONS:
        ours = jax_value_grad(
            jaxloss.binary_cross_entropy_with_logits,
            x.astype(np.float32),
            t,
            weight=w,
            pos_weight=pw,
            reduction=reduction,
        )
        ref = torch_value_grad(
            F.binary_cross_entropy_with_logits,
            x,
            to_torch(t),
            weight=None if w is None else to_torch(w),
            pos_weight=None if pw is None else to_torch(pw),
            reduction=reduction,
        )
        assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    if not (weighted or pos_weighted):
        assert_close(
            jaxloss.binary_cross_entropy_with_logits(x, t, reduction="none"),
            optax.sigmoid_binary_cross_entropy(
                jnp.asarray(x, jnp.float32), jnp.asarray(t, jnp.float32)
            ),
        )


def _torchvision_focal(x, t, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss written out in float64 NumPy."""
    p = 1 / (1 + np.exp(-x))
    ce = np.logaddexp(0, x) - t * x
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * (1 - p_t) ** gamma
    if alpha is not None and alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss


@pytest.mark.parametrize("alpha", [0.25, 0.8, -1.0, None])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.0])
def test_sigmoid_focal_matches_torchvision_formula_and_optax(alpha, gamma):
    rng = np.random.default_rng(2)
    x = 3 * rng.normal(size=(6, 5))
    t = (rng.uniform(size=(6, 5)) < 0.3).astype(np.float64)
    ref = _torchvision_focal(x, t, alpha, gamma)
    ours = jaxloss.sigmoid_focal_loss(
        x.astype(np.float32), t, alpha=alpha, gamma=gamma, reduction="none"
    )
    assert_close(ours, ref, rtol=1e-5, atol=1e-6)
    assert_close(jaxloss.sigmoid_focal_loss(x, t, alpha=alpha, gamma=gamma), ref.mean(), rtol=1e-5)
    optax_alpha = None if alpha is None or alpha < 0 else alpha
    assert_close(
        ours,
        optax.sigmoid_focal_loss(
            jnp.asarray(x, jnp.float32), jnp.asarray(t, jnp.float32), alpha=optax_alpha, gamma=gamma
        ),
        rtol=1e-4,
        atol=1e-6,
    )
    # gradient against the float64 formula by central differences
    with jax.enable_x64(True):
        g = jax.grad(
            lambda a: jnp.sum(
                jaxloss.sigmoid_focal_loss(
                    a, jnp.asarray(t), alpha=alpha, gamma=gamma, reduction="sum"
                )
            )
        )(jnp.asarray(x))
        h = 1e-6
        fd = (
            _torchvision_focal(x + h, t, alpha, gamma) - _torchvision_focal(x - h, t, alpha, gamma)
        ) / (2 * h)
        assert_close(g, fd, rtol=1e-5, atol=1e-7)


def test_soft_margin_matches_torch():
    rng = np.random.default_rng(4)
    x = 2 * rng.normal(size=(4, 6))
    y = np.where(rng.uniform(size=(4, 6)) < 0.5, -1.0, 1.0)
    for reduction in REDUCTIONS:
        assert_close(
            jax_value_grad(jaxloss.soft_margin_loss, x.astype(np.float32), y, reduction=reduction),
            torch_value_grad(F.soft_margin_loss, x, to_torch(y), reduction=reduction),
            rtol=1e-5,
            atol=1e-6,
        )


@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 6)])
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin_matches_torch(shape, weighted):
    rng = np.random.default_rng(5)
    x = 3 * rng.normal(size=shape)
    y = (rng.uniform(size=shape) < 0.4).astype(np.float64)
    w = rng.uniform(0.5, 2.0, size=shape[-1:]) if weighted else None
    for reduction in REDUCTIONS:
        ours = jax_value_grad(
            jaxloss.multilabel_soft_margin_loss,
            x.astype(np.float32),
            y,
            weight=w,
            reduction=reduction,
        )
        ref = torch_value_grad(
            F.multilabel_soft_margin_loss,
            x,
            to_torch(y),
            weight=None if w is None else to_torch(w),
            reduction=reduction,
        )
        assert_close(ours, ref, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------- must never break


def test_gradients_finite_at_extreme_logits():
    for fn in (
        jaxloss.binary_cross_entropy_with_logits,
        jaxloss.sigmoid_focal_loss,
        jaxloss.soft_margin_loss,
    ):
        g = jax.grad(lambda a, f=fn: f(a, jnp.array([1.0, 0.0, 1.0, 0.0])))(
            jnp.array([1e4, 1e4, -1e4, -1e4])
        )
        assert np.all(np.isfinite(g))


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_low_precision_logits(dtype):
    rng = np.random.default_rng(16)
    x = jnp.asarray(3 * rng.normal(size=(16, C)), dtype)
    rng.integers(0, C, size=16)  # the integer targets the multi-class test draws here
    t = jnp.asarray(rng.uniform(size=(16, C)) < 0.5, dtype)
    assert_close(
        jaxloss.binary_cross_entropy_with_logits(x, t),
        jaxloss.binary_cross_entropy_with_logits(x.astype(jnp.float32), t.astype(jnp.float32)),
        rtol=1e-6,
    )


@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0, 2.0, 2.5])
def test_focal_gradients_finite_at_confident_logits(gamma):
    x = jnp.array([1e4, 200.0, 50.0, -1e4, -200.0, 0.0])
    t = jnp.array([1.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    g = jax.grad(lambda a: jaxloss.sigmoid_focal_loss(a, t, gamma=gamma))(x)
    assert np.all(np.isfinite(g))
    if gamma >= 2:
        h = jax.hessian(lambda a: jaxloss.sigmoid_focal_loss(a, t, gamma=gamma))(x)
        assert np.all(np.isfinite(h))


def test_checked_names_a_probability_outside_the_unit_interval():
    with pytest.raises(Exception, match=r"probs must be probabilities in \[0, 1\]; got 1.5"):
        jaxloss.checked(jaxloss.binary_cross_entropy)(jnp.array([0.5, 1.5]), jnp.array([1.0, 0.0]))


@pytest.mark.parametrize(
    ("call_", "error", "message"),
    [
        (
            lambda: jaxloss.binary_cross_entropy_with_logits(
                jnp.zeros((4, 3)), jnp.zeros((4, 3)), pos_weight=jnp.ones(4)
            ),
            ValueError,
            "jaxloss.binary_cross_entropy_with_logits: pos_weight has shape (4,), which does not broadcast to the unreduced loss shape (4, 3)",
        ),
        (
            lambda: jaxloss.sigmoid_focal_loss(jnp.zeros(3), jnp.zeros(3), gamma=-1.0),
            ValueError,
            "jaxloss.sigmoid_focal_loss: gamma must be in [0.0, inf]; got -1.0",
        ),
    ],
)
def test_trace_time_errors(call_, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call_()
    with pytest.raises(error, match=re.escape(message)):
        jax.jit(lambda: call_())()
