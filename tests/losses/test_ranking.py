"""Ranking losses (jaxloss/losses/ranking.py): optax parity for the softmax loss,
float64 NumPy references written from rax's formulas for ListMLE and the pairwise
losses (values and gradients), rax's documented values, masks, ties and errors."""

from __future__ import annotations

import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_close

import jaxloss

REDUCTIONS = ("none", "mean", "sum")


def _lists(seed, batch=4, size=7):
    """Scores, graded relevance in {0..3} (ties), and an item mask with padding in
    every list but the first and one list masked entirely."""
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((batch, size)) * 2.0
    relevance = rng.integers(0, 4, (batch, size)).astype(np.float64)
    mask = np.ones((batch, size), bool)
    mask[1, 5:] = False
    mask[2, ::3] = False
    mask[3] = False
    return scores, relevance, mask


def test_ranking_softmax_matches_optax():
    scores, relevance, mask = _lists(0)
    mask[3, :2] = True  # optax has no finite gradient for a list masked entirely
    peers = {"none": None, "mean": jnp.mean, "sum": jnp.sum}

    @jax.jit
    def run(s):
        out = {}
        for reduction, reduce_fn in peers.items():

            def peer(a, reduce_fn=reduce_fn):
                return jnp.sum(
                    optax.losses.ranking_softmax_loss(a, relevance, where=mask, reduce_fn=reduce_fn)
                )

            def ours(a, reduction=reduction):
                return jnp.sum(
                    jaxloss.ranking_softmax_loss(a, relevance, where=mask, reduction=reduction)
                )

            out[reduction] = (jax.value_and_grad(ours)(s), jax.value_and_grad(peer)(s))
        out["unmasked"] = (
            jaxloss.ranking_softmax_loss(s, relevance, reduction="none"),
            optax.losses.ranking_softmax_loss(s, relevance, reduce_fn=None),
        )
        return out

    out = run(jnp.asarray(scores, jnp.float32))
    for reduction in REDUCTIONS:
        (value, grad), (expected, expected_grad) = out[reduction]
        assert_close(value, expected, rtol=1e-5)
        assert_close(grad, expected_grad, rtol=1e-5)
    assert_close(*out["unmasked"], rtol=1e-5)


def _lse(x):
    top = np.max(x)
    return top + np.log(np.sum(np.exp(x - top)))


def _np_per_list(kind, s, y):
    """The loss of one list of valid items (float64, from rax's formulas)."""
    if kind == "ranking_softmax_loss":
        return 0.0 if s.size == 0 else -np.sum(y * (s - _lse(s)))
    order = np.argsort(-y, kind="stable")  # ties keep their order in the list
    z = s[order]
    return -sum(z[k] - _lse(z[k:]) for k in range(z.size))


def _np_pairs(kind, s, y, m, w):
    """``[L, L]`` pair losses (0 where a pair does not count) and the pair mask."""
    d = s[:, None] - s[None, :]
    f = np.logaddexp(0.0, -d) if kind == "pairwise_logistic_loss" else np.maximum(0.0, 1.0 - d)
    valid = (y[:, None] > y[None, :]) & m[:, None] & m[None, :]
    return np.where(valid, f * w[:, None], 0.0), valid


def _np_loss(kind, scores, relevance, mask, weight, reduction):
    if kind.startswith("pairwise"):
        pairs = [
            _np_pairs(kind, s, y, m, w)
            for s, y, m, w in zip(scores, relevance, mask, weight, strict=True)
        ]
        none = np.stack([p for p, _ in pairs])
        count = sum(v.sum() for _, v in pairs)
    else:
        none = np.array(
            [
                w * _np_per_list(kind, s[m], y[m])
                for s, y, m, w in zip(scores, relevance, mask, weight, strict=True)
            ]
        )
        count = np.any(mask, -1).sum()
    if reduction == "none":
        return none
    return none.sum() if reduction == "sum" else none.sum() / max(count, 1)


LOSSES = ("ranking_softmax_loss", "listmle_loss", "pairwise_logistic_loss", "pairwise_hinge_loss")


@pytest.mark.parametrize("kind", LOSSES)
def test_matches_float64_reference(kind):
    scores, relevance, mask = _lists(1)
    rng = np.random.default_rng(2)
    # per list for the listwise losses; per item (rax's weights) for the pairwise ones
    pairwise = kind.startswith("pairwise")
    weight = rng.uniform(0.5, 2.0, scores.shape if pairwise else scores.shape[:1])
    fn = getattr(jaxloss, kind)
    with jax.enable_x64(True):

        @jax.jit
        def run(s):
            def total(a, reduction):
                out = fn(a, relevance, where=mask, weight=weight, reduction=reduction)
                return jnp.sum(out), out

            return {r: jax.value_and_grad(total, has_aux=True)(s, r) for r in REDUCTIONS}

        out = run(jnp.asarray(scores))
    for reduction in REDUCTIONS:
        (_, value), grad = out[reduction]
        expected = _np_loss(kind, scores, relevance, mask, weight, reduction)
        assert_close(value, expected, rtol=1e-10)
        # central differences of the reference, on the sum of the output
        eps = 1e-6
        numeric = np.zeros_like(scores)
        for index in np.ndindex(scores.shape):
            step = np.zeros_like(scores)
            step[index] = eps
            up = _np_loss(kind, scores + step, relevance, mask, weight, reduction)
            down = _np_loss(kind, scores - step, relevance, mask, weight, reduction)
            numeric[index] = (np.sum(up) - np.sum(down)) / (2 * eps)
        assert_close(grad, numeric, rtol=1e-5, atol=1e-7)
        assert np.all(np.asarray(grad)[~mask] == 0)


def test_rax_documented_values_ties_and_empty_lists():
    scores = jnp.array([[2.0, 1.0, 0.0], [1.0, 0.5, 1.5]])
    labels = jnp.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    where = jnp.array([[True, True, False], [True, True, True]])
    s = jnp.array([[0.3, -1.2, 2.0, 0.7]])
    rel = jnp.array([[1.0, 0.0, 2.0, 0.0]] * 2)
    mask = jnp.array([[True] * 4, [False] * 4])

    @jax.jit
    def run():
        two = jnp.concatenate([s, s + jnp.nan])
        out: dict[str, Any] = {
            "hinge": jaxloss.pairwise_hinge_loss(scores, labels, where=where),
            "logistic": jaxloss.pairwise_logistic_loss(scores, labels, where=where),
            "tied": jaxloss.listmle_loss(s, jnp.array([[1.0, 1.0, 0.0, 1.0]])),
            "ordered": jaxloss.listmle_loss(s, jnp.array([[3.0, 2.0, 0.0, 1.0]])),
            "no_pairs": jaxloss.pairwise_hinge_loss(s, jnp.ones((1, 4))),
            "pairs_none": jaxloss.pairwise_hinge_loss(s, rel[:1], reduction="none"),
        }
        for name in LOSSES:
            fn = getattr(jaxloss, name)
            out[name] = (
                jax.value_and_grad(lambda a, fn=fn: fn(a, rel, where=mask))(two),
                fn(s, rel[:1]),
            )
        return out

    out = run()
    # rax's docstring examples (mean over the valid pairs of the batch)
    assert_close(out["hinge"], 0.16666667)
    assert_close(out["logistic"], 0.3668668)
    # ListMLE: tied items keep their order in the list, as a stable sort
    assert_close(out["tied"], out["ordered"], rtol=1e-6)
    # a list with no valid item is 0 and left out of the mean, even holding NaN
    for name in LOSSES:
        (value, grad), alone = out[name]
        assert_close(value, alone, rtol=1e-6)
        assert np.all(np.asarray(grad)[1] == 0)
    # no valid pair (all relevance equal) gives 0; "none" keeps the pairs
    assert float(out["no_pairs"]) == 0.0
    assert out["pairs_none"].shape == (1, 4, 4)


def test_bad_input_raises_naming_the_argument():
    s, y = jnp.zeros((2, 5)), jnp.zeros((2, 5))
    for name in LOSSES:
        fn = getattr(jaxloss, name)
        with pytest.raises(ValueError, match=f"jaxloss.{name}: relevance has shape"):
            fn(s, y[:, :4])
        with pytest.raises(TypeError, match=f"jaxloss.{name}: scores must be a floating"):
            fn(s.astype(jnp.int32), y)
        with pytest.raises(ValueError, match=re.escape(f"jaxloss.{name}: scores must hold lists")):
            fn(s[0, 0], y[0, 0])
        with pytest.raises(TypeError, match=f"jaxloss.{name}: where must be a boolean"):
            fn(s, y, where=jnp.ones((2, 5)))
