"""Metrics against direct NumPy binning, seed 003's ECE and scikit-learn; a Flax +
optax training step with `combine`; `per_sample`."""

from __future__ import annotations

import itertools
import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from flax import nnx
from helpers import assert_close
from jax.experimental import checkify
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


def _np_calibration_error(confidence, hit, num_bins, norm, keep):
    """torchmetrics' _ce_compute (l1, l2, max) in float64 over the kept samples,
    with the top-label bins (lo, hi] (confidence 0 in the first bin)."""
    confidence, hit = confidence[keep], hit[keep]
    index = np.clip(np.ceil(confidence * num_bins).astype(int) - 1, 0, num_bins - 1)
    gaps, props = np.zeros(num_bins), np.zeros(num_bins)
    for b in range(num_bins):
        sel = index == b
        if sel.any():
            gaps[b] = abs(hit[sel].mean() - confidence[sel].mean())
            props[b] = sel.mean()
    if norm == "l1":
        return np.sum(gaps * props)
    if norm == "max":
        return np.max(gaps)
    return np.sqrt(np.sum(gaps**2 * props))


@pytest.mark.parametrize(("norm", "num_bins"), [("l1", 7), ("l2", 10), ("max", 15), ("l2", 1)])
def test_calibration_error_norms_match_torchmetrics_formula(norm, num_bins):
    rng = np.random.default_rng(num_bins)
    logits = 2 * rng.standard_normal((300, 4))
    probs = np.asarray(jax.nn.softmax(jnp.asarray(logits, jnp.float32)), np.float64)
    labels = rng.integers(0, 4, 300)
    keep = rng.random(300) < 0.8
    hit = (probs.argmax(-1) == labels).astype(float)
    expected = _np_calibration_error(probs.max(-1), hit, num_bins, norm, keep)
    ece = jax.jit(
        lambda p, y, w: jaxloss.expected_calibration_error(
            p, y, num_bins=num_bins, norm=norm, where=w
        )
    )
    assert_close(ece(probs.astype(np.float32), labels, keep), expected, rtol=1e-5)
    # empty input is 0; an invalid kept sample is NaN; a bad norm names the argument
    empty = jaxloss.expected_calibration_error(
        np.zeros((0, 4), np.float32), np.zeros(0, int), norm=norm
    )
    assert float(empty) == 0.0
    bad = np.where(np.arange(300) == 0, 9, labels)
    assert np.isnan(float(jaxloss.expected_calibration_error(probs, bad, norm=norm)))
    with pytest.raises(
        ValueError,
        match="expected_calibration_error: norm must be one of 'l1', 'l2', 'max'; got 'l3'",
    ):
        jaxloss.expected_calibration_error(probs, labels, norm="l3")


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
        expected = skm.precision_recall_fscore_support(
            y,
            pred,
            average=average,
            zero_division=0,  # pyright: ignore[reportArgumentType]
        )[:3]
        assert_close(got, expected, rtol=1e-5)
    assert_close(
        jaxloss.iou_score(pred, y, num_classes=4),
        skm.jaccard_score(y, pred, average=None),  # pyright: ignore[reportArgumentType]
        rtol=1e-5,
    )
    assert_close(
        jaxloss.dice_score(pred, y, num_classes=4),
        skm.f1_score(y, pred, average=None),  # pyright: ignore[reportArgumentType]
        rtol=1e-5,
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
        jaxloss.expected_calibration_error(probs, y, n_bins=2)  # pyright: ignore[reportCallIssue]
    with pytest.raises(TypeError):
        jaxloss.accuracy(scores, labels=y)  # pyright: ignore[reportCallIssue]


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
        jaxloss.combine({"mse": jaxloss.mse_loss})  # pyright: ignore[reportArgumentType]
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


# ------------------------------------------------- contract: no silently wrong number


def test_class_axis_equals_the_moved_axis():
    # guards against axis= being refused (channel-first [N, C, ...] scores had to be
    # moved by hand); values checked against scikit-learn on the flattened pixels
    rng = np.random.default_rng(7)
    scores = rng.standard_normal((3, 4, 5, 2)).astype(np.float32)  # [N, C, H, W]
    y = rng.integers(0, 4, (3, 5, 2))
    last = np.moveaxis(scores, 1, -1)
    for k in (1, 2):
        got = jaxloss.accuracy(scores, y, top_k=k, axis=1)
        assert_close(got, jaxloss.accuracy(last, y, top_k=k))
        flat = last.reshape(-1, 4)
        expected = skm.top_k_accuracy_score(y.ravel(), flat, k=k, labels=range(4))
        assert_close(got, expected, rtol=1e-6)
    pred = last.argmax(-1).ravel()
    assert_close(
        jaxloss.iou_score(scores, y, axis=1),
        skm.jaccard_score(y.ravel(), pred, average=None, labels=range(4), zero_division=0),  # pyright: ignore[reportArgumentType]
    )
    assert_close(
        jaxloss.dice_score(scores, y, axis=1, num_classes=4),
        skm.f1_score(y.ravel(), pred, average=None, labels=range(4), zero_division=0),  # pyright: ignore[reportArgumentType]
    )
    for average in ("macro", "micro"):
        assert_close(
            jaxloss.precision_recall_f1(scores, y, axis=-3, average=average),
            jaxloss.precision_recall_f1(last, y, average=average),
        )
    assert_close(jaxloss.confusion_counts(scores, y, axis=1), jaxloss.confusion_counts(last, y))
    probs = np.asarray(jax.nn.softmax(jnp.asarray(rng.standard_normal((50, 3))), -1))
    labels = rng.integers(0, 3, 50)
    assert_close(
        jaxloss.expected_calibration_error(probs.T, labels, axis=0),
        _np_ece(probs.max(-1), (probs.argmax(-1) == labels).astype(float), 10, True),
        rtol=1e-5,
    )
    assert_close(
        jaxloss.reliability_diagram(probs.T, labels, axis=0, num_bins=4),
        jaxloss.reliability_diagram(probs, labels, num_bins=4),
    )
    with pytest.raises(ValueError, match=r"^jaxloss\.accuracy: targets has shape .* pass axis=1"):
        jaxloss.accuracy(scores, y)
    with pytest.raises(ValueError, match=r"^jaxloss\.iou_score: axis=1 names the class axis"):
        jaxloss.iou_score(y, y, num_classes=4, axis=1)


_SCORES = jnp.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
_LABELS = jnp.array([0, 2])


@pytest.mark.parametrize(
    ("call_", "error", "message"),
    [
        (lambda: jaxloss.accuracy(_SCORES, _LABELS, top_k="1"), TypeError, "accuracy: top_k"),  # pyright: ignore[reportArgumentType]
        (lambda: jaxloss.accuracy(_SCORES, _LABELS, top_k=True), TypeError, "accuracy: top_k"),
        (lambda: jaxloss.accuracy(_SCORES, _LABELS, axis=1.0), TypeError, "accuracy: axis"),  # pyright: ignore[reportArgumentType]
        (
            lambda: jaxloss.expected_calibration_error(_SCORES, _LABELS, num_bins="10"),  # pyright: ignore[reportArgumentType]
            TypeError,
            "expected_calibration_error: num_bins",
        ),
        (
            lambda: jaxloss.reliability_diagram(_SCORES, _LABELS, num_bins=0),
            ValueError,
            "reliability_diagram: num_bins",
        ),
        (
            lambda: jaxloss.iou_score(_LABELS, _LABELS, num_classes="3"),  # pyright: ignore[reportArgumentType]
            TypeError,
            "iou_score: num_classes",
        ),
        (
            lambda: jaxloss.dice_score(_SCORES[:, 0], _LABELS, threshold="0.5"),  # pyright: ignore[reportArgumentType]
            TypeError,
            "dice_score: threshold",
        ),
        (
            lambda: jaxloss.precision_recall_f1(_SCORES[:, 0], _LABELS, threshold=float("nan")),
            ValueError,
            "precision_recall_f1: threshold",
        ),
        (
            lambda: jaxloss.iou_score(_SCORES, _LABELS, num_classes=4),
            ValueError,
            "iou_score: num_classes=4 but predictions has 3 scores",
        ),
        (
            lambda: jaxloss.dice_score(_SCORES, _LABELS[:1]),
            ValueError,
            "dice_score: targets has shape",
        ),
    ],
)
def test_options_are_validated_naming_the_metric_and_argument(call_, error, message):
    # guards against num_bins="10", top_k=True, num_classes="3" or threshold="0.5"
    # being used as given (or failing deep inside), against a num_classes that the
    # scores contradict being ignored, and against iou_score and dice_score errors
    # naming confusion_counts
    with pytest.raises(error, match="^" + re.escape(f"jaxloss.{message}")):
        call_()


def test_invalid_inputs_give_nan_not_a_finite_metric():
    # guards against NaN scores or probabilities, probabilities outside [0, 1] and
    # ids that are not classes being binned, thresholded or compared into a finite
    # metric (a NaN confidence landed in some bin; a label of 7 was never a hit)
    nan_row = _SCORES.at[1, 1].set(jnp.nan)
    assert np.isnan(float(jaxloss.accuracy(nan_row, _LABELS)))
    assert np.isnan(float(jaxloss.accuracy(_SCORES, jnp.array([0, 7]))))
    assert np.isnan(float(jaxloss.expected_calibration_error(nan_row, _LABELS)))
    assert np.isnan(float(jaxloss.expected_calibration_error(_SCORES, jnp.array([0, 3]))))
    p = jnp.array([0.2, 0.9, 0.4])
    assert np.isnan(
        float(jaxloss.expected_calibration_error(p.at[2].set(jnp.nan), _LABELS[:1].repeat(3)))
    )
    assert np.isnan(
        float(jaxloss.expected_calibration_error(p.at[1].set(1.5), jnp.array([0, 1, 0])))
    )
    assert np.isnan(float(jaxloss.expected_calibration_error(p, jnp.array([0, 2, 0]))))
    d = jaxloss.reliability_diagram(p.at[2].set(jnp.nan), jnp.array([0, 1, 0]), num_bins=2)
    assert d.count.tolist() == [2.0, 1.0] and np.isnan(float(d.confidence[0]))
    for counts in (
        jaxloss.confusion_counts(nan_row, _LABELS),
        jaxloss.confusion_counts(p.at[0].set(jnp.nan), jnp.array([0, 1, 0])),
        jaxloss.confusion_counts(jnp.array([0, 1, 5]), jnp.array([0, 1, 1]), num_classes=3),
        jaxloss.confusion_counts(jnp.array([0, 1, 2]), jnp.array([0, 1, 1])),  # binary: 2
        jaxloss.confusion_counts(p, jnp.array([0.0, 1.0, 0.5])),
    ):
        assert all(np.all(np.isnan(np.asarray(c))) for c in counts)
    assert np.isnan(float(jaxloss.iou_score(jnp.array([0, 1, 2]), jnp.array([0, 1, 1]))))
    precision = jax.jit(lambda t: jaxloss.precision_recall_f1(p, jnp.array([0, 1, 0]), threshold=t))
    assert np.isnan(float(precision(jnp.nan)[0])) and np.isfinite(float(precision(0.5)[0]))
    with pytest.raises(Exception, match=r"accuracy: targets must be a class index in \[0, 3\)"):
        jaxloss.checked(jaxloss.accuracy)(_SCORES, jnp.array([0, 7]))
    with pytest.raises(Exception, match=r"expected_calibration_error: probs must be in \[0, 1\]"):
        jaxloss.checked(jax.jit(jaxloss.expected_calibration_error))(
            p.at[1].set(1.5), _LABELS[:1].repeat(3)
        )


def test_masked_invalid_samples_are_left_out():
    # guards against a masked sample's NaN padding reaching the metric (0 * NaN was
    # NaN) or its invalid label being reported: masking equals slicing it away
    rng = np.random.default_rng(8)
    probs = np.asarray(jax.nn.softmax(jnp.asarray(rng.standard_normal((20, 3))), -1))
    labels = rng.integers(0, 3, 20)
    keep = np.arange(20) % 4 != 0
    padded_p = np.where(keep[:, None], probs, np.nan).astype(np.float32)
    padded_y = np.where(keep, labels, -1)
    for metric in (jaxloss.expected_calibration_error, jaxloss.accuracy):
        # the metric's own run-time checks pass (checked would also refuse the NaN inputs)
        err, got = checkify.checkify(metric)(padded_p, padded_y, where=jnp.asarray(keep))
        err.throw()
        assert_close(got, metric(probs[keep], labels[keep]), rtol=1e-6)
    counts = jaxloss.confusion_counts(padded_p, padded_y, where=jnp.asarray(keep))
    assert_close(counts, jaxloss.confusion_counts(probs[keep], labels[keep]))
