"""Triplet mining: brute-force float64 enumeration of every triplet in torch."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from embedding_testing import (
    assert_raises_eagerly_and_under_jit,
    assert_sharded_equals_global,
    torch_leaf,
    value_and_grads,
)
from helpers import assert_close

import jaxloss

# ----------------------------------------------------------------- mining, brute force


def _brute_force_triplets(e, labels, mask, margin, mining, squared):
    """Every (anchor, positive, negative) enumerated in torch float64."""
    x = torch_leaf(e)
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
    return value.item(), np.asarray(x.grad)


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
    value, grad = value_and_grads(jaxloss.batch_triplet_loss, [e, labels], 1, margin=margin, mining=mining,
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
        analysis = jax.jit(f).lower(e).compile().memory_analysis()
        assert analysis is not None
        temp = analysis.temp_size_in_bytes
        assert temp < 40 * 512 * 512 * 4, (mining, temp)  # a [B, B, B] tensor would be 512x more


# ----------------------------------------------------------------- devices


@pytest.mark.parametrize(
    "kwargs",
    [{"mining": "batch_all"}, {"mining": "semi_hard", "squared": True}],
    ids=["batch_all", "semi_hard"],
)
def test_options_under_shard_map_equal_the_global_batch(kwargs):
    assert_sharded_equals_global(jaxloss.batch_triplet_loss, "labelled", kwargs)


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call_", "message"),
    [
        (lambda: jaxloss.batch_triplet_loss(jnp.zeros((4, 3)), jnp.zeros(5, int)),
         "jaxloss.batch_triplet_loss: labels has shape (5,); expected (4,), one per row"),
        (lambda: jaxloss.batch_triplet_loss(jnp.zeros((4, 3)), jnp.zeros(4, int), mining="hard"),
         "jaxloss.batch_triplet_loss: mining must be one of 'batch_hard', 'batch_all', 'semi_hard'; got 'hard'"),
    ],
)  # fmt: skip
def test_errors(call_, message):
    assert_raises_eagerly_and_under_jit(call_, message)
