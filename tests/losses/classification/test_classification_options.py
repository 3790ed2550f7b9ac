"""Label smoothing and ``pos_weight`` in the binary and focal losses, and
``class_weights`` in the margin, perceptron, sparsemax and noise-robust losses.

References: torch's BCE-with-logits on smoothed targets, and float64 torch
re-implementations of Keras' ``binary_focal_crossentropy`` and
``categorical_focal_crossentropy`` (keras/src/losses/losses.py) for values and
autograd gradients.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from classification_helpers import REDUCTIONS, to_torch
from helpers import assert_close

import jaxloss


def _smooth(t, eps):
    return t * (1.0 - eps) + 0.5 * eps


def keras_binary_focal(x, y, *, alpha, gamma, label_smoothing, pos_weight=None):
    """Keras' binary_focal_crossentropy (from_logits, per element), with torch's
    pos_weight on the positive log term; alpha None is apply_class_balancing=False."""
    y = _smooth(y, label_smoothing)
    p = torch.sigmoid(x)
    pw = 1.0 if pos_weight is None else pos_weight
    bce = -(pw * y * torch.log(p) + (1 - y) * torch.log(1 - p))
    p_t = y * p + (1 - y) * (1 - p)
    focal = (1.0 - p_t) ** gamma * bce
    if alpha is not None:
        focal = (y * alpha + (1 - y) * (1 - alpha)) * focal
    return focal


def keras_categorical_focal(x, labels, *, alpha, gamma, label_smoothing):
    """Keras' categorical_focal_crossentropy on one-hot targets (from_logits), with
    alpha a scalar or one factor per class."""
    c = x.shape[-1]
    y = F.one_hot(labels, c).double() * (1.0 - label_smoothing) + label_smoothing / c
    p = torch.softmax(x, -1)
    cce = -y * torch.log(p)
    a = 1.0 if alpha is None else torch.as_tensor(alpha, dtype=torch.float64)
    return torch.sum(a * (1.0 - p) ** gamma * cce, -1)


def _reduce(loss, reduction, keep=None):
    if keep is not None:
        loss = torch.where(keep, loss, torch.zeros_like(loss))
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else total / (loss.numel() if keep is None else keep.sum())


def _jax_value_grad(fn, x, *args, **kwargs):
    def value_grad(a):  # one compilation for the value and the gradient
        return fn(a, *args, **kwargs), jax.grad(lambda z: jnp.sum(fn(z, *args, **kwargs)))(a)

    with jax.enable_x64(True):
        return jax.jit(value_grad)(jnp.asarray(x))


def _torch_value_grad(f, x):
    tx = to_torch(x, grad=True)
    out = f(tx)
    out.sum().backward()
    assert tx.grad is not None
    return out.detach().numpy(), tx.grad.numpy()


@pytest.mark.parametrize(
    ("reduction", "eps", "weighted"),
    [("mean", 0.1, False), ("sum", 0.3, True), ("none", 1.0, True)],
)
def test_bce_with_logits_label_smoothing_is_torch_on_smoothed_targets(reduction, eps, weighted):
    rng = np.random.default_rng(0)
    x = 3 * rng.normal(size=(4, 5))
    t = (rng.random((4, 5)) < 0.4).astype(np.float64)
    t[0] = rng.random(5)  # soft targets too
    w = rng.random((4, 5)) if weighted else None
    pw = rng.random(5) + 0.5 if weighted else None
    expected = _torch_value_grad(
        lambda a: F.binary_cross_entropy_with_logits(
            a,
            to_torch(_smooth(t, eps)),
            weight=None if w is None else to_torch(w),
            pos_weight=None if pw is None else to_torch(pw),
            reduction=reduction,
        ),
        x,
    )
    ours = _jax_value_grad(
        jaxloss.binary_cross_entropy_with_logits,
        x,
        t,
        label_smoothing=eps,
        weight=w,
        pos_weight=pw,
        reduction=reduction,
    )
    assert_close(ours, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("alpha", "gamma", "eps", "pos_weight", "reduction"),
    [
        (None, 2.0, 0.1, None, "mean"),  # Keras' default (no class balancing)
        (0.25, 2.0, 0.2, 3.0, "none"),
        (0.6, 0.5, 0.0, "per_label", "sum"),
        (0.25, 0.0, 1.0, 2.0, "mean"),
    ],
)
def test_sigmoid_focal_smoothing_and_pos_weight_match_keras_formula(
    alpha, gamma, eps, pos_weight, reduction
):
    rng = np.random.default_rng(1)
    x = 3 * rng.normal(size=(3, 2, 4))
    t = (rng.random((3, 2, 4)) < 0.3).astype(np.float64)
    keep = np.array([True, False, True])
    pw = rng.random(4) + 0.5 if pos_weight == "per_label" else pos_weight
    expected = _torch_value_grad(
        lambda a: _reduce(
            keras_binary_focal(
                a,
                to_torch(t),
                alpha=alpha,
                gamma=gamma,
                label_smoothing=eps,
                pos_weight=None if pw is None else to_torch(np.asarray(pw)),
            ),
            reduction,
            keep=to_torch(keep)[:, None, None].expand(3, 2, 4),
        ),
        x,
    )
    ours = _jax_value_grad(
        jaxloss.sigmoid_focal_loss,
        x,
        t,
        alpha=alpha,
        gamma=gamma,
        label_smoothing=eps,
        pos_weight=pw,
        where=keep,
        reduction=reduction,
    )
    assert_close(ours, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("alpha", "gamma", "eps", "reduction"),
    [
        (0.25, 2.0, 0.1, "mean"),
        ([0.5, 1.0, 2.0, 0.25, 1.5], 1.5, 0.3, "none"),
        (None, 0.0, 1.0, "sum"),
    ],
)
def test_softmax_focal_label_smoothing_matches_keras_formula(alpha, gamma, eps, reduction):
    rng = np.random.default_rng(2)
    x = 2 * rng.normal(size=(6, 5))
    labels = rng.integers(0, 5, 6)
    labels[1] = -100  # ignored, as the rows that where leaves out
    keep = np.array([True, True, False, True, True, True])
    counted = torch.tensor(keep & (labels != -100))
    expected = _torch_value_grad(
        lambda a: _reduce(
            keras_categorical_focal(
                a, torch.tensor(np.where(labels < 0, 0, labels)), alpha=alpha, gamma=gamma,
                label_smoothing=eps,
            ),
            reduction,
            keep=counted,
        ),
        x,
    )  # fmt: skip
    ours = _jax_value_grad(
        jaxloss.softmax_focal_loss,
        x,
        labels,
        alpha=alpha,
        gamma=gamma,
        label_smoothing=eps,
        where=keep,
        reduction=reduction,
    )
    assert_close(ours, expected, rtol=1e-9, atol=1e-12)


def test_smoothing_skips_masked_vocabulary_and_stays_finite_on_extreme_logits():
    x = jnp.array([[0.5, -jnp.inf, 2.0, -1.0], [1e4, -1e4, 0.0, 3.0]])
    labels = jnp.array([2, 0])
    value, grad = jax.value_and_grad(
        lambda a: jaxloss.softmax_focal_loss(a, labels, alpha=0.25, label_smoothing=0.2)
    )(x)
    assert np.isfinite(value) and np.all(np.isfinite(grad)) and grad[0, 1] == 0
    # the first row equals the formula over its three live classes (C stays 4)
    live = torch.tensor([[0.5, 2.0, -1.0]], dtype=torch.float64)
    p = torch.softmax(live, -1)
    q = F.one_hot(torch.tensor([1]), 3).double() * 0.8 + 0.2 / 4
    row0 = torch.sum(0.25 * (1 - p) ** 2 * -q * torch.log(p))
    one = jaxloss.softmax_focal_loss(x[:1], labels[:1], alpha=0.25, label_smoothing=0.2)
    assert_close(one, row0.item(), rtol=1e-5)
    big = jnp.array([[1e4, -1e4, 30.0], [-30.0, 0.0, -1e4]])
    t = jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    for fn, kw in (
        (jaxloss.binary_cross_entropy_with_logits, {"pos_weight": 3.0}),
        (jaxloss.sigmoid_focal_loss, {"pos_weight": 3.0, "gamma": 0.5}),
    ):
        value, grad = jax.value_and_grad(
            lambda a, fn=fn, kw=kw: fn(a, t, label_smoothing=0.1, **kw)
        )(big)
        assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_traced_label_smoothing_and_errors():
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.normal(size=(4, 3)), jnp.float32)
    t = jnp.asarray(rng.random((4, 3)) < 0.5, jnp.float32)
    labels = jnp.array([0, 2, 1, 1])
    calls = (
        lambda e: jaxloss.binary_cross_entropy_with_logits(x, t, label_smoothing=e),
        lambda e: jaxloss.sigmoid_focal_loss(x, t, label_smoothing=e, pos_weight=2.0),
        lambda e: jaxloss.softmax_focal_loss(x, labels, label_smoothing=e),
    )
    for call_, name in zip(
        calls,
        ("binary_cross_entropy_with_logits", "sigmoid_focal_loss", "softmax_focal_loss"),
        strict=True,
    ):
        assert_close(jax.jit(call_)(0.3), call_(0.3))
        assert np.isnan(jax.jit(call_)(1.5))  # a traced value out of range
        with pytest.raises(ValueError, match=rf"{name}: label_smoothing must be in \[0.0, 1.0\]"):
            call_(-0.1)
    with pytest.raises(ValueError, match="sigmoid_focal_loss: pos_weight"):
        jaxloss.sigmoid_focal_loss(x, t, pos_weight=jnp.ones(4))


def test_defaults_are_unchanged():
    rng = np.random.default_rng(4)
    x = jnp.asarray(2 * rng.normal(size=(5, 3)), jnp.float32)
    t = jnp.asarray(rng.random((5, 3)) < 0.4, jnp.float32)
    labels = jnp.array([0, 1, 2, 1, 0])
    assert_close(
        jaxloss.sigmoid_focal_loss(x, t, pos_weight=1.0, label_smoothing=0.0),
        jaxloss.sigmoid_focal_loss(x, t),
    )
    assert_close(
        jaxloss.softmax_focal_loss(x, labels, alpha=0.5, label_smoothing=0.0),
        jaxloss.softmax_focal_loss(x, labels, alpha=0.5),
    )


def _torch_sparsemax_rows(z, q):
    """Martins & Astudillo's closed form, -<q, z> + (sum_S z_j^2 - tau^2) / 2 + |q|^2 / 2
    over the sparsemax support S, whose autograd gradient is sparsemax(z) - q."""
    ordered, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    cumulative = torch.cumsum(ordered, -1)
    size = torch.sum(1 + k * ordered > cumulative, -1, keepdim=True)
    tau = (torch.gather(cumulative, -1, size - 1) - 1) / size
    support = z > tau
    squares = torch.where(support, z**2 - tau**2, torch.zeros_like(z))
    return -(q * z).sum(-1) + 0.5 * squares.sum(-1) + 0.5 * (q * q).sum(-1)


def _torch_class_weighted(name, z, targets, w):
    """``w[y] * loss`` (``q @ w`` for probability targets) written from each formula."""
    c = z.shape[-1]
    q = targets if targets.is_floating_point() else F.one_hot(targets, c).double()
    picked = (q * z).sum(-1)
    if name == "multiclass_hinge_loss":
        loss = torch.max(z + 1 - q, -1).values - picked
    elif name == "multiclass_perceptron_loss":
        loss = torch.max(z, -1).values - picked
    elif name == "generalized_cross_entropy":
        loss = (1 - ((q * torch.softmax(z, -1)).sum(-1)) ** 0.7) / 0.7
    else:
        loss = _torch_sparsemax_rows(z, q)
    return (q @ w) * loss


@pytest.mark.parametrize(
    ("name", "kwargs", "probabilities"),
    [
        ("multiclass_hinge_loss", {}, False),
        ("multiclass_perceptron_loss", {}, False),
        ("generalized_cross_entropy", {"q": 0.7}, False),
        ("sparsemax_loss", {}, False),
        ("sparsemax_loss", {}, True),
    ],
)
def test_class_weights_weigh_each_example_by_its_target_class(name, kwargs, probabilities):
    rng = np.random.default_rng(5)
    x = 2 * rng.normal(size=(6, 5))
    w = rng.uniform(0.2, 3.0, size=5)
    if probabilities:
        targets = rng.dirichlet(np.ones(5), size=6)
        targets[0] = [0.0, 1.0, 0.0, 0.0, 0.0]  # a one-hot row weighs as its label
    else:
        targets = rng.integers(0, 5, size=6)
    keep = np.array([True, True, False, True, True, True])
    # the masked row holds anything: NaN scores (and probabilities) reach nothing
    padded = np.where(keep[:, None], x, np.nan)
    given = np.where(keep[:, None], targets, np.nan) if probabilities else targets
    fn = getattr(jaxloss, name)

    def ours(a):  # one compilation for every reduction's value and gradient
        def loss(z, reduction):
            return fn(z, given, class_weights=w, where=keep, reduction=reduction, **kwargs)

        return {
            r: (loss(a, r), jax.grad(lambda z, r=r: jnp.sum(loss(z, r)))(a)) for r in REDUCTIONS
        }

    with jax.enable_x64(True):
        got = jax.jit(ours)(jnp.asarray(padded))
    finite = np.where(keep[:, None], targets, 0) if probabilities else targets
    for reduction in REDUCTIONS:
        expected = _torch_value_grad(
            lambda a, r=reduction: _reduce(
                _torch_class_weighted(name, a, torch.as_tensor(finite), torch.as_tensor(w)),
                r,
                keep=torch.as_tensor(keep),
            ),
            np.where(keep[:, None], x, 0.0),
        )
        assert_close(got[reduction], expected, rtol=1e-9, atol=1e-12)
