"""Pair and triplet losses: torch parity, and the seeds' contrastive loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from embedding_testing import (
    assert_raises_eagerly_and_under_jit,
    rows,
    torch_leaf,
    torch_value_and_grads,
    value_and_grads,
)
from helpers import assert_close

import jaxloss

# ----------------------------------------------------------------- torch parity


@pytest.mark.parametrize("reduction", ("mean", "sum", "none"))
@pytest.mark.parametrize(
    ("p", "swap", "margin", "eps"),
    [
        (2.0, False, 1.0, 1e-6),
        (1.0, True, 0.5, 1e-6),
        (3.0, False, 2.0, 0.0),
        (2.0, True, 0.1, 1e-3),
    ],
)
def test_triplet_margin_matches_torch(p, swap, margin, eps, reduction):
    rng = np.random.default_rng(int(p * 10) + swap)
    arrays = [rows(rng, 12, 7) for _ in range(3)]
    kw = {"margin": margin, "p": p, "eps": eps, "swap": swap, "reduction": reduction}
    ours = value_and_grads(jaxloss.triplet_margin_loss, arrays, 3, **kw)
    ref = torch_value_and_grads(lambda a, b, c: F.triplet_margin_loss(a, b, c, **kw), arrays, 3)
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)


def test_triplet_with_distance_matches_torch():
    rng = np.random.default_rng(1)
    arrays = [rows(rng, 10, 5) for _ in range(3)]
    ours = value_and_grads(jaxloss.triplet_margin_with_distance_loss, arrays, 3, swap=True)
    ref = torch_value_and_grads(
        lambda a, b, c: F.triplet_margin_with_distance_loss(a, b, c, swap=True), arrays, 3
    )
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)

    def cosine(x, y):
        return 1 - jnp.sum(x * y, -1) / jnp.sqrt(jnp.sum(x * x, -1) * jnp.sum(y * y, -1))

    ours = value_and_grads(
        jaxloss.triplet_margin_with_distance_loss, arrays, 3, distance_function=cosine, margin=0.3
    )
    ref = torch_value_and_grads(
        lambda a, b, c: F.triplet_margin_with_distance_loss(
            a,
            b,
            c,
            distance_function=lambda x, y: 1 - F.cosine_similarity(x, y, eps=0.0),
            margin=0.3,
        ),
        arrays,
        3,
    )
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("margin", (0.0, 0.3, -0.2))
def test_cosine_embedding_and_margin_ranking_match_torch(margin):
    rng = np.random.default_rng(2)
    x1, x2 = rows(rng, 9, 4), rows(rng, 9, 4)
    x2[0] = 0.0  # a zero vector
    y = np.where(rng.random(9) < 0.5, 1, -1)
    y[0] = 1  # the zero vector's pair: -1 would sit on the hinge's kink at cos = 0 = margin
    ours = value_and_grads(
        jaxloss.cosine_embedding_loss, [x1, x2, y], 2, margin=margin, reduction="none"
    )
    ref = torch_value_and_grads(
        lambda a, b, c: F.cosine_embedding_loss(
            a, b, torch.tensor(c), margin=margin, reduction="none"
        ),
        [x1, x2, y],
        2,
    )
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)
    s1, s2 = rng.standard_normal(9), rng.standard_normal(9)
    ours = value_and_grads(jaxloss.margin_ranking_loss, [s1, s2, y], 2, margin=margin)
    ref = torch_value_and_grads(
        lambda a, b, c: F.margin_ranking_loss(
            a, b, torch.tensor(c, dtype=torch.float64), margin=margin
        ),
        [s1, s2, y],
        2,
    )
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)


def test_cosine_embedding_invalid_target_is_nan():
    value = jaxloss.cosine_embedding_loss(
        jnp.ones((2, 3)), jnp.ones((2, 3)), jnp.array([1, 0]), reduction="none"
    )
    assert np.isnan(value[1]) and np.isfinite(value[0])


def test_cosine_similarity_loss_matches_sentence_transformers_formula():
    rng = np.random.default_rng(3)
    x1, x2, s = rows(rng, 8, 6), rows(rng, 8, 6), rng.uniform(-1, 1, 8)
    ours = value_and_grads(jaxloss.cosine_similarity_loss, [x1, x2, s], 2)
    ref = torch_value_and_grads(
        lambda a, b, c: F.mse_loss(F.cosine_similarity(a, b), torch.tensor(c)), [x1, x2, s], 2
    )
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------- the seeds' contrastive loss


def _seed_001(embedding1, embedding2, label, margin=1.0):
    """Seed 001's function, as printed."""
    distance = np.sqrt(np.sum((embedding1 - embedding2) ** 2))
    if label == 1:
        return 0.5 * distance**2
    return 0.5 * max(0, margin - distance) ** 2


def test_contrastive_matches_seed_001_and_seed_002():
    rng = np.random.default_rng(4)
    x1, x2 = rows(rng, 10, 3) * 0.4, rows(rng, 10, 3) * 0.4
    similar = rng.random(10) < 0.5
    for margin in (1.0, 2.5):
        expected = [
            _seed_001(a, b, int(s), margin) for a, b, s in zip(x1, x2, similar, strict=True)
        ]
        got = jaxloss.contrastive_loss(
            jnp.asarray(x1), jnp.asarray(x2), similar, margin=margin, reduction="none"
        )
        assert_close(got, np.asarray(expected), rtol=1e-5)
    # seed 002's class: label 0 = similar, no 1/2 factor, torch's pairwise_distance (eps 1e-6)
    t1, t2 = torch_leaf(x1), torch_leaf(x2)
    label = torch.tensor((~similar).astype(np.float64))
    d = F.pairwise_distance(t1, t2)
    seed_002 = torch.mean((1 - label) * d**2 + label * torch.clamp(1.0 - d, min=0.0) ** 2)
    assert_close(
        2 * jaxloss.contrastive_loss(jnp.asarray(x1), jnp.asarray(x2), similar),
        seed_002.item(),
        rtol=1e-4,
    )
    # the seed's example: a near pair (similar) and a far pair (dissimilar)
    e1 = np.array([1.0, 2.0, 3.0])
    near, far = np.array([1.1, 2.1, 2.9]), np.array([5.0, 6.0, 7.0])
    got = jaxloss.contrastive_loss(
        jnp.asarray([e1, e1]), jnp.asarray([near, far]), jnp.array([True, False]), reduction="none"
    )
    assert_close(got, np.array([_seed_001(e1, near, 1), _seed_001(e1, far, 0)]), rtol=1e-5)


def test_contrastive_plain_form_and_zero_distance():
    x = jnp.array([[1.0, 2.0], [0.0, 0.0]])
    y = jnp.array([[1.0, 2.0], [0.3, 0.4]])
    plain = jaxloss.contrastive_loss(
        x, y, jnp.array([True, False]), squared=False, reduction="none"
    )
    assert_close(plain, np.array([0.0, 0.5]))
    g = jax.grad(lambda a: jaxloss.contrastive_loss(a, y, jnp.array([True, True])))(x)
    assert np.all(np.isfinite(g))


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call_", "message"),
    [
        (lambda: jaxloss.triplet_margin_loss(jnp.zeros((4, 3)), jnp.zeros((4, 3)), jnp.zeros((4, 5))),
         "jaxloss.triplet_margin_loss: negatives has shape (4, 5) but anchors has shape (4, 3); they must be equal"),
        (lambda: jaxloss.contrastive_loss(jnp.zeros((4, 3)), jnp.zeros((4, 3)), jnp.zeros(3, bool)),
         "jaxloss.contrastive_loss: similar has shape (3,); expected (4,), one per row"),
        (lambda: jaxloss.cosine_embedding_loss(jnp.zeros((4, 3)), jnp.zeros((4, 3)), jnp.ones(3)),
         "jaxloss.cosine_embedding_loss: targets has shape (3,); expected (4,), one per row"),
        (lambda: jaxloss.margin_ranking_loss(jnp.zeros(4), jnp.zeros(4), jnp.ones(3)),
         "jaxloss.margin_ranking_loss: targets has shape (3,); expected (4,), one per row"),
        (lambda: jaxloss.cosine_similarity_loss(jnp.zeros((4, 3)), jnp.zeros((4, 3)), jnp.ones(3)),
         "jaxloss.cosine_similarity_loss: targets has shape (3,); expected (4,), one per row"),
    ],
)  # fmt: skip
def test_errors(call_, message):
    assert_raises_eagerly_and_under_jit(call_, message)
