"""The contract on the embedding losses: no silently wrong number on anything a
user can type. Each test says what it guards against; references are torch
float64 (or plain arithmetic where the right answer is 0 or NaN)."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from embedding_testing import cos_matrix, rows, torch_leaf, torch_value_and_grads, value_and_grads
from helpers import assert_close
from jax.experimental import checkify

import jaxloss

LABELS = jnp.array([0, 0, 1, 1, 2, 2, 3, 3])


def _pair(b):
    return jnp.zeros((b, 4)), jnp.zeros((b, 4))


# ----------------------------------------------------------------- empty batch

# (name, call on a batch of b rows with options); the reductions each accepts
EMPTY = [
    ("mnrl", lambda b, **kw: jaxloss.multiple_negatives_ranking_loss(*_pair(b), **kw)),
    (
        "mnrl_negatives",
        lambda b, **kw: jaxloss.multiple_negatives_ranking_loss(
            *_pair(b), negatives=jnp.zeros((b, 2, 4)), **kw
        ),
    ),
    ("info_nce", lambda b, **kw: jaxloss.info_nce_loss(*_pair(b), **kw)),
    ("clip", lambda b, **kw: jaxloss.clip_loss(*_pair(b), **kw)),
    ("ntxent", lambda b, **kw: jaxloss.ntxent_loss(jnp.zeros((b, 4)), LABELS[:b], **kw)),
    (
        "supcon",
        lambda b, **kw: jaxloss.supervised_contrastive_loss(jnp.zeros((b, 4)), LABELS[:b], **kw),
    ),
    *[
        (
            f"batch_triplet_{m}",
            lambda b, m=m, **kw: jaxloss.batch_triplet_loss(
                jnp.zeros((b, 4)), LABELS[:b], mining=m, **kw
            ),
        )
        for m in ("batch_hard", "batch_all", "semi_hard")
    ],
]


@pytest.mark.parametrize("call_", [c for _, c in EMPTY], ids=[n for n, _ in EMPTY])
def test_in_batch_losses_of_an_empty_batch_are_zero(call_):
    # guards against: "zero-size array to reduction operation max which has no
    # identity" (the max over an empty candidate set) on a batch of 0 rows
    for reduction in ("mean", "sum"):
        value = call_(0, reduction=reduction)
        assert value.shape == () and float(value) == 0.0
        weighted = call_(0, reduction=reduction, weight=jnp.ones(0), where=jnp.ones(0, bool))
        assert float(weighted) == 0.0
        jitted = jax.jit(lambda r=reduction: call_(0, reduction=r))()
        assert float(jitted) == 0.0
    assert call_(0, reduction="none").shape == (0,)


def test_in_batch_gradients_of_an_empty_batch_are_zero():
    # guards against: the same error under grad, for the differentiable inputs
    e = jnp.zeros((0, 5))
    fns = [
        lambda x: jaxloss.multiple_negatives_ranking_loss(x, x),
        lambda x: jaxloss.info_nce_loss(x, x),
        lambda x: jaxloss.clip_loss(x, x),
        lambda x: jaxloss.ntxent_loss(x, jnp.zeros(0, int)),
        lambda x: jaxloss.supervised_contrastive_loss(x, jnp.zeros(0, int)),
        lambda x: jaxloss.batch_triplet_loss(x, jnp.zeros(0, int), mining="batch_all"),
        lambda x: jaxloss.cosent_loss(x, x, jnp.zeros(0)),
    ]
    for fn in fns:
        value, grad = jax.value_and_grad(fn)(e)
        assert float(value) == 0.0 and grad.shape == (0, 5)


def test_cosent_of_an_empty_batch_is_zero():
    # guards against: the max over an empty set of pairs raising
    for reduction in ("mean", "sum"):
        value = jaxloss.cosent_loss(*_pair(0), jnp.zeros(0), reduction=reduction)
        assert value.shape == () and float(value) == 0.0


# ----------------------------------------------------------------- NaN in, NaN out


def _cosent_reference(x1, x2, scores):
    """sentence-transformers' CoSENTLoss in torch float64."""

    def reference(a, b):
        s = F.cosine_similarity(a, b) * 20.0
        diff = s[None, :] - s[:, None]
        keep = torch.tensor(scores[:, None] > scores[None, :])
        diff = diff - (~keep) * 1e12
        zero = torch.zeros(1, dtype=torch.float64)
        return torch.logsumexp(torch.cat([zero, diff.view(-1)]), 0)

    return torch_value_and_grads(reference, [x1, x2], 2)


def test_cosent_nan_target_gives_nan_and_a_masked_one_is_dropped():
    # guards against: y_i > y_j is False for a NaN score, so its row silently
    # dropped out of every pair and the loss stayed finite
    rng = np.random.default_rng(20)
    x1, x2 = rows(rng, 7, 4), rows(rng, 7, 4)
    scores = rng.uniform(0, 5, 7)
    poisoned = jnp.asarray(scores).at[3].set(jnp.nan)
    assert np.isnan(float(jaxloss.cosent_loss(jnp.asarray(x1), jnp.asarray(x2), poisoned)))
    # masked, the NaN is padding: the loss is the one of the other six rows
    keep = np.arange(7) != 3
    ours = value_and_grads(
        lambda a, b: jaxloss.cosent_loss(a, b, poisoned, where=jnp.asarray(keep)), [x1, x2], 2
    )
    ref_value, ref_grads = _cosent_reference(x1[keep], x2[keep], scores[keep])
    assert_close(ours[0], ref_value, rtol=1e-5, atol=1e-7)
    for g, r in zip(ours[1], ref_grads, strict=True):
        assert_close(g[keep], r, rtol=1e-5, atol=1e-7)
        assert np.all(np.asarray(g[~keep]) == 0)


def test_cosent_nan_embedding_in_a_tied_row_gives_nan():
    # guards against: a row whose score ties with every other row is in no pair,
    # so a NaN embedding there vanished from the loss
    x = jnp.ones((4, 3)).at[:, 0].set(jnp.arange(4.0))
    x_nan = x.at[2, 1].set(jnp.nan)
    assert np.isnan(float(jaxloss.cosent_loss(x_nan, x, jnp.ones(4))))
    assert float(jaxloss.cosent_loss(x, x, jnp.ones(4))) == pytest.approx(np.log(1.0))


@pytest.mark.parametrize("p", [1.0, 3.0, 2.5, float("inf")])
def test_pairwise_distance_of_a_nan_vector_is_nan(p):
    # guards against: power() mapping NaN to 0, so p = 3 gave a distance of 0.0
    x = jnp.array([[jnp.nan, 1.0], [0.3, -0.2]])
    d = jaxloss.pairwise_distance(x, jnp.zeros(2), p=p)
    assert np.isnan(float(d[0])) and np.isfinite(float(d[1]))


@pytest.mark.parametrize("p", [3.0, 2.5, float("inf")])
def test_pairwise_distance_matches_torch_including_the_max_norm(p):
    # guards against: p = inf computing sum(|x|^inf)^(1/inf), a silently wrong
    # number (the sum of 0s and infs raised to the power 0)
    rng = np.random.default_rng(21)
    x1, x2 = rows(rng, 6, 5), rows(rng, 6, 5)
    ours = value_and_grads(lambda a, b: jaxloss.pairwise_distance(a, b, p=p), [x1, x2], 2)
    ref = torch_value_and_grads(lambda a, b: F.pairwise_distance(a, b, p=p), [x1, x2], 2)
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)


def test_pairwise_distance_with_a_traced_order_equals_the_concrete_one():
    # guards against: a traced p failing on the code path chosen by `p == 2`
    rng = np.random.default_rng(22)
    x1, x2 = jnp.asarray(rows(rng, 5, 4)), jnp.asarray(rows(rng, 5, 4))
    for p in (1.0, 2.0, 3.0):
        traced = jax.jit(lambda q: jaxloss.pairwise_distance(x1, x2, p=q))(p)
        expected = F.pairwise_distance(torch_leaf(x1, False), torch_leaf(x2, False), p=p)
        assert_close(traced, expected.numpy(), rtol=1e-5)


LABELLED = [
    jaxloss.ntxent_loss,
    jaxloss.supervised_contrastive_loss,
    *[
        lambda x, y, m=m, **kw: jaxloss.batch_triplet_loss(x, y, mining=m, **kw)
        for m in ("batch_hard", "batch_all", "semi_hard")
    ],
]
LABELLED_IDS = ["ntxent", "supcon", "batch_hard", "batch_all", "semi_hard"]


@pytest.mark.parametrize("fn", LABELLED, ids=LABELLED_IDS)
def test_nan_label_gives_nan_and_a_masked_one_is_dropped(fn):
    # guards against: a NaN label equals no label, so its row silently had no
    # positive, was everyone's negative, and the loss stayed finite
    rng = np.random.default_rng(23)
    x = jnp.asarray(rows(rng, 8, 3))
    labels = LABELS.astype(jnp.float32)
    poisoned = labels.at[3].set(jnp.nan)
    assert np.isnan(float(fn(x, poisoned)))
    assert np.isnan(float(fn(x, poisoned, reduction="sum")))
    assert np.isnan(np.asarray(fn(x, poisoned, reduction="none"))[3])
    keep = np.arange(8) != 3
    masked = fn(x, poisoned, where=jnp.asarray(keep))
    assert_close(masked, fn(x[keep], labels[keep]), rtol=1e-5)


@pytest.mark.parametrize("fn", LABELLED, ids=LABELLED_IDS)
def test_nan_embedding_in_a_row_without_positives_gives_nan(fn):
    # guards against: a row with neither positive nor negative contributing no
    # term, so a NaN embedding there dropped out and the loss was a finite 0
    x = jnp.asarray(rows(np.random.default_rng(24), 5, 3)).at[4, 0].set(jnp.nan)
    only_the_last = jnp.arange(5) == 4
    assert np.isnan(float(fn(x, LABELS[:5], where=only_the_last)))
    assert np.isnan(float(fn(x, LABELS[:5], where=only_the_last, reduction="sum")))
    # masked, the same NaN is padding
    assert float(fn(x, LABELS[:5], where=~only_the_last)) == pytest.approx(
        float(fn(x[:4], LABELS[:4]))
    )


@pytest.mark.parametrize("fn", LABELLED, ids=LABELLED_IDS)
def test_labels_rule_is_declared_in_the_name_of_labels(fn):
    # guards against: the run-time rule reporting "targets" for an argument the
    # user wrote as `labels`
    x = jnp.asarray(rows(np.random.default_rng(25), 8, 3))
    err, _ = checkify.checkify(fn)(x, LABELS.astype(jnp.float32).at[5].set(jnp.nan))
    assert "labels must be class ids (not NaN); got nan at flat index 5" in str(err.get())
    err, _ = checkify.checkify(fn)(x, LABELS)
    assert err.get() is None


def test_margin_ranking_target_outside_plus_minus_one_gives_nan():
    # guards against: a 0 (or 0.5) target silently scaling the hinge
    # (torch gives relu(margin) for y = 0)
    x1, x2 = jnp.array([1.0, 2.0, 3.0]), jnp.array([0.0, 2.5, 1.0])
    y = jnp.array([1.0, 0.0, -1.0])
    none = jaxloss.margin_ranking_loss(x1, x2, y, margin=0.1, reduction="none")
    ref = F.margin_ranking_loss(
        torch.tensor([1.0, 3.0]), torch.tensor([0.0, 1.0]), torch.tensor([1.0, -1.0]),
        margin=0.1, reduction="none",
    )  # fmt: skip
    assert np.isnan(float(none[1]))
    assert_close(none[np.array([0, 2])], ref.numpy(), rtol=1e-6)
    err, _ = checkify.checkify(jaxloss.margin_ranking_loss)(x1, x2, y)
    assert "margin_ranking_loss: targets must be 1 or -1; got 0.0 at flat index 1" in str(err.get())
    # masked, the bad target is padding: no NaN, no complaint
    where = jnp.array([True, False, True])
    err, value = checkify.checkify(
        lambda a, b, t: jaxloss.margin_ranking_loss(a, b, t, margin=0.1, where=where)
    )(x1, x2, y)
    assert err.get() is None
    assert_close(value, ref.mean().item(), rtol=1e-6)


def test_pair_rules_ignore_masked_rows():
    # guards against: checked refusing padding rows that where already masks out
    x = jnp.ones((3, 2))
    where = jnp.array([True, False, True])
    for fn, bad in (
        (jaxloss.cosine_embedding_loss, jnp.array([1, 0, -1])),
        (jaxloss.contrastive_loss, jnp.array([1, 7, 0])),
    ):
        err, value = checkify.checkify(lambda a, b, t, f=fn: f(a, b, t, where=where))(x, x, bad)
        assert err.get() is None and np.isfinite(float(value))
        err, _ = checkify.checkify(fn)(x, x, bad)
        assert "flat index 1" in str(err.get())


# ----------------------------------------------------------------- option types and ranges

X = jnp.asarray(rows(np.random.default_rng(26), 8, 4), jnp.float32)
Y = jnp.where(jnp.arange(8) % 2 == 0, 1.0, -1.0)
OPTIONS = [
    (jaxloss.pairwise_distance, (X, X), ("p", "eps")),
    (jaxloss.triplet_margin_loss, (X, X, X), ("margin", "p", "eps", "swap")),
    (jaxloss.triplet_margin_with_distance_loss, (X, X, X), ("margin", "swap")),
    (jaxloss.contrastive_loss, (X, X, Y > 0), ("margin", "squared")),
    (jaxloss.cosine_embedding_loss, (X, X, Y), ("margin",)),
    (jaxloss.margin_ranking_loss, (X[:, 0], X[:, 1], Y), ("margin",)),
    (jaxloss.multiple_negatives_ranking_loss, (X, X), ("scale",)),
    (jaxloss.info_nce_loss, (X, X), ("temperature",)),
    (jaxloss.clip_loss, (X, X), ("logit_scale",)),
    (jaxloss.ntxent_loss, (X, LABELS), ("temperature",)),
    (jaxloss.supervised_contrastive_loss, (X, LABELS), ("temperature",)),
    (jaxloss.batch_triplet_loss, (X, LABELS), ("margin", "squared")),
    (jaxloss.cosent_loss, (X, X, Y), ("scale",)),
]


@pytest.mark.parametrize(("fn", "args", "names"), OPTIONS, ids=[f.__name__ for f, _, _ in OPTIONS])
def test_options_of_the_wrong_type_raise_naming_the_argument(fn, args, names):
    # guards against: a string option failing deep inside the loss (or, for a
    # switch, being truthy) instead of naming the argument
    for name in names:
        for wrong in ("0.5", None, [1.0]):
            with pytest.raises(TypeError, match=rf"^jaxloss\.{fn.__name__}: {name} must be"):
                fn(*args, **{name: wrong})


def test_distance_function_must_be_callable():
    with pytest.raises(
        TypeError, match=r"^jaxloss\.triplet_margin_with_distance_loss: distance_function"
    ):
        jaxloss.triplet_margin_with_distance_loss(X, X, X, distance_function="cosine")  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize(
    ("call_", "message"),
    [
        # torch documents margin in [-1, 1]; 2.0 made the hinge constant 0
        (lambda: jaxloss.cosine_embedding_loss(X, X, Y, margin=2.0),
         "jaxloss.cosine_embedding_loss: margin must be in [-1.0, 1.0]; got 2.0"),
        (lambda: jaxloss.cosine_embedding_loss(X, X, Y, margin=-1.5),
         "jaxloss.cosine_embedding_loss: margin must be in [-1.0, 1.0]; got -1.5"),
        # torch refuses margin <= 0 for both triplet losses
        (lambda: jaxloss.triplet_margin_loss(X, X, X, margin=0.0),
         "jaxloss.triplet_margin_loss: margin must be in (0.0, inf]; got 0.0"),
        (lambda: jaxloss.triplet_margin_with_distance_loss(X, X, X, margin=-1.0),
         "jaxloss.triplet_margin_with_distance_loss: margin must be in (0.0, inf]; got -1.0"),
        (lambda: jaxloss.triplet_margin_loss(X, X, X, p=0.0),
         "jaxloss.triplet_margin_loss: p must be in (0.0, inf]; got 0.0"),
        (lambda: jaxloss.contrastive_loss(X, X, Y > 0, margin=-0.5),
         "jaxloss.contrastive_loss: margin must be in [0.0, inf]; got -0.5"),
        # a negative scale silently rewards the wrong candidate
        (lambda: jaxloss.multiple_negatives_ranking_loss(X, X, scale=-20.0),
         "jaxloss.multiple_negatives_ranking_loss: scale must be in (0.0, inf]; got -20.0"),
        (lambda: jaxloss.cosent_loss(X, X, Y, scale=0.0),
         "jaxloss.cosent_loss: scale must be in (0.0, inf]; got 0.0"),
    ],
)  # fmt: skip
def test_documented_ranges_are_enforced(call_, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        call_()
    with pytest.raises(ValueError):
        jax.jit(call_)()


def test_cosine_embedding_margin_at_the_ends_of_its_range_matches_torch():
    rng = np.random.default_rng(27)
    x1, x2 = rows(rng, 6, 3), rows(rng, 6, 3)
    y = np.where(rng.random(6) < 0.5, 1, -1)
    for margin in (-1.0, 1.0):
        ours = value_and_grads(jaxloss.cosine_embedding_loss, [x1, x2, y], 2, margin=margin)
        ref = torch_value_and_grads(
            lambda a, b, c, m=margin: F.cosine_embedding_loss(a, b, torch.tensor(c), margin=m),
            [x1, x2, y],
            2,
        )
        assert_close(ours, ref, rtol=1e-5, atol=1e-7)


def test_traced_logit_scale_is_only_type_checked():
    # a learnable scale may wander anywhere; jit of any value equals the eager value
    for scale in (14.0, 0.0, -3.0):
        eager = jaxloss.clip_loss(X, X[::-1], logit_scale=scale)
        traced = jax.jit(lambda s: jaxloss.clip_loss(X, X[::-1], logit_scale=s))(scale)
        assert_close(traced, eager, rtol=1e-6)


# ----------------------------------------------------------------- weights and masks


@pytest.mark.parametrize("bad", [jnp.inf, jnp.nan])
def test_clip_weight_on_a_masked_row_cannot_reach_the_gradient(bad):
    # guards against: reduce_loss multiplying the masked row's loss by an Inf or
    # NaN weight, so 0 * inf = NaN reached every embedding's gradient
    rng = np.random.default_rng(28)
    u, v = rows(rng, 6, 5), rows(rng, 6, 5)
    keep = np.array([True, True, False, True, False, True])
    w = rng.uniform(0.5, 2.0, 6)
    weight = jnp.asarray(np.where(keep, w, bad), jnp.float32)

    def reference(a, b):
        # a masked row is neither an anchor nor a candidate: slice it away
        logits = 14.0 * cos_matrix(a[keep], b[keep])
        target = torch.arange(int(keep.sum()))
        per_row = (
            F.cross_entropy(logits, target, reduction="none")
            + F.cross_entropy(logits.T, target, reduction="none")
        ) / 2
        return (torch.tensor(w[keep]) * per_row).sum() / keep.sum()

    ours = value_and_grads(
        lambda a, b: jaxloss.clip_loss(
            a, b, logit_scale=14.0, weight=weight, where=jnp.asarray(keep)
        ),
        [u, v],
        2,
    )
    assert_close(ours, torch_value_and_grads(reference, [u, v], 2), rtol=1e-5, atol=1e-7)


def test_row_mask_aligns_with_the_leading_axis_of_pair_losses():
    # guards against: a [B] mask on a [B, T] loss broadcasting along T (the
    # trailing axis) when T == B, masking the wrong elements
    rng = np.random.default_rng(29)
    a, p, n = (rows(rng, 4, 4, 3) for _ in range(3))
    mask = np.array([True, False, True, True])
    ours = value_and_grads(
        lambda x, y, z: jaxloss.triplet_margin_loss(x, y, z, where=jnp.asarray(mask)),
        [a, p, n],
        3,
    )

    def reference(x, y, z):
        none = F.triplet_margin_loss(x, y, z, reduction="none")  # [4, 4]
        return none[torch.tensor(mask)].mean()

    assert_close(ours, torch_value_and_grads(reference, [a, p, n], 3), rtol=1e-5, atol=1e-7)
    # a mask that fits only the trailing axis of a [4, 3] loss raises
    b = jnp.zeros((4, 3, 2))
    with pytest.raises(ValueError, match=r"^jaxloss\.triplet_margin_loss: where has shape \(3,\)"):
        jaxloss.triplet_margin_loss(b, b, b, where=jnp.ones(3, bool))
