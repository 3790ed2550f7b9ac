"""Multi-Similarity, Circle and SigLIP: float64 torch re-implementations of
pytorch-metric-learning's and big_vision's code, values and gradients."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from embedding_testing import (
    assert_raises_eagerly_and_under_jit,
    assert_sharded_equals_global,
    cos_matrix,
    rows,
    torch_value_and_grads,
)
from helpers import assert_close

import jaxloss

LABELS = np.array([0, 0, 1, 1, 1, 2, 2, 3, 4, 4, 5, 5])  # 3 and a masked 4 are loners
WHERE = np.arange(12) != 9


def jax_value_and_grads(loss, arrays, n_diff=None):
    """Value and gradient of ``loss`` (summed) with respect to the first ``n_diff``
    arrays (all by default) in float64, in one compilation."""
    with jax.enable_x64(True):
        arrays = [jnp.asarray(a) for a in arrays]
        n = len(arrays) if n_diff is None else n_diff
        return jax.jit(
            lambda *a: (loss(*a), jax.grad(lambda *d: jnp.sum(loss(*d)), tuple(range(n)))(*a))
        )(*arrays)


def pml_masks(labels, where):
    """GenericPairLoss's masks (lmu.get_all_pairs_indices) on the unmasked rows."""
    keep = torch.as_tensor(where)
    same = torch.as_tensor(labels[:, None] == labels[None, :])
    valid = keep[:, None] & keep[None, :]
    pos = same & ~torch.eye(len(labels), dtype=torch.bool) & valid
    return pos, ~same & valid, keep


def lse(x, mask, add_one):
    """PML's lmu.logsumexp over dim 1: 0 for rows without a kept entry."""
    x = x.masked_fill(~mask, -torch.inf)
    if add_one:
        x = torch.cat([x, torch.zeros(x.shape[0], 1, dtype=x.dtype)], 1)
    out = torch.logsumexp(x, 1)
    return out.masked_fill(~mask.any(1), 0.0)


def multi_similarity_reference(alpha, beta, base, where):
    def reference(x):
        pos, neg, keep = pml_masks(LABELS, where)
        mat = cos_matrix(x, x)
        pos_loss = lse(alpha * (base - mat), pos, True) / alpha
        neg_loss = lse(beta * (mat - base), neg, True) / beta
        return (pos_loss + neg_loss)[keep].mean()  # MeanReducer over the rows kept

    return reference


def circle_reference(m, gamma, where):
    def reference(x):
        pos, neg, _ = pml_masks(LABELS, where)
        mat = cos_matrix(x, x)
        new_mat = torch.zeros_like(mat)
        new_mat[pos] = -gamma * torch.relu(1 + m - mat[pos].detach()) * (mat[pos] - (1 - m))
        new_mat[neg] = gamma * torch.relu(mat[neg].detach() + m) * (mat[neg] - m)
        losses = F.softplus(lse(new_mat, pos, False) + lse(new_mat, neg, False))
        losses = losses * (pos.any(1) & neg.any(1))
        return losses[losses > 0].mean()  # AvgNonZeroReducer

    return reference


@pytest.mark.parametrize("masked", [False, True])
def test_multi_similarity_and_circle_match_pml(masked):
    rng = np.random.default_rng(2)
    x = rows(rng, 12, 5)
    where = WHERE if masked else np.ones(12, bool)
    calls = [
        (lambda a, w: jaxloss.multi_similarity_loss(a, jnp.asarray(LABELS), where=w),
         multi_similarity_reference(2.0, 50.0, 0.5, where)),
        (lambda a, w: jaxloss.multi_similarity_loss(a, jnp.asarray(LABELS), alpha=3.0, beta=10.0, base=0.2, where=w),
         multi_similarity_reference(3.0, 10.0, 0.2, where)),
        (lambda a, w: jaxloss.circle_loss(a, jnp.asarray(LABELS), where=w),
         circle_reference(0.25, 256.0, where)),
        (lambda a, w: jaxloss.circle_loss(a, jnp.asarray(LABELS), margin=0.4, gamma=80.0, where=w),
         circle_reference(0.4, 80.0, where)),
    ]  # fmt: skip
    ours = jax_value_and_grads(
        lambda a, w: jnp.stack([f(a, w) for f, _ in calls]), [x, jnp.asarray(where)], 1
    )
    values = [torch_value_and_grads(ref, [x], 1) for _, ref in calls]
    assert_close(ours[0], np.stack([v for v, _ in values]), rtol=1e-9, atol=1e-11)
    assert_close(ours[1][0], sum(g[0] for _, g in values), rtol=1e-9, atol=1e-9)


def test_rows_without_positives_and_zero_vectors_are_finite():
    x = jnp.ones((6, 4)).at[2].set(0.0).at[3].multiply(1e3)
    labels = jnp.array([0, 0, 1, 2, 3, 3])  # 1 and 2 have no positive
    value, grads = jax.jit(
        lambda a: jax.value_and_grad(
            lambda b: jaxloss.multi_similarity_loss(b, labels) + jaxloss.circle_loss(b, labels)
        )(a)
    )(x)
    assert np.isfinite(value) and np.all(np.isfinite(grads))
    none = jax.jit(lambda a: jaxloss.circle_loss(a, labels, reduction="none"))(x)
    assert none[2] == 0 and none[3] == 0 and np.all(np.asarray(none)[[0, 1, 4, 5]] > 0)


def siglip_reference(x, y, t, b):
    """big_vision's sigmoid_loss on L2-normalised embeddings."""
    logits = cos_matrix(x, y) * t + b
    z = 2 * torch.eye(x.shape[0], dtype=x.dtype) - 1
    return -F.logsigmoid(z * logits).sum(-1)


def test_siglip_matches_big_vision_with_learnable_scale_and_bias():
    rng = np.random.default_rng(3)
    u, v = rows(rng, 7, 6), rows(rng, 7, 6)
    ours = jax_value_and_grads(
        lambda a, b, t, c: jnp.concatenate(
            [
                jaxloss.siglip_loss(a, b, logit_scale=t, logit_bias=c)[None],
                jaxloss.siglip_loss(a, b, logit_scale=t, logit_bias=c, reduction="none"),
            ]
        ),
        [u, v, 4.0, -3.0],
    )
    scale, bias = torch.tensor(4.0, dtype=torch.float64), torch.tensor(-3.0, dtype=torch.float64)
    peer = torch_value_and_grads(
        lambda a, b, t, c: torch.cat(
            [siglip_reference(a, b, t, c).mean()[None], siglip_reference(a, b, t, c)]
        ),
        [u, v, scale, bias],
        4,
    )
    assert_close(ours, peer, rtol=1e-9, atol=1e-10)


def test_siglip_mask_equals_slicing_rows_away():
    rng = np.random.default_rng(4)
    u, v = rows(rng, 8, 3), rows(rng, 8, 3)
    keep = np.arange(8) % 3 != 0
    u[~keep] = np.nan
    ours = jax_value_and_grads(
        lambda a, b: jaxloss.siglip_loss(a, b, where=jnp.asarray(keep)), [u, v]
    )
    sliced = torch_value_and_grads(
        lambda a, b: siglip_reference(a, b, 10.0, -10.0).mean(), [u[keep], v[keep]], 2
    )
    assert_close(ours[0], sliced[0], rtol=1e-9)
    assert_close(ours[1][0][keep], sliced[1][0], rtol=1e-9, atol=1e-12)
    assert np.all(np.asarray(ours[1][0])[~keep] == 0)


def test_siglip_under_shard_map_equals_the_global_batch():
    """Every device's texts are every device's images' negatives (the registry's
    generic sharding tests cover the other losses)."""
    assert_sharded_equals_global(jaxloss.siglip_loss, "pairs", {})


@pytest.mark.parametrize(
    ("call_", "message"),
    [
        (lambda: jaxloss.multi_similarity_loss(jnp.zeros((4, 3)), jnp.zeros(4, int), beta=0.0),
         "jaxloss.multi_similarity_loss: beta must be in (0.0, inf]; got 0.0"),
        (lambda: jaxloss.circle_loss(jnp.zeros((4, 3)), jnp.zeros(3, int)),
         "jaxloss.circle_loss: labels has shape (3,); expected (4,), one per row"),
        (lambda: jaxloss.siglip_loss(jnp.zeros((4, 3)), jnp.zeros((4, 2))),
         "jaxloss.siglip_loss: text_embeddings has shape (4, 2) but image_embeddings has shape (4, 3)"),
    ],
)  # fmt: skip
def test_errors(call_, message):
    assert_raises_eagerly_and_under_jit(call_, message)
