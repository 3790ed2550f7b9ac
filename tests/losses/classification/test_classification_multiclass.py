"""Softmax multi-class losses (jaxloss/losses/classification/multiclass.py): parity with
PyTorch, optax, seed 002 and float64 NumPy, and the stability promises (ignored
targets, masked vocabularies, extreme logits, focal terms).
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from classification_helpers import (
    CLASS_SHAPES,
    REDUCTIONS,
    C,
    class_first,
    jax_value_grad,
    random_labels,
    to_torch,
    torch_value_grad,
)
from helpers import assert_close

import jaxloss


@pytest.mark.parametrize("lead", CLASS_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.7])
def test_cross_entropy_integer_targets_matches_torch(lead, weighted, smoothing):
    rng = np.random.default_rng(6)
    x = 3 * rng.normal(size=(*lead, C))
    y = random_labels(lead, rng)
    w = rng.uniform(0.2, 3.0, size=C) if weighted else None
    for reduction in REDUCTIONS:
        ours = jax_value_grad(
            jaxloss.cross_entropy,
            x.astype(np.float32),
            jnp.asarray(y),
            weight=w,
            label_smoothing=smoothing,
            reduction=reduction,
        )
        ref = torch_value_grad(
            F.cross_entropy,
            x,
            to_torch(y),
            class_axis=True,
            weight=None if w is None else to_torch(w),
            label_smoothing=smoothing,
            reduction=reduction,
        )
        assert_close(ours, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lead", CLASS_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probability_targets_matches_torch(lead, weighted, smoothing):
    rng = np.random.default_rng(7)
    x = 3 * rng.normal(size=(*lead, C))
    q = rng.dirichlet(np.ones(C), size=lead)
    w = rng.uniform(0.2, 3.0, size=C) if weighted else None
    for reduction in REDUCTIONS:
        ours = jax_value_grad(
            jaxloss.cross_entropy,
            x.astype(np.float32),
            jnp.asarray(q, jnp.float32),
            weight=w,
            label_smoothing=smoothing,
            reduction=reduction,
        )
        ref = torch_value_grad(
            F.cross_entropy,
            x,
            class_first(to_torch(q)),
            class_axis=True,
            weight=None if w is None else to_torch(w),
            label_smoothing=smoothing,
            reduction=reduction,
        )
        assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_cross_entropy_integer_equals_one_hot():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(7, C)).astype(np.float32)
    y = rng.integers(0, C, size=7)
    assert_close(
        jaxloss.cross_entropy(x, y), jaxloss.cross_entropy(x, jax.nn.one_hot(y, C)), rtol=1e-6
    )
    assert_close(
        jaxloss.cross_entropy(x, y, label_smoothing=0.1),
        jaxloss.cross_entropy(x, jaxloss.smooth_labels(y, 0.1, num_classes=C)),
        rtol=1e-6,
    )
    assert_close(
        jaxloss.cross_entropy(x, y, reduction="none"),
        optax.softmax_cross_entropy_with_integer_labels(x, y),
    )


@pytest.mark.parametrize("lead", CLASS_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_matches_torch(lead, weighted):
    rng = np.random.default_rng(9)
    logp = np.asarray(jax.nn.log_softmax(3 * rng.normal(size=(*lead, C))), np.float64)
    y = random_labels(lead, rng)
    w = rng.uniform(0.2, 3.0, size=C) if weighted else None
    for reduction in REDUCTIONS:
        ours = jax_value_grad(
            jaxloss.nll_loss, logp.astype(np.float32), jnp.asarray(y), weight=w, reduction=reduction
        )
        ref = torch_value_grad(
            F.nll_loss,
            logp,
            to_torch(y),
            class_axis=True,
            weight=None if w is None else to_torch(w),
            reduction=reduction,
        )
        assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_poly1_and_smooth_labels_match_optax():
    rng = np.random.default_rng(11)
    s = rng.normal(size=(8, C)).astype(np.float32)
    y = rng.integers(0, C, size=8)
    one_hot = jax.nn.one_hot(y, C)
    for eps in (1.0, 2.0, -0.5):
        ref = optax.losses.poly_loss_cross_entropy(s, one_hot, epsilon=eps)
        assert_close(
            jaxloss.poly1_cross_entropy(s, y, epsilon=eps, reduction="none"), ref, rtol=1e-5
        )
        assert_close(
            jaxloss.poly1_cross_entropy(s, one_hot, epsilon=eps, reduction="none"), ref, rtol=1e-5
        )
    assert_close(jaxloss.smooth_labels(one_hot, 0.2), optax.smooth_labels(one_hot, 0.2))
    assert_close(jaxloss.smooth_labels(y, 0.2, num_classes=C), optax.smooth_labels(one_hot, 0.2))


class _SeedFocalLoss(torch.nn.Module):
    """Seed 002's FocalLoss, as the seed gives it."""

    def __init__(self, alpha=1, gamma=2):
        super().__init__()
        self.alpha = alpha
        self.gamma = gamma

    def forward(self, inputs, targets):
        ce_loss = F.cross_entropy(inputs, targets, reduction="none")
        pt = torch.exp(-ce_loss)
        focal_loss = self.alpha * (1 - pt) ** self.gamma * ce_loss
        return focal_loss.mean()


@pytest.mark.parametrize(("alpha", "gamma"), [(1, 2), (0.25, 2), (0.5, 0.5), (1, 0)])
def test_softmax_focal_matches_seed_002(alpha, gamma):
    rng = np.random.default_rng(12)
    x = 3 * rng.normal(size=(32, C))
    y = rng.integers(0, C, size=32)
    ours = jax_value_grad(
        jaxloss.softmax_focal_loss, x.astype(np.float32), jnp.asarray(y), alpha=alpha, gamma=gamma
    )
    ref = torch_value_grad(_SeedFocalLoss(alpha, gamma), x, to_torch(y))
    assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_softmax_focal_per_class_alpha_and_ignore_against_numpy():
    rng = np.random.default_rng(13)
    x = 3 * rng.normal(size=(10, C))
    y = random_labels((10,), rng)
    alpha = rng.uniform(0.1, 1.0, size=C)
    logp = x - np.log(np.exp(x).sum(-1, keepdims=True))
    keep = y != -100
    ce = -logp[np.arange(10), np.where(keep, y, 0)]
    ref = alpha[np.where(keep, y, 0)] * (1 - np.exp(-ce)) ** 2 * ce
    ours = jaxloss.softmax_focal_loss(x.astype(np.float32), y, alpha=alpha, reduction="none")
    assert_close(ours, np.where(keep, ref, 0.0), rtol=1e-5, atol=1e-6)
    assert_close(jaxloss.softmax_focal_loss(x, y, alpha=alpha), ref[keep].mean(), rtol=1e-5)


# ----------------------------------------------------------------- must never break


def _ce_like():
    return [
        lambda x, y, **kw: jaxloss.cross_entropy(x, y, **kw),
        lambda x, y, **kw: jaxloss.cross_entropy(x, y, label_smoothing=0.1, **kw),
        lambda x, y, **kw: jaxloss.cross_entropy(
            x, y, weight=jnp.arange(1.0, C + 1), label_smoothing=0.2, **kw
        ),
        lambda x, y, **kw: jaxloss.nll_loss(
            jax.nn.log_softmax(x), y, weight=jnp.arange(1.0, C + 1), **kw
        ),
        lambda x, y, **kw: jaxloss.softmax_focal_loss(x, y, alpha=jnp.ones(C), **kw),
        lambda x, y, **kw: jaxloss.poly1_cross_entropy(x, y, **kw),
    ]


@pytest.mark.parametrize("k", range(6))
def test_all_targets_ignored_gives_zero_and_zero_gradient(k):
    fn = _ce_like()[k]
    x = jnp.asarray(np.random.default_rng(14).normal(size=(4, 3, C)), jnp.float32)
    y = jnp.full((4, 3), -100)
    value, grad = jax.value_and_grad(lambda a: fn(a, y))(x)
    assert float(value) == 0.0 and np.all(np.asarray(grad) == 0)
    assert float(fn(x, y, reduction="sum")) == 0.0
    assert np.isnan(
        F.cross_entropy(
            to_torch(np.asarray(x)).reshape(-1, C), to_torch(np.asarray(y)).reshape(-1).long()
        ).item()
    )  # torch: NaN


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_masked_vocabulary_minus_inf_logits(smoothing):
    rng = np.random.default_rng(15)
    x = rng.normal(size=(6, C)).astype(np.float32)
    y = rng.integers(0, C, size=6)
    x[np.arange(6), (y + 1) % C] = -np.inf
    x[np.arange(6), (y + 2) % C] = -np.inf
    value, grad = jax.value_and_grad(
        lambda a: jaxloss.cross_entropy(a, y, label_smoothing=smoothing)
    )(jnp.asarray(x))
    assert np.isfinite(float(value)) and np.all(np.isfinite(grad))
    # equals the loss over the unmasked classes only
    keep = np.isfinite(x)
    logp = np.where(keep, x - np.log(np.where(keep, np.exp(x), 0).sum(-1, keepdims=True)), 0.0)
    nll = -logp[np.arange(6), y]
    ref = (1 - smoothing) * nll + smoothing * (-logp.sum(-1)) / C
    assert_close(value, ref.mean(), rtol=1e-5)


def test_extreme_logits_and_huge_offset():
    x = jnp.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    y = jnp.array([1, 1])
    value, grad = jax.value_and_grad(lambda a: jaxloss.cross_entropy(a, y))(x)
    assert_close(value, 1e4, rtol=1e-6)
    assert np.all(np.isfinite(grad))
    uniform = jnp.full((3, 7), 1e8, jnp.float32)
    assert_close(jaxloss.cross_entropy(uniform, jnp.array([0, 3, 6])), np.log(7), rtol=1e-6)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_low_precision_logits(dtype):
    rng = np.random.default_rng(16)
    x = jnp.asarray(3 * rng.normal(size=(16, C)), dtype)
    y = jnp.asarray(rng.integers(0, C, size=16))
    ref = jaxloss.cross_entropy(x.astype(jnp.float32), y, label_smoothing=0.1)
    low = jaxloss.cross_entropy(x, y, label_smoothing=0.1)
    assert low.dtype == jnp.float32
    assert_close(low, ref, rtol=1e-6)
    assert jax.grad(lambda a: jaxloss.cross_entropy(a, y))(x).dtype == dtype


@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0, 2.0, 2.5])
def test_focal_gradients_finite_at_confident_logits(gamma):
    logits = jnp.array([[1e4, 0.0, 0.0], [50.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    labels = jnp.array([0, 0, 2])
    g = jax.grad(lambda a: jaxloss.softmax_focal_loss(a, labels, gamma=gamma))(logits)
    assert np.all(np.isfinite(g))
    if gamma >= 2:
        h = jax.hessian(lambda a: jaxloss.softmax_focal_loss(a, labels, gamma=gamma))(logits)
        assert np.all(np.isfinite(h))


@pytest.mark.parametrize("bad", [-1, C])
def test_invalid_label_is_nan_and_checked_names_it(bad):
    x = jnp.zeros((3, C))
    y = jnp.array([0, bad, 2])
    assert np.isnan(float(jaxloss.cross_entropy(x, y)))
    per_element = np.asarray(jaxloss.cross_entropy(x, y, reduction="none"))
    assert np.isnan(per_element[1]) and np.all(np.isfinite(per_element[[0, 2]]))
    with pytest.raises(
        Exception,
        match=rf"jaxloss\.cross_entropy: targets must be a class index in \[0, {C}\) or ignore_index; got {bad} at flat index 1",
    ):
        jaxloss.checked(jaxloss.cross_entropy)(x, y)


@pytest.mark.parametrize(
    ("call_", "error", "message"),
    [
        (
            lambda: jaxloss.cross_entropy(jnp.zeros((4, C)), jnp.zeros(3, int)),
            ValueError,
            f"jaxloss.cross_entropy: targets has shape (3,) but logits has shape (4, {C}); integer targets must have shape (4,)",
        ),
        (
            lambda: jaxloss.cross_entropy(jnp.zeros((4, C)), jnp.zeros((4, C + 1))),
            ValueError,
            f"jaxloss.cross_entropy: targets has shape (4, {C + 1}) but logits has shape (4, {C}); probability targets must have shape (4, {C})",
        ),
        (
            lambda: jaxloss.cross_entropy(jnp.zeros((4, C)), jnp.zeros(4)),
            ValueError,
            f"jaxloss.cross_entropy: targets has shape (4,) but logits has shape (4, {C}); probability targets must have shape (4, {C}) (or integer class indices of shape (4,))",
        ),
        (
            lambda: jaxloss.cross_entropy(
                jnp.zeros((4, C)), jnp.zeros(4, int), label_smoothing=1.5
            ),
            ValueError,
            "jaxloss.cross_entropy: label_smoothing must be in [0.0, 1.0]; got 1.5",
        ),
        (
            lambda: jaxloss.cross_entropy(
                jnp.zeros((4, C)), jnp.zeros(4, int), weight=jnp.ones(C + 2)
            ),
            ValueError,
            f"jaxloss.cross_entropy: weight must have shape ({C},), one per class; got ({C + 2},)",
        ),
        (
            lambda: jaxloss.nll_loss(jnp.zeros((4, C)), jnp.zeros(4)),
            TypeError,
            "jaxloss.nll_loss: targets must be integer class indices; got dtype float32",
        ),
        (
            lambda: jaxloss.softmax_focal_loss(jnp.zeros((2, C)), jnp.zeros(2, int), gamma=-0.5),
            ValueError,
            "jaxloss.softmax_focal_loss: gamma must be in [0.0, inf]; got -0.5",
        ),
        (
            lambda: jaxloss.softmax_focal_loss(
                jnp.zeros((2, C)), jnp.zeros(2, int), alpha=jnp.ones(3)
            ),
            ValueError,
            f"jaxloss.softmax_focal_loss: alpha must have shape ({C},), one per class; got (3,)",
        ),
        (
            lambda: jaxloss.smooth_labels(jnp.zeros(3, int), 0.1),
            ValueError,
            "jaxloss.smooth_labels: num_classes is required for integer targets",
        ),
    ],
)
def test_trace_time_errors(call_, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call_()
    with pytest.raises(error, match=re.escape(message)):
        jax.jit(lambda: call_())()


def test_masked_vocabulary_with_class_weights_and_smoothing_against_numpy():
    rng = np.random.default_rng(17)
    x = rng.normal(size=(6, C))
    y = rng.integers(0, C, size=6)
    x[np.arange(6), (y + 1) % C] = -np.inf
    w = rng.uniform(0.5, 2.0, size=C)
    eps = 0.3
    keep = np.isfinite(x)
    lse = np.log(np.where(keep, np.exp(np.where(keep, x, 0)), 0).sum(-1))
    neg_logp = np.where(keep, lse[:, None] - np.where(keep, x, 0), 0.0)
    per_row = (1 - eps) * w[y] * neg_logp[np.arange(6), y] + eps * (w * neg_logp).sum(-1) / C
    ours, grad = jax.value_and_grad(
        lambda a: jaxloss.cross_entropy(a, y, weight=w, label_smoothing=eps)
    )(jnp.asarray(x, jnp.float32))
    assert_close(ours, per_row.sum() / w[y].sum(), rtol=1e-5)
    assert np.all(np.isfinite(grad)) and np.all(np.asarray(grad)[~keep] == 0)
    # the same rows without the masked classes give the same per-row loss as the fast path
    finite_only = jaxloss.cross_entropy(
        jnp.asarray(np.where(keep, x, -1e30), jnp.float32),
        y,
        weight=w,
        label_smoothing=eps,
        reduction="none",
    )
    assert np.all(
        np.asarray(finite_only)
        > np.asarray(
            jaxloss.cross_entropy(
                jnp.asarray(x, jnp.float32), y, weight=w, label_smoothing=eps, reduction="none"
            )
        )
    )


# ----------------------------------------------------------------- class_weights


def _torch_weighted_rows(name, x, q, w, counted, options):
    """float64 torch: the per-row loss of ``name`` under one-hot or probability
    rows ``q``, times the target class weight ``q @ w``, 0 where not counted."""
    logp = torch.log_softmax(x, -1)
    if name == "softmax_focal_loss":
        eps, alpha = options["label_smoothing"], to_torch(options["alpha"])
        terms = alpha * (1 - logp.exp()) ** options["gamma"] * -logp
        per_row = (1 - eps) * (q * terms).sum(-1) + eps * terms.sum(-1) / C
    else:
        per_row = -(q * logp).sum(-1) + options["epsilon"] * (1 - (q * logp.exp()).sum(-1))
    return torch.where(to_torch(counted), per_row * (q @ to_torch(w)), 0.0)


@pytest.mark.parametrize(
    ("name", "kind", "options"),
    [
        (
            "softmax_focal_loss",
            "int",
            {"gamma": 2.0, "alpha": np.linspace(0.5, 1.5, C), "label_smoothing": 0.1},
        ),
        ("poly1_cross_entropy", "int", {"epsilon": 2.0}),
        ("poly1_cross_entropy", "probs", {"epsilon": -0.5}),
    ],
)
def test_class_weights_rescale_by_the_target_class_against_torch(name, kind, options):
    """``class_weights`` multiplies each row by w[y] (sum_c q_c w_c for probability
    targets), independently of focal's alpha; the mean still divides by the number
    of counted rows. Ignored and masked rows stay 0."""
    rng = np.random.default_rng(30)
    lead = (3, 4)
    x = 3 * rng.normal(size=(*lead, C))
    w = rng.uniform(0.2, 3.0, size=C)
    keep = np.ones(lead, bool)
    keep[1, 2] = False  # a row masked by where
    if kind == "int":
        y = random_labels(lead, rng)  # every fourth ignored
        counted = keep & (y != -100)
        targets, q = jnp.asarray(y), F.one_hot(torch.tensor(np.where(counted, y, 0)), C).double()
    else:
        probs = rng.dirichlet(np.ones(C), size=lead)
        counted = keep
        targets, q = jnp.asarray(probs, jnp.float32), to_torch(probs)
    fn = getattr(jaxloss, name)

    @jax.jit
    def run(a):  # every reduction's value and gradient, one compilation
        kwargs = {"class_weights": w, "where": keep, **options}
        return [jax_value_grad(fn, a, targets, reduction=r, **kwargs) for r in REDUCTIONS]

    for reduction, ours in zip(REDUCTIONS, run(x.astype(np.float32)), strict=True):
        tx = to_torch(x, grad=True)
        rows = _torch_weighted_rows(name, tx, q, w, counted, options)
        ref = {"none": rows, "sum": rows.sum(), "mean": rows.sum() / counted.sum()}[reduction]
        ref.sum().backward()
        assert tx.grad is not None
        assert_close(ours, (ref.detach().numpy(), tx.grad.numpy()), rtol=1e-5, atol=1e-6)
