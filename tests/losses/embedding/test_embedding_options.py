"""The ``distance`` and reference-embedding options of NT-Xent, SupCon and the
mined triplet loss, against float64 torch re-implementations of
pytorch-metric-learning's code (its ``ref_emb``/``ref_labels``, its
``CosineSimilarity``, ``DotProductSimilarity`` and unnormalised ``LpDistance``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from embedding_testing import (
    assert_raises_eagerly_and_under_jit,
    cos_matrix,
    rows,
)
from helpers import assert_close

import jaxloss

LABELS = np.array([0, 0, 1, 1, 1, 2, 3, 3, 4])
REF_LABELS = np.array([0, 1, 1, 2, 2, 4, 5, 0, 3, 1])
DISTANCES = ("cosine", "dot", "euclidean")


def similarity(a, b, distance):
    if distance == "cosine":
        return cos_matrix(a, b)
    if distance == "dot":
        return a @ b.T
    return -((a[:, None] - b[None]) ** 2).sum(-1).clamp_min(1e-30).sqrt()


def pair_masks(labels, ref_labels):
    """lmu.get_matches_and_diffs: the diagonal is dropped only without references."""
    same = torch.as_tensor(labels[:, None] == ref_labels[None, :])
    if ref_labels is labels:
        same = same & ~torch.eye(len(labels), dtype=torch.bool)
        return same, ~same & ~torch.eye(len(labels), dtype=torch.bool)
    return same, ~same


def ntxent_reference(s, pos, neg):
    """NTXentLoss._compute_loss: every positive pair against its anchor's
    negatives, MeanReducer over the positive pairs."""
    negs = torch.logsumexp(s.masked_fill(~neg, -torch.inf), 1, keepdim=True)
    per_pair = torch.logaddexp(s, negs.expand_as(s)) - s
    return per_pair[pos].mean()


def supcon_reference(s, pos, neg):
    denominator = torch.logsumexp(s.masked_fill(~(pos | neg), -torch.inf), 1, keepdim=True)
    log_prob = s - denominator
    count = pos.sum(1)
    per_anchor = -(log_prob * pos).sum(1) / count.clamp_min(1)
    return per_anchor[count > 0].mean()


def contrastive_references(x, ref):
    """Both losses for every distance, with and without references."""
    out = []
    for distance in DISTANCES:
        for r, r_labels in ((x, LABELS), (ref, REF_LABELS)):
            pos, neg = pair_masks(LABELS, r_labels)
            s = similarity(x, r, distance)
            out += [ntxent_reference(s / 0.5, pos, neg), supcon_reference(s / 0.3, pos, neg)]
    return torch.stack(out)


def ours_contrastive(x, ref):
    out = []
    for distance in DISTANCES:
        for r in (None, ref):
            r_labels = None if r is None else jnp.asarray(REF_LABELS)
            kw = {"distance": distance, "ref_embeddings": r, "ref_labels": r_labels}
            y = jnp.asarray(LABELS)
            out += [
                jaxloss.ntxent_loss(x, y, temperature=0.5, **kw),  # pyright: ignore[reportArgumentType]
                jaxloss.supervised_contrastive_loss(x, y, temperature=0.3, **kw),  # pyright: ignore[reportArgumentType]
            ]
    return jnp.stack(out)


def value_and_grads_64(fn, arrays):
    with jax.enable_x64(True):
        arrays = [jnp.asarray(a) for a in arrays]
        idx = tuple(range(len(arrays)))
        return jax.jit(lambda *a: (fn(*a), jax.grad(lambda *d: jnp.sum(fn(*d)), idx)(*a)))(*arrays)


def torch_values_and_grads(fn, arrays):
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    out.sum().backward()
    return out.detach().numpy(), tuple(np.asarray(leaf.grad) for leaf in leaves)


def test_ntxent_and_supcon_distances_and_references_match_pml():
    rng = np.random.default_rng(5)
    x, ref = rows(rng, 9, 4), rows(rng, 10, 4)
    ours = value_and_grads_64(ours_contrastive, [x, ref])
    peer = torch_values_and_grads(contrastive_references, [x, ref])
    assert_close(ours, peer, rtol=1e-9, atol=1e-11)


def triplet_reference(x, r, r_labels, *, distance, mining, margin):
    """TripletMarginLoss with BatchHardMiner / all triplets (AvgNonZeroReducer) /
    the semi-hard rule, on distances d (minus the similarity for cosine and dot)."""
    if distance == "euclidean":
        d = ((x[:, None] - r[None]) ** 2).sum(-1).clamp_min(1e-30).sqrt()
    else:
        d = -similarity(x, r, distance)
    pos, neg = pair_masks(LABELS, r_labels if r_labels is not LABELS else LABELS)
    if mining == "batch_hard":
        has = pos.any(1) & neg.any(1)
        hardest = d.masked_fill(~pos, -torch.inf).max(1).values
        nearest = d.masked_fill(~neg, torch.inf).min(1).values
        return torch.relu(hardest - nearest + margin)[has].mean()
    losses = []
    for a in range(d.shape[0]):
        for p in torch.nonzero(pos[a]).flatten().tolist():
            negs = torch.nonzero(neg[a]).flatten().tolist()
            if not negs:
                continue
            if mining == "batch_all":
                losses += [torch.relu(d[a, p] - d[a, n] + margin) for n in negs]
            else:
                dn = d[a, negs].detach()
                beyond = [n for n, v in zip(negs, dn.tolist(), strict=True) if v > d[a, p]]
                pick = (
                    min(beyond, key=lambda n: d[a, n].item())
                    if beyond
                    else max(negs, key=lambda n: d[a, n].item())
                )
                losses.append(torch.relu(d[a, p] - d[a, pick] + margin))
    losses = torch.stack(losses)
    return losses[losses > 0].mean() if mining == "batch_all" else losses.mean()


CASES = [
    ("cosine", "batch_hard", False),
    ("cosine", "batch_all", False),
    ("cosine", "semi_hard", False),
    ("dot", "batch_hard", True),
    ("euclidean", "batch_all", True),
    ("euclidean", "semi_hard", True),
]


def test_batch_triplet_distances_and_references_match_pml():
    rng = np.random.default_rng(6)
    x, ref = rows(rng, 9, 4), rows(rng, 10, 4)
    margin = 0.3

    def ours(a, r):
        out = []
        for distance, mining, with_ref in CASES:
            kw = {"ref_embeddings": r, "ref_labels": jnp.asarray(REF_LABELS)} if with_ref else {}
            out.append(
                jaxloss.batch_triplet_loss(
                    a, jnp.asarray(LABELS), margin=margin, mining=mining, distance=distance, **kw
                )
            )
        return jnp.stack(out)

    def peer(a, r):
        return torch.stack(
            [
                triplet_reference(
                    a,
                    r if with_ref else a,
                    REF_LABELS if with_ref else LABELS,
                    distance=distance,
                    mining=mining,
                    margin=margin,
                )
                for distance, mining, with_ref in CASES
            ]
        )

    assert_close(
        value_and_grads_64(ours, [x, ref]),
        torch_values_and_grads(peer, [x, ref]),
        rtol=1e-9,
        atol=1e-11,
    )


def test_reference_embeddings_under_shard_map_equal_the_global_batch():
    """Each device holds a slice of the references; they are gathered like the rows."""
    ref = jnp.asarray(np.random.default_rng(7).standard_normal((16, 6)), jnp.float32)
    ref_labels = jnp.arange(16) % 5
    mesh = jax.sharding.Mesh(np.asarray(jax.devices()), ("batch",))
    P = jax.sharding.PartitionSpec
    x = jnp.asarray(np.random.default_rng(8).standard_normal((32, 6)), jnp.float32)
    labels = jnp.arange(32) % 5

    def fn(a, y, r, ry, axis_name=None):
        return jaxloss.batch_triplet_loss(
            a, y, distance="dot", mining="batch_all", ref_embeddings=r, ref_labels=ry,
            axis_name=axis_name,
        )  # fmt: skip

    def local(a, y, r, ry):
        return fn(a, y, r, ry, axis_name="batch")

    mapped = jax.shard_map(local, mesh=mesh, in_specs=(P("batch"),) * 4, out_specs=P())
    assert_close(
        jax.jit(jax.value_and_grad(mapped, argnums=(0, 2)))(x, labels, ref, ref_labels),
        jax.value_and_grad(
            lambda a, r: fn(a, labels, r, ref_labels),
            argnums=(0, 1),
        )(x, ref),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize(
    ("call_", "message"),
    [
        (lambda: jaxloss.ntxent_loss(jnp.zeros((4, 3)), jnp.zeros(4, int), distance="l2"),
         "jaxloss.ntxent_loss: distance must be one of"),
        (lambda: jaxloss.batch_triplet_loss(jnp.zeros((4, 3)), jnp.zeros(4, int), distance="cosine", squared=True),
         "jaxloss.batch_triplet_loss: squared=True needs distance='euclidean'; got distance='cosine'"),
        (lambda: jaxloss.supervised_contrastive_loss(jnp.zeros((4, 3)), jnp.zeros(4, int), ref_embeddings=jnp.zeros((5, 3))),
         "jaxloss.supervised_contrastive_loss: ref_embeddings and ref_labels must be given together"),
        (lambda: jaxloss.ntxent_loss(jnp.zeros((4, 3)), jnp.zeros(4, int), ref_embeddings=jnp.zeros((5, 2)), ref_labels=jnp.zeros(5, int)),
         "jaxloss.ntxent_loss: ref_embeddings must be [M, D] with D = 3 (the embeddings' size); got shape (5, 2)"),
        (lambda: jaxloss.batch_triplet_loss(jnp.zeros((4, 3)), jnp.zeros(4, int), ref_embeddings=jnp.zeros((5, 3)), ref_labels=jnp.zeros(4, int)),
         "jaxloss.batch_triplet_loss: ref_labels has shape (4,); expected (5,), one per row"),
    ],
)  # fmt: skip
def test_errors(call_, message):
    assert_raises_eagerly_and_under_jit(call_, message)
