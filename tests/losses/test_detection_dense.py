"""Dense-detection losses against torch re-implementations of mmdet's code
(values and autograd gradients in float64), and their hard cases."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close

import jaxloss


def _mmdet_varifocal(pred, target, alpha=0.75, gamma=2.0):
    """mmdet ``varifocal_loss`` with ``iou_weighted=True``, unreduced."""
    pred_sigmoid = pred.sigmoid()
    focal_weight = (
        target * (target > 0.0).double()
        + alpha * (pred_sigmoid - target).abs().pow(gamma) * (target <= 0.0).double()
    )
    return F.binary_cross_entropy_with_logits(pred, target, reduction="none") * focal_weight


def _mmdet_qfl_tensor_target(pred, target, beta=2.0):
    """mmdet ``quality_focal_loss_tensor_target`` (activated=False): ``[N]``."""
    pred_sigmoid = pred.sigmoid()
    scale_factor = pred_sigmoid
    zerolabel = scale_factor.new_zeros(pred.shape)
    loss = F.binary_cross_entropy_with_logits(pred, zerolabel, reduction="none") * (
        scale_factor.pow(beta)
    )
    pos = target != 0
    scale_factor = target[pos] - pred_sigmoid[pos]
    loss = loss.clone()
    loss[pos] = F.binary_cross_entropy_with_logits(
        pred[pos], target[pos], reduction="none"
    ) * scale_factor.abs().pow(beta)
    return loss.sum(dim=1)


def _mmdet_qfl_label_score(pred, label, score, beta=2.0):
    """mmdet ``quality_focal_loss`` with (label, score) targets: ``[N]``."""
    pred_sigmoid = pred.sigmoid()
    scale_factor = pred_sigmoid
    zerolabel = scale_factor.new_zeros(pred.shape)
    loss = F.binary_cross_entropy_with_logits(pred, zerolabel, reduction="none") * (
        scale_factor.pow(beta)
    )
    bg_class_ind = pred.size(1)
    pos = ((label >= 0) & (label < bg_class_ind)).nonzero().squeeze(1)
    pos_label = label[pos].long()
    scale_factor = score[pos] - pred_sigmoid[pos, pos_label]
    loss = loss.clone()
    loss[pos, pos_label] = F.binary_cross_entropy_with_logits(
        pred[pos, pos_label], score[pos], reduction="none"
    ) * scale_factor.abs().pow(beta)
    return loss.sum(dim=1)


def _mmdet_dfl(pred, label):
    """mmdet ``distribution_focal_loss``: ``[N]``."""
    dis_left = label.long()
    dis_right = dis_left + 1
    weight_left = dis_right.double() - label
    weight_right = label - dis_left.double()
    return (
        F.cross_entropy(pred, dis_left, reduction="none") * weight_left
        + F.cross_entropy(pred, dis_right, reduction="none") * weight_right
    )


def _quality_targets(rng, n, c, ones=False):
    """IoU-aware targets: a third of the rows positive at one class."""
    y = np.zeros((n, c))
    positive = np.flatnonzero(rng.random(n) < 1 / 3)
    y[positive, rng.integers(0, c, len(positive))] = 1.0 if ones else rng.random(len(positive))
    return y


def _jax64(fn, x, y, **kwargs):
    """(value of the sum of ``fn``, its gradient, the "none" output), in float64,
    compiled once."""
    options = {**kwargs, "reduction": "none"}

    def run(a, t):
        value, grad = jax.value_and_grad(lambda b: jnp.sum(fn(b, t, **kwargs)))(a)
        return value, grad, fn(a, t, **options)

    with jax.enable_x64(True):
        value, grad, none = jax.jit(run)(jnp.asarray(x, jnp.float64), jnp.asarray(y))
        return float(value), np.asarray(grad), np.asarray(none)


@pytest.mark.parametrize(("alpha", "gamma", "n"), [(0.75, 2.0, 20), (0.25, 0.5, 7), (1.0, 0.0, 9)])
def test_varifocal_loss_matches_mmdet(alpha, gamma, n):
    rng = np.random.default_rng(n)
    x, y = 3.0 * rng.standard_normal((n, 5)), _quality_targets(rng, n, 5)
    tx = torch.tensor(x, requires_grad=True)
    ref = _mmdet_varifocal(tx, torch.tensor(y), alpha, gamma)
    ref.mean().backward()
    value, grad, none = _jax64(
        jaxloss.varifocal_loss, x, y, alpha=alpha, gamma=gamma, reduction="mean"
    )
    assert none.shape == (n, 5)
    assert_close(none, ref.detach().numpy(), rtol=1e-9, atol=1e-14)
    assert_close(value, ref.mean().item(), rtol=1e-9)
    assert tx.grad is not None
    assert_close(grad, tx.grad.numpy(), rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize(("beta", "n"), [(2.0, 16), (1.0, 5), (0.5, 8)])
def test_quality_focal_loss_matches_mmdet(beta, n):
    rng = np.random.default_rng(n)
    x, y = 3.0 * rng.standard_normal((n, 4)), _quality_targets(rng, n, 4)
    tx = torch.tensor(x, requires_grad=True)
    ref = _mmdet_qfl_tensor_target(tx, torch.tensor(y), beta)
    ref.sum().backward()
    value, grad, none = _jax64(jaxloss.quality_focal_loss, x, y, beta=beta, reduction="sum")
    assert_close(none.sum(-1), ref.detach().numpy(), rtol=1e-9)  # mmdet sums the classes
    assert_close(value, ref.sum().item(), rtol=1e-9)
    assert tx.grad is not None
    assert_close(grad, tx.grad.numpy(), rtol=1e-8, atol=1e-14)
    # mmdet's (label, score) form: the score at the label, 0 elsewhere; C is background
    label = np.where(y.max(-1) > 0, y.argmax(-1), 4)
    score = y.max(-1)
    ref2 = _mmdet_qfl_label_score(torch.tensor(x), torch.tensor(label), torch.tensor(score), beta)
    assert_close(none.sum(-1), ref2.numpy(), rtol=1e-9)


def test_distribution_focal_loss_matches_mmdet():
    rng = np.random.default_rng(0)
    bins = 9
    x = 2.0 * rng.standard_normal((6, 4, bins))
    t = rng.uniform(0.0, bins - 1 - 0.01, (6, 4))
    t[0, :2] = [0.0, 3.0]  # on a bin
    tx = torch.tensor(x, requires_grad=True)
    ref = _mmdet_dfl(tx.reshape(-1, bins), torch.tensor(t).reshape(-1)).reshape(6, 4)
    ref.mean().backward()
    value, grad, none = _jax64(jaxloss.distribution_focal_loss, x, t, reduction="mean")
    assert none.shape == (6, 4)
    assert_close(none, ref.detach().numpy(), rtol=1e-9)
    assert_close(value, ref.mean().item(), rtol=1e-9)
    assert tx.grad is not None
    assert_close(grad, tx.grad.numpy(), rtol=1e-8, atol=1e-14)
    # the last bin itself: all the weight on it (mmdet's coder clamps to K - 1.01)
    last = jaxloss.distribution_focal_loss(
        jnp.asarray(x[:1, 0]), jnp.array([bins - 1.0]), reduction="none"
    )
    ce = F.cross_entropy(torch.tensor(x[:1, 0]), torch.tensor([bins - 1]), reduction="none")
    assert_close(last, ce.numpy(), rtol=1e-5)


def test_extreme_logits_finite_and_bad_targets():
    x = jnp.array([[1e4, -1e4, 30.0, -30.0, 0.0]])
    y = jnp.array([[1.0, 0.0, 0.0, 0.7, 0.0]])
    for fn, kwargs in (
        (jaxloss.varifocal_loss, {"gamma": 0.5}),
        (jaxloss.varifocal_loss, {}),
        (jaxloss.quality_focal_loss, {"beta": 0.5}),
        (jaxloss.quality_focal_loss, {}),
    ):
        value, grad = jax.value_and_grad(lambda a, f=fn, k=kwargs: f(a, y, **k))(x)
        assert np.isfinite(float(value)) and np.all(np.isfinite(np.asarray(grad))), fn
        assert np.isnan(float(fn(x, y.at[0, 0].set(1.5))))
    d = jnp.resize(jnp.array([1e4, -1e4, 0.0]), (2, 8))
    value, grad = jax.value_and_grad(
        lambda a: jaxloss.distribution_focal_loss(a, jnp.array([0.0, 7.0]))
    )(d)
    assert np.isfinite(float(value)) and np.all(np.isfinite(np.asarray(grad)))
    assert np.isnan(float(jaxloss.distribution_focal_loss(d, jnp.array([0.0, 7.5]))))
    with pytest.raises(ValueError, match=r"distribution_focal_loss: targets has shape \(2, 8\)"):
        jaxloss.distribution_focal_loss(d, d)


def test_masked_positions_and_weights():
    rng = np.random.default_rng(5)
    x = jnp.asarray(rng.standard_normal((5, 4, 6)), jnp.float32)
    t = jnp.asarray(rng.uniform(0, 5, (5, 4)), jnp.float32)
    keep = jnp.asarray([True, False, True, True, False])
    w = jnp.asarray(rng.random((5, 4)), jnp.float32)
    none = jaxloss.distribution_focal_loss(x, t, reduction="none")
    masked = jaxloss.distribution_focal_loss(
        x, t.at[1].set(jnp.nan), weight=w, where=keep, reduction="sum"
    )
    assert_close(masked, jnp.sum((w * none)[np.asarray(keep)]), rtol=1e-6)
