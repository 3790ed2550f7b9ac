"""In-batch losses: torch float64 references written from each loss's formula,
and optax for NT-Xent."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from embedding_testing import (
    assert_raises_eagerly_and_under_jit,
    assert_sharded_equals_global,
    cos_matrix,
    rows,
    torch_value_and_grads,
    value_and_grads,
)
from helpers import assert_close

import jaxloss

# ----------------------------------------------------------------- in-batch negatives


def test_multiple_negatives_ranking_matches_sentence_transformers_formula():
    rng = np.random.default_rng(7)
    a, p, n = rows(rng, 8, 5), rows(rng, 8, 5), rows(rng, 8, 2, 5)

    def reference(a, p, n=None):
        candidates = p if n is None else torch.cat([p, n.reshape(-1, 5)])
        return F.cross_entropy(20.0 * cos_matrix(a, candidates), torch.arange(8))

    # float64: a scale of 20 leaves float32 gradients only ~1e-5 from the reference
    with jax.enable_x64(True):
        plain = value_and_grads(jaxloss.multiple_negatives_ranking_loss, [a, p], 2)
        ours = value_and_grads(
            lambda x, y, z: jaxloss.multiple_negatives_ranking_loss(x, y, negatives=z),
            [a, p, n],
            3,
        )
    assert_close(plain, torch_value_and_grads(reference, [a, p], 2), rtol=1e-9, atol=1e-11)
    assert_close(ours, torch_value_and_grads(reference, [a, p, n], 3), rtol=1e-9, atol=1e-11)


def test_info_nce_matches_reference_in_all_three_modes():
    rng = np.random.default_rng(8)
    q, k = rows(rng, 6, 4), rows(rng, 6, 4)
    shared, paired = rows(rng, 5, 4), rows(rng, 6, 3, 4)
    tau = 0.3

    def reference(q, k, neg=None):
        qn, kn = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        if neg is None:
            return F.cross_entropy(qn @ kn.T / tau, torch.arange(6))
        neg = F.normalize(neg, dim=-1)
        negative = qn @ neg.T if neg.dim() == 2 else torch.einsum("bd,bmd->bm", qn, neg)
        logits = torch.cat([(qn * kn).sum(-1, keepdim=True), negative], 1) / tau
        return F.cross_entropy(logits, torch.zeros(6, dtype=torch.long))

    assert_close(
        value_and_grads(jaxloss.info_nce_loss, [q, k], 2, temperature=tau),
        torch_value_and_grads(reference, [q, k], 2),
        rtol=1e-5,
        atol=1e-7,
    )
    for neg in (shared, paired):
        ours = value_and_grads(
            lambda a, b, c: jaxloss.info_nce_loss(a, b, negative_keys=c, temperature=tau),
            [q, k, neg],
            3,
        )
        assert_close(ours, torch_value_and_grads(reference, [q, k, neg], 3), rtol=1e-5, atol=1e-7)


def test_clip_matches_reference_with_a_learnable_scale():
    rng = np.random.default_rng(9)
    u, v = rows(rng, 7, 6), rows(rng, 7, 6)

    def reference(u, v, scale):
        logits = scale * cos_matrix(u, v)
        target = torch.arange(7)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2

    ours = value_and_grads(lambda a, b, s: jaxloss.clip_loss(a, b, logit_scale=s), [u, v, 14.0], 3)
    assert_close(ours, torch_value_and_grads(reference, [u, v, 14.0], 3), rtol=1e-5, atol=1e-7)


def test_ntxent_matches_optax_and_supcon_matches_reference():
    rng = np.random.default_rng(10)
    z = rows(rng, 12, 5)
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5])  # a triple and a loner
    ours = value_and_grads(
        lambda x: jaxloss.ntxent_loss(x, jnp.asarray(labels), temperature=0.3), [z], 1
    )
    peer = value_and_grads(
        lambda x: optax.losses.ntxent(x, jnp.asarray(labels), temperature=0.3), [z], 1
    )
    assert_close(ours, peer, rtol=1e-5, atol=1e-7)

    def supcon(x):
        s = cos_matrix(x, x) / 0.3
        eye = torch.eye(12, dtype=torch.bool)
        same = torch.tensor(labels[:, None] == labels[None, :]) & ~eye
        log_prob = s - torch.logsumexp(s.masked_fill(eye, -torch.inf), 1, keepdim=True)
        count = same.sum(1)
        per_anchor = -(log_prob * same).sum(1) / count.clamp_min(1)
        return per_anchor[count > 0].mean()

    ours = value_and_grads(
        lambda x: jaxloss.supervised_contrastive_loss(x, jnp.asarray(labels), temperature=0.3),
        [z],
        1,
    )
    assert_close(ours, torch_value_and_grads(supcon, [z], 1), rtol=1e-5, atol=1e-7)


def test_cosent_matches_sentence_transformers_formula():
    rng = np.random.default_rng(11)
    x1, x2 = rows(rng, 9, 4), rows(rng, 9, 4)
    scores = rng.integers(0, 4, 9).astype(np.float64)

    def reference(a, b):
        s = F.cosine_similarity(a, b) * 20.0
        diff = s[None, :] - s[:, None]
        keep = torch.tensor(scores[:, None] > scores[None, :])
        diff = diff - (~keep) * 1e12
        return torch.logsumexp(torch.cat([torch.zeros(1, dtype=torch.float64), diff.view(-1)]), 0)

    ours = value_and_grads(lambda a, b: jaxloss.cosent_loss(a, b, jnp.asarray(scores)), [x1, x2], 2)
    assert_close(ours, torch_value_and_grads(reference, [x1, x2], 2), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    ("fn", "kwargs"),
    [
        (jaxloss.clip_loss, {"logit_scale": 100.0}),
        (jaxloss.multiple_negatives_ranking_loss, {}),
        (jaxloss.info_nce_loss, {"temperature": 0.01}),
    ],
)
def test_identical_and_zero_embeddings_at_low_temperature(fn, kwargs):
    x = jnp.ones((6, 4)).at[2].set(0.0)
    value, grads = jax.value_and_grad(lambda a, b: fn(a, b, **kwargs), argnums=(0, 1))(x, x)
    assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)


# ----------------------------------------------------------------- devices


@pytest.mark.parametrize(
    ("fn", "kind"),
    [
        (jaxloss.multiple_negatives_ranking_loss, "negatives"),
        (jaxloss.supervised_contrastive_loss, "labelled"),
    ],
    ids=["mnrl_negatives", "supcon"],
)
def test_options_under_shard_map_equal_the_global_batch(fn, kind):
    assert_sharded_equals_global(fn, kind, {})


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call_", "message"),
    [
        (lambda: jaxloss.clip_loss(jnp.zeros((4, 3)), jnp.zeros((4, 2))),
         "jaxloss.clip_loss: text_embeddings has shape (4, 2) but image_embeddings has shape (4, 3)"),
        (lambda: jaxloss.ntxent_loss(jnp.zeros((4, 3)), jnp.zeros(4, int), temperature=0.0),
         "jaxloss.ntxent_loss: temperature must be in (0.0, inf]; got 0.0"),
        (lambda: jaxloss.supervised_contrastive_loss(jnp.zeros((2, 4, 3)), jnp.zeros(2, int)),
         "jaxloss.supervised_contrastive_loss: embeddings must have rank 2; got shape (2, 4, 3)"),
        (lambda: jaxloss.info_nce_loss(jnp.zeros((4, 3)), jnp.zeros((4, 3)), negative_keys=jnp.zeros((4, 2))),
         "jaxloss.info_nce_loss: negative_keys must be [M, D] or [B, M, D] with B = 4 and D = 3; got shape (4, 2)"),
        (lambda: jaxloss.info_nce_loss(jnp.zeros((4, 3)), jnp.zeros((4, 2))),
         "jaxloss.info_nce_loss: positive_keys has shape (4, 2) but queries has shape (4, 3)"),
        (lambda: jaxloss.cosent_loss(jnp.zeros((4, 3)), jnp.zeros((4, 3)), jnp.ones(3)),
         "jaxloss.cosent_loss: targets has shape (3,); expected (4,), one per row"),
    ],
)  # fmt: skip
def test_errors(call_, message):
    assert_raises_eagerly_and_under_jit(call_, message)
