"""Long-tail and multi-label losses: ASL and LDAM against torch re-implementations
of their official code (values and autograd gradients, float64), class-balanced
weights against the formula in float64 NumPy, and their hard cases."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close

import jaxloss


def _official_asl(x, y, gamma_neg, gamma_pos, clip, eps=1e-8):
    """Alibaba-MIIL/ASL ``AsymmetricLoss.forward`` with its reduction left out
    (it returns ``-loss.sum()``)."""
    x_sigmoid = torch.sigmoid(x)
    xs_pos = x_sigmoid
    xs_neg = 1 - x_sigmoid
    if clip is not None and clip > 0:
        xs_neg = (xs_neg + clip).clamp(max=1)
    los_pos = y * torch.log(xs_pos.clamp(min=eps))
    los_neg = (1 - y) * torch.log(xs_neg.clamp(min=eps))
    loss = los_pos + los_neg
    if gamma_neg > 0 or gamma_pos > 0:
        pt0 = xs_pos * y
        pt1 = xs_neg * (1 - y)
        pt = pt0 + pt1
        one_sided_gamma = gamma_pos * y + gamma_neg * (1 - y)
        one_sided_w = torch.pow(1 - pt, one_sided_gamma)
        loss = loss * one_sided_w
    return -loss


def _value_and_grad64(fn, x, *rest, **kwargs):
    """(sum of ``fn``, its gradient, the "none" output) in float64, compiled once."""

    def run(a, *r):
        total, grad = jax.value_and_grad(lambda b: jnp.sum(fn(b, *r, **kwargs)))(a)
        return total, grad, fn(a, *r, **{**kwargs, "reduction": "none"})

    with jax.enable_x64(True):
        rest64 = [jnp.asarray(r) for r in rest]
        value, grad, none = jax.jit(run)(jnp.asarray(x, jnp.float64), *rest64)
        return float(value), np.asarray(grad), np.asarray(none)


@pytest.mark.parametrize(
    ("gamma_neg", "gamma_pos", "clip", "shape", "soft"),
    [
        (4.0, 1.0, 0.05, (6, 9), False),
        (2.0, 0.0, 0.0, (3, 4, 5), False),
        (0.0, 0.0, 0.2, (10, 3), False),
        (1.5, 0.5, 0.05, (5, 7), True),
    ],
)
def test_asymmetric_loss_matches_the_official_code(gamma_neg, gamma_pos, clip, shape, soft):
    rng = np.random.default_rng(len(shape))
    x = 3.0 * rng.standard_normal(shape)
    y = rng.random(shape) if soft else (rng.random(shape) < 0.2).astype(np.float64)
    y[0] = 0.0  # an all-negative row
    tx = torch.tensor(x, requires_grad=True)
    ref = _official_asl(tx, torch.tensor(y), gamma_neg, gamma_pos, clip)
    ref.sum().backward()
    opts = {"gamma_neg": gamma_neg, "gamma_pos": gamma_pos, "clip": clip}
    total, grad, none = _value_and_grad64(
        jaxloss.asymmetric_loss, x, jnp.asarray(y), reduction="sum", **opts
    )
    # the official 1 - pt cancels digits that the shifted probability keeps
    tol = 1e-6 if soft else 1e-9
    assert_close(none, ref.detach().numpy(), rtol=tol, atol=1e-12)
    assert_close(total, ref.sum().item(), rtol=tol)  # the official reduction is the sum
    assert tx.grad is not None
    assert_close(grad, tx.grad.numpy(), rtol=10 * tol, atol=1e-12)
    mean = jaxloss.asymmetric_loss(x.astype(np.float32), y.astype(np.float32), **opts)
    assert_close(mean, ref.mean().item(), rtol=2e-5)


def test_asymmetric_loss_extreme_logits_and_all_negative_rows_stay_finite():
    x = jnp.array([[1e4, -1e4, 100.0, -100.0, 0.0], [1e4, -1e4, 30.0, -30.0, 17.0]])
    y = jnp.array([[0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 1.0, 0.0]])
    for clip in (0.05, 0.0):
        value, grad = jax.value_and_grad(
            lambda a, c=clip: jaxloss.asymmetric_loss(a, y, clip=c, reduction="sum")
        )(x)
        assert np.isfinite(float(value)) and np.all(np.isfinite(np.asarray(grad)))
        tx = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
        ref = _official_asl(tx, torch.tensor(np.asarray(y, np.float64)), 4.0, 1.0, clip)
        ref.sum().backward()
        assert_close(value, ref.sum().item(), rtol=1e-5)
        assert tx.grad is not None
        assert_close(grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    # a confidently right negative below the clip costs exactly nothing
    assert float(jaxloss.asymmetric_loss(jnp.array([-10.0]), jnp.array([0.0]))) == 0.0


def test_asymmetric_loss_mask_weight_and_bad_input():
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.standard_normal((6, 4)), jnp.float32)
    y = jnp.asarray(rng.random((6, 4)) < 0.3, jnp.float32)
    keep = np.array([True, False, True, True, False, True])
    w = jnp.asarray(rng.random((6, 4)), jnp.float32)
    none = jaxloss.asymmetric_loss(x, y, reduction="none")
    masked = jaxloss.asymmetric_loss(x, y, weight=w, where=jnp.asarray(keep))
    assert_close(masked, jnp.sum((w * none)[keep]) / (keep.sum() * 4), rtol=1e-6)
    assert np.isnan(float(jaxloss.asymmetric_loss(x, y.at[0, 0].set(2.0))))
    with pytest.raises(ValueError, match=re.escape("asymmetric_loss: gamma_neg must be in [0.0")):
        jaxloss.asymmetric_loss(x, y, gamma_neg=-1.0)
    with pytest.raises(ValueError, match=re.escape("asymmetric_loss: clip must be in [0.0, 1.0]")):
        jaxloss.asymmetric_loss(x, y, clip=1.5)


def test_asymmetric_loss_class_weights_multiply_each_label_against_the_official_code():
    """``class_weights [L]`` multiplies each label's term by w_c (the official code
    times w, float64 torch); a masked row stays 0 and the mean still divides by
    the number of unmasked elements."""
    rng = np.random.default_rng(31)
    x = 3.0 * rng.standard_normal((5, 6))
    y = (rng.random((5, 6)) < 0.3).astype(np.float64)
    w = rng.uniform(0.2, 3.0, 6)
    keep = np.array([True, True, False, True, True])

    def run(a):  # the "none" output, and each reduction's value and gradient: one compilation
        options = {"class_weights": jnp.asarray(w), "where": keep}
        none = jaxloss.asymmetric_loss(a, jnp.asarray(y), reduction="none", **options)
        return none, [
            jax.value_and_grad(
                lambda b, r=r: jaxloss.asymmetric_loss(b, jnp.asarray(y), reduction=r, **options)
            )(a)
            for r in ("mean", "sum")
        ]

    with jax.enable_x64(True):
        none, results = jax.jit(run)(jnp.asarray(x))
    official = _official_asl(torch.tensor(x), torch.tensor(y), 4.0, 1.0, 0.05).numpy()
    assert_close(none, np.where(keep[:, None], w * official, 0.0), rtol=1e-9, atol=1e-12)
    for reduction, (value, grad) in zip(("mean", "sum"), results, strict=True):
        tx = torch.tensor(x, requires_grad=True)
        terms = _official_asl(tx, torch.tensor(y), 4.0, 1.0, 0.05) * torch.tensor(w)
        total = terms[torch.tensor(keep)].sum()
        ref = total / (keep.sum() * 6) if reduction == "mean" else total
        ref.backward()
        assert_close(value, ref.item(), rtol=1e-9)
        assert tx.grad is not None
        assert_close(grad, tx.grad.numpy(), rtol=1e-8, atol=1e-12)


class _OfficialLDAM(torch.nn.Module):
    """kaidic/LDAM-DRW ``LDAMLoss``, on the CPU (the official code builds cuda tensors)."""

    def __init__(self, cls_num_list, max_m=0.5, weight=None, s=30, reduction="mean"):
        super().__init__()
        m_list = 1.0 / np.sqrt(np.sqrt(cls_num_list))
        m_list = m_list * (max_m / np.max(m_list))
        self.m_list = torch.tensor(m_list, dtype=torch.float64)
        self.s = s
        self.weight = weight
        self.reduction = reduction

    def forward(self, x, target):
        index = torch.zeros_like(x, dtype=torch.bool)
        index.scatter_(1, target.data.view(-1, 1), 1)
        batch_m = torch.matmul(self.m_list[None, :], index.double().transpose(0, 1))
        x_m = x - batch_m.view((-1, 1))
        output = torch.where(index, x_m, x)
        return F.cross_entropy(
            self.s * output, target, weight=self.weight, reduction=self.reduction
        )


@pytest.mark.parametrize(
    ("batch", "counts", "max_margin", "scale", "weighted"),
    [
        (12, [500, 100, 20, 4], 0.5, 30.0, False),
        (9, [7, 7, 300, 1, 60], 0.3, 10.0, True),
        (5, [1000, 1], 1.0, 64.0, True),
    ],
)
def test_ldam_loss_matches_the_official_code(batch, counts, max_margin, scale, weighted):
    rng = np.random.default_rng(batch)
    classes = len(counts)
    x = np.tanh(rng.standard_normal((batch, classes)))
    y = rng.integers(0, classes, batch)
    w = rng.random(classes) + 0.5 if weighted else None

    def run(a):  # every reduction's value and gradient, one compilation
        weight = None if w is None else jnp.asarray(w)
        options = {"max_margin": max_margin, "scale": scale, "weight": weight}
        return [
            jax.value_and_grad(
                lambda b, r=r: jnp.sum(
                    jaxloss.ldam_loss(
                        b, jnp.asarray(y), jnp.asarray(counts), reduction=r, **options
                    )
                )
            )(a)
            for r in ("mean", "sum", "none")
        ]

    with jax.enable_x64(True):
        results = jax.jit(run)(jnp.asarray(x))
    for reduction, (value, grad) in zip(("mean", "sum", "none"), results, strict=True):
        tx = torch.tensor(x, requires_grad=True)
        official = _OfficialLDAM(
            counts, max_margin, None if w is None else torch.tensor(w), scale, reduction
        )
        ref = official(tx, torch.tensor(y))
        ref.sum().backward()
        assert_close(value, ref.sum().item(), rtol=1e-9)
        assert tx.grad is not None
        assert_close(grad, tx.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_ldam_loss_counts_rows_and_errors():
    x = jnp.array([[0.3, -0.2, 0.9], [0.1, 0.5, -0.4], [0.0, 0.0, 0.0]])
    y = jnp.array([2, 0, 1])
    # a class never seen counts as seen once
    assert_close(
        jaxloss.ldam_loss(x, y, jnp.array([100, 0, 9])),
        jaxloss.ldam_loss(x, y, jnp.array([100, 1, 9])),
        rtol=1e-7,
    )
    assert np.isnan(float(jaxloss.ldam_loss(x, y, jnp.array([100, -1, 9]))))
    keep = jnp.array([True, False, True])
    none = jaxloss.ldam_loss(x, y, jnp.array([100, 30, 9]), reduction="none")
    assert_close(
        jaxloss.ldam_loss(x, y, jnp.array([100, 30, 9]), where=keep),
        (none[0] + none[2]) / 2,
        rtol=1e-6,
    )
    assert np.isnan(float(jaxloss.ldam_loss(x, y.at[0].set(3), jnp.array([100, 30, 9]))))
    with pytest.raises(ValueError, match=r"ldam_loss: class_counts has shape \(2,\); expected"):
        jaxloss.ldam_loss(x, y, jnp.array([100, 30]))
    with pytest.raises(ValueError, match=r"ldam_loss: scale must be in \(0.0, inf\]"):
        jaxloss.ldam_loss(x, y, jnp.array([100, 30, 9]), scale=0.0)


def _np_class_balanced(counts, beta):
    n = np.asarray(counts, np.float64)
    effective = n if beta == 1.0 else (1.0 - beta**n) / (1.0 - beta)
    inverse = np.where(n > 0, 1.0 / np.where(n > 0, effective, 1.0), 0.0)
    return len(n) * inverse / inverse.sum()


@pytest.mark.parametrize("beta", (0.0, 0.9, 0.99, 0.999, 0.9999, 1.0))
def test_class_balanced_weights_formula(beta):
    counts = np.array([4000, 1500, 300, 75, 12, 3, 1])
    w = jaxloss.class_balanced_weights(jnp.asarray(counts), beta=beta)
    assert w.shape == (7,) and w.dtype == jnp.float32
    assert_close(w, _np_class_balanced(counts, beta), rtol=2e-5)
    assert_close(jnp.sum(w), 7.0, rtol=1e-6)
    traced = jax.jit(lambda b: jaxloss.class_balanced_weights(jnp.asarray(counts), beta=b))
    assert_close(traced(beta), _np_class_balanced(counts, beta), rtol=2e-4)


def test_class_balanced_weights_zero_counts_and_bad_counts():
    w = jaxloss.class_balanced_weights(jnp.array([50.0, 0.0, 5.0]), beta=0.99)
    assert float(w[1]) == 0.0
    assert_close(w, _np_class_balanced([50, 0, 5], 0.99), rtol=2e-5)
    assert np.all(np.isnan(np.asarray(jaxloss.class_balanced_weights(jnp.zeros(3)))))
    assert np.all(np.isnan(np.asarray(jaxloss.class_balanced_weights(jnp.array([3, -1, 2])))))
    with pytest.raises(ValueError, match=re.escape("class_balanced_weights: beta must be in [0.0")):
        jaxloss.class_balanced_weights(jnp.array([3, 1]), beta=1.5)
    with pytest.raises(ValueError, match="counts must be a \\[C\\] vector"):
        jaxloss.class_balanced_weights(jnp.ones((2, 3)))
    # usable as the class weights of a cross-entropy, as torch's weight
    x, y = np.array([[0.2, 1.0, -0.5], [0.3, 0.1, 0.0]]), np.array([0, 2])
    w = jaxloss.class_balanced_weights(jnp.array([50, 20, 5]), beta=0.999)
    ref = F.cross_entropy(
        torch.tensor(x), torch.tensor(y), weight=torch.tensor(np.asarray(w, np.float64))
    )
    assert_close(jaxloss.cross_entropy(x.astype(np.float32), y, weight=w), ref.item(), rtol=1e-5)
