"""Embedding losses: torch parity for the pair and triplet losses, brute-force
float64 enumeration of triplets for the mining, torch float64 references written
from each in-batch loss's formula, optax for NT-Xent, and the seeds' contrastive
loss."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

import jaxloss


def _t(a, grad=True):
    return torch.tensor(np.asarray(a, np.float64), requires_grad=grad)


def _value_and_grads(fn, arrays, n_diff, **kwargs):
    arrays = [jnp.asarray(a) for a in arrays]

    def f(*diff):
        return fn(*diff, *arrays[n_diff:], **kwargs)

    value = jax.jit(f)(*arrays[:n_diff])
    grads = jax.jit(jax.grad(lambda *d: jnp.sum(f(*d)), argnums=tuple(range(n_diff))))(
        *arrays[:n_diff]
    )
    return value, grads


def _torch_value_and_grads(fn, arrays, n_diff):
    leaves = [_t(a) for a in arrays[:n_diff]]
    out = fn(*leaves, *arrays[n_diff:])
    out.sum().backward()
    return out.detach().numpy(), tuple(leaf.grad.numpy() for leaf in leaves)


def _rows(rng, *shape):
    return rng.standard_normal(shape)


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
    arrays = [_rows(rng, 12, 7) for _ in range(3)]
    kw = {"margin": margin, "p": p, "eps": eps, "swap": swap, "reduction": reduction}
    ours = _value_and_grads(jaxloss.triplet_margin_loss, arrays, 3, **kw)
    ref = _torch_value_and_grads(lambda a, b, c: F.triplet_margin_loss(a, b, c, **kw), arrays, 3)
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)


def test_triplet_with_distance_matches_torch():
    rng = np.random.default_rng(1)
    arrays = [_rows(rng, 10, 5) for _ in range(3)]
    ours = _value_and_grads(jaxloss.triplet_margin_with_distance_loss, arrays, 3, swap=True)
    ref = _torch_value_and_grads(
        lambda a, b, c: F.triplet_margin_with_distance_loss(a, b, c, swap=True), arrays, 3
    )
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)

    def cosine(x, y):
        return 1 - jnp.sum(x * y, -1) / jnp.sqrt(jnp.sum(x * x, -1) * jnp.sum(y * y, -1))

    ours = _value_and_grads(
        jaxloss.triplet_margin_with_distance_loss, arrays, 3, distance_function=cosine, margin=0.3
    )
    ref = _torch_value_and_grads(
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
    x1, x2 = _rows(rng, 9, 4), _rows(rng, 9, 4)
    x2[0] = 0.0  # a zero vector
    y = np.where(rng.random(9) < 0.5, 1, -1)
    y[0] = 1  # the zero vector's pair: -1 would sit on the hinge's kink at cos = 0 = margin
    ours = _value_and_grads(
        jaxloss.cosine_embedding_loss, [x1, x2, y], 2, margin=margin, reduction="none"
    )
    ref = _torch_value_and_grads(
        lambda a, b, c: F.cosine_embedding_loss(
            a, b, torch.tensor(c), margin=margin, reduction="none"
        ),
        [x1, x2, y],
        2,
    )
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)
    s1, s2 = rng.standard_normal(9), rng.standard_normal(9)
    ours = _value_and_grads(jaxloss.margin_ranking_loss, [s1, s2, y], 2, margin=margin)
    ref = _torch_value_and_grads(
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
    x1, x2, s = _rows(rng, 8, 6), _rows(rng, 8, 6), rng.uniform(-1, 1, 8)
    ours = _value_and_grads(jaxloss.cosine_similarity_loss, [x1, x2, s], 2)
    ref = _torch_value_and_grads(
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
    x1, x2 = _rows(rng, 10, 3) * 0.4, _rows(rng, 10, 3) * 0.4
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
    t1, t2 = _t(x1), _t(x2)
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


# ----------------------------------------------------------------- mining, brute force


def _brute_force_triplets(e, labels, mask, margin, mining, squared):
    """Every (anchor, positive, negative) enumerated in torch float64."""
    x = _t(e)
    n = len(e)
    d2 = ((x[:, None] - x[None]) ** 2).sum(-1)
    d = (
        d2
        if squared
        else torch.sqrt(d2 + torch.eye(n, dtype=torch.float64))
        * (1 - torch.eye(n, dtype=torch.float64))
    )
    valid = [i for i in range(n) if mask[i]]
    terms, counts = [], 0
    for a in valid:
        pos = [p for p in valid if p != a and labels[p] == labels[a]]
        neg = [q for q in valid if labels[q] != labels[a]]
        if mining == "batch_hard":
            if pos and neg:
                hardest = torch.stack([d[a, p] for p in pos]).max()
                nearest = torch.stack([d[a, q] for q in neg]).min()
                terms.append(torch.relu(hardest - nearest + margin))
                counts += 1
        elif mining == "batch_all":
            for p in pos:
                for q in neg:
                    t = torch.relu(d[a, p] - d[a, q] + margin)
                    terms.append(t)
                    counts += bool(t.item() > 0)
        else:  # semi_hard: nearest negative beyond the positive, else the farthest
            if not neg:
                continue
            for p in pos:
                beyond = [d[a, q] for q in neg if d[a, q].item() > d[a, p].item()]
                chosen = (
                    torch.stack(beyond).min()
                    if beyond
                    else torch.stack([d[a, q] for q in neg]).max()
                )
                terms.append(torch.relu(d[a, p] - chosen + margin))
                counts += 1
    total = torch.stack(terms).sum() if terms else torch.zeros((), dtype=torch.float64)
    value = total / counts if counts else total * 0
    value.backward()
    return value.item(), x.grad.numpy()


@pytest.mark.parametrize("squared", (False, True))
@pytest.mark.parametrize("masked", (False, True))
@pytest.mark.parametrize("mining", ("batch_hard", "batch_all", "semi_hard"))
def test_batch_triplet_mining_matches_brute_force(mining, masked, squared):
    rng = np.random.default_rng(5 + masked)
    e = rng.standard_normal((14, 3))
    labels = rng.integers(0, 4, 14)
    labels[-1] = 9  # a class of one: an anchor without a positive
    mask = rng.random(14) < 0.75 if masked else np.ones(14, bool)
    margin = 0.2 if squared else 0.7
    where = jnp.asarray(mask) if masked else None
    value, grad = _value_and_grads(jaxloss.batch_triplet_loss, [e, labels], 1, margin=margin, mining=mining,
                                   squared=squared, where=where)  # fmt: skip
    ref_value, ref_grad = _brute_force_triplets(e, labels, mask, margin, mining, squared)
    assert_close(value, ref_value, rtol=1e-5, atol=1e-7)
    assert_close(grad, (ref_grad,), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("mining", ("batch_hard", "batch_all", "semi_hard"))
def test_batch_triplet_without_positives_or_negatives(mining):
    e = jnp.asarray(np.random.default_rng(6).standard_normal((6, 4)))
    for labels in (jnp.arange(6), jnp.zeros(6, int)):  # all distinct; all the same
        value, grad = jax.value_and_grad(
            lambda x, y=labels: jaxloss.batch_triplet_loss(x, y, mining=mining)
        )(e)
        assert float(value) == 0.0 and np.all(grad == 0)


def test_batch_triplet_memory_is_quadratic():
    e = jnp.zeros((512, 64))
    labels = jnp.arange(512) % 16
    for mining in ("batch_hard", "batch_all", "semi_hard"):
        f = jax.value_and_grad(lambda x, m=mining: jaxloss.batch_triplet_loss(x, labels, mining=m))
        temp = jax.jit(f).lower(e).compile().memory_analysis().temp_size_in_bytes
        assert temp < 40 * 512 * 512 * 4, (mining, temp)  # a [B, B, B] tensor would be 512x more


# ----------------------------------------------------------------- in-batch negatives


def _cos_matrix(a, b):
    return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T


def test_multiple_negatives_ranking_matches_sentence_transformers_formula():
    rng = np.random.default_rng(7)
    a, p, n = _rows(rng, 8, 5), _rows(rng, 8, 5), _rows(rng, 8, 2, 5)

    def reference(a, p, n=None):
        candidates = p if n is None else torch.cat([p, n.reshape(-1, 5)])
        return F.cross_entropy(20.0 * _cos_matrix(a, candidates), torch.arange(8))

    assert_close(
        _value_and_grads(jaxloss.multiple_negatives_ranking_loss, [a, p], 2),
        _torch_value_and_grads(reference, [a, p], 2),
        rtol=1e-5,
        atol=1e-7,
    )
    ours = _value_and_grads(
        lambda x, y, z: jaxloss.multiple_negatives_ranking_loss(x, y, negatives=z), [a, p, n], 3
    )
    assert_close(ours, _torch_value_and_grads(reference, [a, p, n], 3), rtol=1e-5, atol=1e-7)


def test_info_nce_matches_reference_in_all_three_modes():
    rng = np.random.default_rng(8)
    q, k = _rows(rng, 6, 4), _rows(rng, 6, 4)
    shared, paired = _rows(rng, 5, 4), _rows(rng, 6, 3, 4)
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
        _value_and_grads(jaxloss.info_nce_loss, [q, k], 2, temperature=tau),
        _torch_value_and_grads(reference, [q, k], 2),
        rtol=1e-5,
        atol=1e-7,
    )
    for neg in (shared, paired):
        ours = _value_and_grads(
            lambda a, b, c: jaxloss.info_nce_loss(a, b, negative_keys=c, temperature=tau),
            [q, k, neg],
            3,
        )
        assert_close(ours, _torch_value_and_grads(reference, [q, k, neg], 3), rtol=1e-5, atol=1e-7)


def test_clip_matches_reference_with_a_learnable_scale():
    rng = np.random.default_rng(9)
    u, v = _rows(rng, 7, 6), _rows(rng, 7, 6)

    def reference(u, v, scale):
        logits = scale * _cos_matrix(u, v)
        target = torch.arange(7)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2

    ours = _value_and_grads(lambda a, b, s: jaxloss.clip_loss(a, b, logit_scale=s), [u, v, 14.0], 3)
    assert_close(ours, _torch_value_and_grads(reference, [u, v, 14.0], 3), rtol=1e-5, atol=1e-7)


def test_ntxent_matches_optax_and_supcon_matches_reference():
    rng = np.random.default_rng(10)
    z = _rows(rng, 12, 5)
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5])  # a triple and a loner
    ours = _value_and_grads(
        lambda x: jaxloss.ntxent_loss(x, jnp.asarray(labels), temperature=0.3), [z], 1
    )
    peer = _value_and_grads(
        lambda x: optax.losses.ntxent(x, jnp.asarray(labels), temperature=0.3), [z], 1
    )
    assert_close(ours, peer, rtol=1e-5, atol=1e-7)

    def supcon(x):
        s = _cos_matrix(x, x) / 0.3
        eye = torch.eye(12, dtype=torch.bool)
        same = torch.tensor(labels[:, None] == labels[None, :]) & ~eye
        log_prob = s - torch.logsumexp(s.masked_fill(eye, -torch.inf), 1, keepdim=True)
        count = same.sum(1)
        per_anchor = -(log_prob * same).sum(1) / count.clamp_min(1)
        return per_anchor[count > 0].mean()

    ours = _value_and_grads(
        lambda x: jaxloss.supervised_contrastive_loss(x, jnp.asarray(labels), temperature=0.3),
        [z],
        1,
    )
    assert_close(ours, _torch_value_and_grads(supcon, [z], 1), rtol=1e-5, atol=1e-7)


def test_cosent_matches_sentence_transformers_formula():
    rng = np.random.default_rng(11)
    x1, x2 = _rows(rng, 9, 4), _rows(rng, 9, 4)
    scores = rng.integers(0, 4, 9).astype(np.float64)

    def reference(a, b):
        s = F.cosine_similarity(a, b) * 20.0
        diff = s[None, :] - s[:, None]
        keep = torch.tensor(scores[:, None] > scores[None, :])
        diff = diff - (~keep) * 1e12
        return torch.logsumexp(torch.cat([torch.zeros(1, dtype=torch.float64), diff.view(-1)]), 0)

    ours = _value_and_grads(
        lambda a, b: jaxloss.cosent_loss(a, b, jnp.asarray(scores)), [x1, x2], 2
    )
    assert_close(ours, _torch_value_and_grads(reference, [x1, x2], 2), rtol=1e-5, atol=1e-7)


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


def _mesh():
    return Mesh(np.asarray(jax.devices()), ("batch",))


@pytest.mark.parametrize(
    ("fn", "kind", "kwargs"),
    [
        (jaxloss.batch_triplet_loss, "labelled", {"mining": "batch_all"}),
        (jaxloss.batch_triplet_loss, "labelled", {"mining": "semi_hard", "squared": True}),
        (jaxloss.multiple_negatives_ranking_loss, "negatives", {}),
        (jaxloss.supervised_contrastive_loss, "labelled", {}),
    ],
    ids=["batch_all", "semi_hard", "mnrl_negatives", "supcon"],
)
def test_options_under_shard_map_equal_the_global_batch(fn, kind, kwargs):
    rng = np.random.default_rng(12)
    x = jnp.asarray(rng.standard_normal((32, 6)), jnp.float32)
    other = (
        jnp.asarray(rng.integers(0, 5, 32))
        if kind == "labelled"
        else jnp.asarray(rng.standard_normal((32, 6)), jnp.float32)
    )
    args = (x, other)
    if kind == "negatives":
        kwargs = {"negatives": jnp.asarray(rng.standard_normal((32, 2, 6)), jnp.float32)}

    def local(x, other, **kw):
        return fn(x, other, axis_name="batch", **kw)

    kw_specs = {k: P("batch") for k in kwargs if k == "negatives"}
    if kw_specs:
        mapped = jax.shard_map(
            lambda a, b, n: local(a, b, negatives=n),
            mesh=_mesh(),
            in_specs=(P("batch"),) * 3,
            out_specs=P(),
        )
        call_mapped, call_single = (
            (lambda a: mapped(a, args[1], kwargs["negatives"])),
            (lambda a: fn(a, args[1], **kwargs)),
        )
    else:
        mapped = jax.shard_map(
            lambda a, b: local(a, b, **kwargs),
            mesh=_mesh(),
            in_specs=(P("batch"),) * 2,
            out_specs=P(),
        )
        call_mapped, call_single = (
            (lambda a: mapped(a, args[1])),
            (lambda a: fn(a, args[1], **kwargs)),
        )
    assert_close(
        jax.jit(jax.value_and_grad(call_mapped))(x),
        jax.value_and_grad(call_single)(x),
        rtol=1e-5,
        atol=1e-6,
    )


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call_", "message"),
    [
        (lambda: jaxloss.triplet_margin_loss(jnp.zeros((4, 3)), jnp.zeros((4, 3)), jnp.zeros((4, 5))),
         "jaxloss.triplet_margin_loss: negative has shape (4, 5) but anchor has shape (4, 3); they must be equal"),
        (lambda: jaxloss.clip_loss(jnp.zeros((4, 3)), jnp.zeros((4, 2))),
         "jaxloss.clip_loss: text_embeddings has shape (4, 2) but image_embeddings has shape (4, 3)"),
        (lambda: jaxloss.batch_triplet_loss(jnp.zeros((4, 3)), jnp.zeros(5, int)),
         "jaxloss.batch_triplet_loss: labels has shape (5,); expected (4,), one per row"),
        (lambda: jaxloss.batch_triplet_loss(jnp.zeros((4, 3)), jnp.zeros(4, int), mining="hard"),
         "jaxloss.batch_triplet_loss: mining must be one of 'batch_hard', 'batch_all', 'semi_hard'; got 'hard'"),
        (lambda: jaxloss.ntxent_loss(jnp.zeros((4, 3)), jnp.zeros(4, int), temperature=0.0),
         "jaxloss.ntxent_loss: temperature must be in (0.0, inf]; got 0.0"),
        (lambda: jaxloss.supervised_contrastive_loss(jnp.zeros((2, 4, 3)), jnp.zeros(2, int)),
         "jaxloss.supervised_contrastive_loss: embeddings must have rank 2; got shape (2, 4, 3)"),
        (lambda: jaxloss.info_nce_loss(jnp.zeros((4, 3)), jnp.zeros((4, 3)), negative_keys=jnp.zeros((4, 2))),
         "jaxloss.info_nce_loss: negative_keys must be [M, D] or [B, M, D] with B = 4 and D = 3; got shape (4, 2)"),
        (lambda: jaxloss.contrastive_loss(jnp.zeros((4, 3)), jnp.zeros((4, 3)), jnp.zeros(3, bool)),
         "jaxloss.contrastive_loss: similar has shape (3,); expected (4,), one per row"),
    ],
)  # fmt: skip
def test_errors(call_, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call_()
    with pytest.raises(ValueError, match=re.escape(message)):
        jax.jit(call_)()
