"""ArcFace, CosFace and Proxy-Anchor: float64 torch re-implementations of
pytorch-metric-learning's (and InsightFace's) code, values and gradients."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from embedding_testing import (
    assert_raises_eagerly_and_under_jit,
    rows,
    torch_value_and_grads,
    value_and_grads,
)
from helpers import assert_close

import jaxloss

B, C, D = 10, 4, 5


def margin_softmax_reference(kind, scale, margin, weight=None, where=None):
    """PML's LargeMarginSoftmaxLoss.compute_loss with ArcFaceLoss's (margin in
    radians) or CosFaceLoss's modify_cosine_of_target_classes."""

    def reference(x, w, labels):
        labels = torch.as_tensor(labels)
        cosine = F.normalize(x, dim=1) @ F.normalize(w, dim=1).T
        mask = F.one_hot(labels, C).to(x.dtype)
        target = cosine[mask == 1]
        if kind == "arcface":
            angles = torch.acos(torch.clamp(target, -1, 1))
            modified = torch.where(
                angles <= math.pi - margin,
                torch.cos(angles + margin),
                torch.cos(angles) - margin * math.sin(margin),
            )
        else:
            modified = target - margin
        logits = (cosine + mask * (modified - target).unsqueeze(1)) * scale
        loss = F.cross_entropy(logits, labels, reduction="none")
        if where is None:
            return loss.mean()
        keep = torch.as_tensor(where, dtype=x.dtype)
        return (loss * torch.as_tensor(weight) * keep).sum() / keep.sum()

    return reference


@pytest.mark.parametrize(
    ("fn", "kind", "scale", "margin"),
    [
        (jaxloss.arcface_loss, "arcface", 64.0, 0.5),
        (jaxloss.arcface_loss, "arcface", 8.0, 2.5),  # theta + m past pi for many rows
        (jaxloss.cosface_loss, "cosface", 30.0, 0.35),
    ],
)
def test_margin_softmax_matches_pml(fn, kind, scale, margin):
    rng = np.random.default_rng(0)
    x, w = rows(rng, B, D), rows(rng, C, D)
    labels = rng.integers(0, C, B)
    weight, where = rng.uniform(0.5, 2.0, B), np.arange(B) % 3 != 1
    with jax.enable_x64(True):
        ours = value_and_grads(
            lambda a, c: fn(a, jnp.asarray(labels), c, scale=scale, margin=margin), [x, w], 2
        )
        masked = value_and_grads(
            lambda a, c: fn(
                a, jnp.asarray(labels), c, scale=scale, margin=margin,
                weight=jnp.asarray(weight), where=jnp.asarray(where),
            ),
            [x, w],
            2,
        )  # fmt: skip
    peer = torch_value_and_grads(
        lambda a, c: margin_softmax_reference(kind, scale, margin)(a, c, labels), [x, w], 2
    )
    peer_masked = torch_value_and_grads(
        lambda a, c: margin_softmax_reference(kind, scale, margin, weight, where)(a, c, labels),
        [x, w],
        2,
    )
    assert_close(ours, peer, rtol=1e-9, atol=1e-11)
    assert_close(masked, peer_masked, rtol=1e-9, atol=1e-11)


def test_arcface_at_cosine_one_and_minus_one_is_finite_and_exact():
    """Rows exactly on their class (cos = 1, acos has an infinite slope there) and
    exactly opposite (cos = -1, theta + m > pi takes InsightFace's fallback)."""
    w = jnp.eye(3, 4)
    x = jnp.stack([w[0], -w[1], 2.0 * w[2], jnp.zeros(4)])
    labels = jnp.array([0, 1, 2, 0])
    m, s = 0.5, 64.0
    value, grads = jax.jit(
        lambda a, c: (
            jaxloss.arcface_loss(a, labels, c, scale=s, margin=m, reduction="none"),
            jax.grad(
                lambda a, c: jaxloss.arcface_loss(a, labels, c, scale=s, margin=m),
                argnums=(0, 1),
            )(a, c),
        )
    )(x, w)
    assert all(np.all(np.isfinite(g)) for g in grads)
    on, opposite = math.cos(m), -1.0 - m * math.sin(m)  # psi(0), psi(pi)
    zero_row = math.cos(math.pi / 2 + m)  # the zero vector: cosine 0, theta = pi / 2
    expected = [
        -np.log(np.exp(s * on) / (np.exp(s * on) + 2.0)),
        -np.log(np.exp(s * opposite) / (np.exp(s * opposite) + 2.0)),
        -np.log(np.exp(s * on) / (np.exp(s * on) + 2.0)),
        -np.log(np.exp(s * zero_row) / (np.exp(s * zero_row) + 2.0)),
    ]
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-5)


def proxy_anchor_reference(margin, alpha, where=None):
    """PML's ProxyAnchorLoss.compute_loss (lmu.logsumexp with add_one=True and its
    DivisorReducer), without miner weights or regulariser."""

    def reference(x, p, labels):
        labels = torch.as_tensor(labels)
        keep = (
            torch.ones(len(labels), dtype=torch.bool) if where is None else torch.as_tensor(where)
        )
        cos = F.normalize(x, dim=1) @ F.normalize(p, dim=1).T
        pos = F.one_hot(labels, C).bool() & keep[:, None]
        neg = ~F.one_hot(labels, C).bool() & keep[:, None]

        def lse_add_one(v, mask):
            v = v.masked_fill(~mask, -torch.inf)
            v = torch.cat([v, torch.zeros(1, v.shape[1], dtype=v.dtype)], 0)
            return torch.logsumexp(v, 0)

        pos_term = lse_add_one(alpha * (margin - cos), pos)
        neg_term = lse_add_one(alpha * (cos + margin), neg)
        with_pos = (pos.sum(0) != 0).sum()
        return pos_term.sum() / with_pos + neg_term.sum() / C

    return reference


def test_proxy_anchor_matches_pml_with_a_mask_and_an_empty_class():
    rng = np.random.default_rng(1)
    x, p = rows(rng, B, D), rows(rng, C, D)
    labels = rng.integers(0, C - 1, B)  # the last proxy has no positive
    where = np.arange(B) % 4 != 2
    with jax.enable_x64(True):
        ours = value_and_grads(
            lambda a, c, m: jaxloss.proxy_anchor_loss(a, jnp.asarray(labels), c, where=m),
            [x, p, where],
            2,
        )
        ours_sum = jax.jit(
            lambda a, c: jaxloss.proxy_anchor_loss(
                a, jnp.asarray(labels), c, margin=0.3, alpha=8.0, reduction="sum"
            )
        )(x, p)
    peer = torch_value_and_grads(
        lambda a, c: proxy_anchor_reference(0.1, 32.0, where)(a, c, labels), [x, p], 2
    )
    assert_close(ours, peer, rtol=1e-9, atol=1e-11)
    peer_sum = proxy_anchor_reference(0.3, 8.0)(torch.tensor(x), torch.tensor(p), labels)
    assert_close(ours_sum, peer_sum.numpy(), rtol=1e-9, atol=1e-11)


def test_proxy_anchor_bad_label_is_nan_and_masked_bad_label_is_not():
    x, p = jnp.ones((3, 2)), jnp.eye(2)
    loss = jax.jit(lambda y, m: jaxloss.proxy_anchor_loss(x, y, p, where=m))
    assert np.isnan(loss(jnp.array([0, 5, 1]), jnp.ones(3, bool)))
    assert np.isfinite(loss(jnp.array([0, 5, 1]), jnp.array([True, False, True])))


@pytest.mark.parametrize(
    ("call_", "message"),
    [
        (lambda: jaxloss.arcface_loss(jnp.zeros((4, 3)), jnp.zeros(4, int), jnp.zeros((5, 2))),
         "jaxloss.arcface_loss: class_embeddings must be [C, D] with C >= 1 and D = 3 (the embeddings' size); got shape (5, 2)"),
        (lambda: jaxloss.arcface_loss(jnp.zeros((4, 3)), jnp.zeros(4, int), jnp.zeros((5, 3)), margin=4.0),
         "jaxloss.arcface_loss: margin must be in [0.0, 3.14159"),
        (lambda: jaxloss.proxy_anchor_loss(jnp.zeros((4, 3)), jnp.zeros(3, int), jnp.zeros((5, 3))),
         "jaxloss.proxy_anchor_loss: labels has shape (3,); expected (4,), one per row"),
    ],
)  # fmt: skip
def test_errors(call_, message):
    assert_raises_eagerly_and_under_jit(call_, message)


def test_float_labels_raise_a_type_error():
    with pytest.raises(TypeError, match=r"jaxloss\.cosface_loss: labels must be integer class ids"):
        jaxloss.cosface_loss(jnp.zeros((4, 3)), jnp.zeros(4), jnp.zeros((5, 3)))


def test_proxy_anchor_has_no_unreduced_form():
    with pytest.raises(ValueError, match=r"jaxloss\.proxy_anchor_loss: reduction"):
        jaxloss.proxy_anchor_loss(
            jnp.zeros((4, 3)), jnp.zeros(4, int), jnp.eye(3), reduction="none"
        )
