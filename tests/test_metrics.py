"""Metrics against direct NumPy binning, seed 003's ECE and scikit-learn; a Flax +
optax training step with `combine`; `per_sample`."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from flax import nnx
from helpers import assert_close
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from sklearn import metrics as skm

import jaxloss


def _np_ece(confidence, hit, num_bins, right_closed):
    ece, n = 0.0, len(confidence)
    edges = np.linspace(0, 1, num_bins + 1)
    for lo, hi in itertools.pairwise(edges):
        if right_closed:
            sel = (
                (confidence > lo) & (confidence <= hi)
                if lo > 0
                else (confidence >= lo) & (confidence <= hi)
            )
        else:
            sel = (confidence >= lo) & ((confidence < hi) if hi < 1 else (confidence <= hi))
        if sel.any():
            ece += sel.sum() / n * abs(hit[sel].mean() - confidence[sel].mean())
    return ece


@pytest.mark.parametrize("num_bins", (5, 10, 15))
def test_ece_both_forms_against_direct_binning(num_bins):
    rng = np.random.default_rng(num_bins)
    logits = 2 * rng.standard_normal((400, 4))
    probs = np.asarray(jax.nn.softmax(jnp.asarray(logits, jnp.float32)), np.float64)
    labels = rng.integers(0, 4, 400)
    confidence = probs.max(-1)
    expected = _np_ece(confidence, (probs.argmax(-1) == labels).astype(float), num_bins, True)
    assert_close(
        jaxloss.expected_calibration_error(probs.astype(np.float32), labels, num_bins=num_bins),
        expected,
        rtol=1e-5,
    )
    p = rng.uniform(size=300).astype(np.float32)
    y = (rng.uniform(size=300) < p).astype(int)
    expected = _np_ece(p.astype(np.float64), y.astype(float), num_bins, False)
    assert_close(jaxloss.expected_calibration_error(p, y, num_bins=num_bins), expected, rtol=1e-5)


def test_ece_matches_seed_003_and_survives_empty_bins():
    def seed_003(probs, labels, n_bins=10):  # as printed in seed 003
        probs_np, labels_np = probs.numpy(), labels.numpy()
        bins = torch.linspace(0, 1, n_bins + 1)
        ece, n = 0.0, len(probs_np)
        for i in range(n_bins):
            mask = (probs_np >= bins[i].item()) & (probs_np < bins[i + 1].item())
            if mask.sum() == 0:
                continue
            ece += mask.sum() / n * abs(labels_np[mask].mean() - probs_np[mask].mean())
        return float(ece)

    torch.manual_seed(0)
    probs = torch.rand(500) * 0.999  # no probability of exactly 1, which the seed drops
    labels = (probs + 0.1 * torch.randn(500)).clamp(0, 1).round()
    assert_close(
        jaxloss.expected_calibration_error(probs.numpy(), labels.numpy()),
        seed_003(probs, labels),
        rtol=1e-5,
    )
    only_two_bins = jnp.array([0.05, 0.05, 0.95])
    d = jaxloss.reliability_diagram(only_two_bins, jnp.array([0, 1, 1]))
    assert int(jnp.sum(d.count)) == 3 and np.all(np.isfinite(d.accuracy))
    assert float(jaxloss.expected_calibration_error(jnp.zeros((0,)), jnp.zeros((0,), int))) == 0.0


def test_ece_under_shard_map_equals_one_device():
    rng = np.random.default_rng(1)
    probs = jnp.asarray(jax.nn.softmax(rng.standard_normal((64, 3))), jnp.float32)
    labels = jnp.asarray(rng.integers(0, 3, 64))
    mesh = Mesh(np.asarray(jax.devices()), ("batch",))
    sharded = jax.shard_map(
        lambda p, y: jaxloss.expected_calibration_error(p, y, axis_name="batch"),
        mesh=mesh,
        in_specs=(P("batch"), P("batch")),
        out_specs=P(),
    )
    assert_close(
        jax.jit(sharded)(probs, labels),
        jaxloss.expected_calibration_error(probs, labels),
        rtol=1e-6,
    )


@pytest.mark.parametrize("k", (1, 3))
def test_top_k_accuracy(k):
    rng = np.random.default_rng(2)
    scores, labels = rng.standard_normal((50, 6)), rng.integers(0, 6, 50)
    expected = np.mean([labels[i] in np.argsort(-scores[i])[:k] for i in range(50)])
    assert_close(jaxloss.accuracy(scores, labels, top_k=k), expected)
    assert_close(skm.top_k_accuracy_score(labels, scores, k=k, labels=range(6)), expected)


def test_precision_recall_f1_iou_dice_match_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 200)
    scores = rng.standard_normal((200, 4)) + 2 * np.eye(4)[y]
    pred = scores.argmax(-1)
    for average in ("macro", "micro"):
        got = jaxloss.precision_recall_f1(scores, y, average=average)
        expected = skm.precision_recall_fscore_support(y, pred, average=average, zero_division=0)[
            :3
        ]
        assert_close(got, expected, rtol=1e-5)
    assert_close(
        jaxloss.iou_score(pred, y, num_classes=4),
        skm.jaccard_score(y, pred, average=None),
        rtol=1e-5,
    )
    assert_close(
        jaxloss.dice_score(pred, y, num_classes=4), skm.f1_score(y, pred, average=None), rtol=1e-5
    )
    yb, pb = (rng.uniform(size=100) < 0.3).astype(int), rng.uniform(size=100)
    got = jaxloss.precision_recall_f1(pb, yb)
    assert_close(
        got,
        skm.precision_recall_fscore_support(yb, (pb > 0.5).astype(int), average="binary")[:3],
        rtol=1e-5,
    )
    c = jaxloss.confusion_counts(pred, y, num_classes=4)
    assert np.all(np.asarray(c.tp + c.fp + c.fn + c.tn) == 200)
    assert_close(skm.confusion_matrix(y, pred).diagonal(), c.tp)


def test_empty_class_scores_zero_not_nan():
    p, r, f = jaxloss.precision_recall_f1(
        jnp.zeros(4, int), jnp.zeros(4, int), num_classes=3, average="macro"
    )
    assert np.all(np.isfinite([p, r, f]))
    assert float(jaxloss.iou_score(jnp.zeros(4), jnp.zeros(4, int))) == 0.0


def test_metrics_take_targets_and_num_bins_keywords():
    probs, y = jnp.array([0.1, 0.9, 0.8]), jnp.array([0, 1, 0])
    d = jaxloss.reliability_diagram(probs, targets=y, num_bins=2)
    assert d.count.tolist() == [1.0, 2.0]
    assert_close(jaxloss.expected_calibration_error(probs, targets=y, num_bins=2), 0.8 / 3)
    scores = jnp.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])
    assert_close(jaxloss.accuracy(scores, targets=y), 2 / 3)
    hard = jnp.array([0, 1, 1])
    for metric in (jaxloss.confusion_counts, jaxloss.iou_score, jaxloss.dice_score):
        metric(hard, targets=y, num_classes=2)
    assert_close(jaxloss.precision_recall_f1(hard, targets=y), (0.5, 1.0, 2 / 3))
    with pytest.raises(TypeError):
        jaxloss.expected_calibration_error(probs, y, n_bins=2)
    with pytest.raises(TypeError):
        jaxloss.accuracy(scores, labels=y)


# ----------------------------------------------------------------- composition


def test_combine_in_a_flax_optax_training_step():
    model = nnx.Linear(3, 1, rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.sgd(0.1), wrt=nnx.Param)
    loss = jaxloss.combine({"mse": (jaxloss.mse_loss, 0.7), "l1": (jaxloss.l1_loss, 0.3)})
    rng = np.random.default_rng(4)
    x, y = jnp.asarray(rng.standard_normal((16, 3))), jnp.asarray(rng.standard_normal((16, 1)))

    @nnx.jit
    def step(model, optimizer, x, y):
        def objective(model):
            return loss(model(x), y)

        (total, parts), grads = nnx.value_and_grad(objective, has_aux=True)(model)
        optimizer.update(model, grads)
        return total, parts

    before = model(x)
    total, parts = step(model, optimizer, x, y)
    assert set(parts) == {"mse", "l1"}
    assert_close(parts["mse"], np.mean((np.asarray(before) - np.asarray(y)) ** 2), rtol=1e-5)
    assert_close(total, 0.7 * parts["mse"] + 0.3 * parts["l1"], rtol=1e-6)
    after_total, _ = loss(model(x), y)
    assert float(after_total) < float(total)


def test_combine_rejects_bad_terms():
    with pytest.raises(TypeError, match=r"terms\['mse'\] must be a \(loss_fn, weight\) pair"):
        jaxloss.combine({"mse": jaxloss.mse_loss})
    with pytest.raises(ValueError, match="each term must reduce to a scalar"):
        jaxloss.combine({"mse": (lambda a, b: jaxloss.mse_loss(a, b, reduction="none"), 1.0)})(
            jnp.ones(2), jnp.ones(2)
        )


def test_per_sample_losses_and_per_example_gradients():
    rng = np.random.default_rng(5)
    logits, labels = jnp.asarray(rng.standard_normal((6, 5))), jnp.asarray(rng.integers(0, 5, 6))
    per = jaxloss.per_sample(jaxloss.cross_entropy)(logits, labels)
    assert_close(per, jaxloss.cross_entropy(logits, labels, reduction="none"), rtol=1e-6)
    w = jnp.asarray(rng.standard_normal((5, 5)))
    grads = jax.vmap(
        jax.grad(lambda w_, x, y: jaxloss.cross_entropy(x @ w_, y)), in_axes=(None, 0, 0)
    )(w, logits, labels)
    assert grads.shape == (6, 5, 5)
    with pytest.raises(ValueError, match=r"disagree on the batch size: \[3, 6\]"):
        jaxloss.per_sample(jaxloss.mse_loss)(jnp.ones((6, 2)), jnp.ones((3, 2)))
