"""Lovász losses against the algorithm as Berman wrote it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from segmentation_inputs import K, inputs, jax_value_grad

import jaxloss

# ----------------------------------------------------------------- Lovász, Berman's way


def _lovasz_grad(gt_sorted):
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1].clone()
    return jaccard


def _berman_hinge_flat(logits, labels):
    signs = 2.0 * labels - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, perm = torch.sort(errors, descending=True)
    return torch.dot(F.relu(errors_sorted), _lovasz_grad(labels[perm]))


def _berman_softmax_flat(probs, labels, classes):
    losses = []
    for c in classes:
        fg = (labels == c).double()
        if fg.sum() == 0:
            continue
        errors = (fg - probs[:, c]).abs()
        errors_sorted, perm = torch.sort(errors, descending=True)
        losses.append(torch.dot(errors_sorted, _lovasz_grad(fg[perm])))
    return torch.stack(losses).mean() if losses else None


@pytest.mark.parametrize("per_sample", (True, False))
@pytest.mark.parametrize("masked", (False, True))
def test_lovasz_hinge_matches_berman(per_sample, masked):
    rng = np.random.default_rng(8 + masked)
    x, t, mask = inputs("binary", rng)
    valid = mask if masked else np.ones_like(mask)
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t, dtype=torch.float64)
    groups = [(xt[b][torch.tensor(valid[b])], tt[b][torch.tensor(valid[b])]) for b in range(len(x))]
    if not per_sample:
        groups = [(xt[torch.tensor(valid)], tt[torch.tensor(valid)])]
    expected = torch.stack([_berman_hinge_flat(a, b) for a, b in groups]).mean()
    expected.backward()
    value, grad = jax_value_grad(
        jaxloss.lovasz_hinge_loss, x, jnp.asarray(t), where=mask if masked else None,
        per_sample=per_sample,
    )  # fmt: skip
    assert_close(value, expected.item(), rtol=1e-5)
    assert_close(grad, xt.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("per_sample", (True, False))
@pytest.mark.parametrize("masked", (False, True))
@pytest.mark.parametrize("include_background", (True, False))
def test_lovasz_softmax_matches_berman(per_sample, masked, include_background):
    rng = np.random.default_rng(10 + masked)
    x, t, mask = inputs("multiclass", rng)  # with void labels
    valid = (mask if masked else np.ones_like(mask)) & (t != -100)
    xt = torch.tensor(x, requires_grad=True)
    probs, labels = torch.softmax(xt, -1), torch.tensor(t)
    classes = range(0 if include_background else 1, K)
    if per_sample:
        groups = [
            (probs[b][torch.tensor(valid[b])], labels[b][torch.tensor(valid[b])])
            for b in range(len(x))
        ]
    else:
        groups = [(probs[torch.tensor(valid)], labels[torch.tensor(valid)])]
    losses = [_berman_softmax_flat(p, lab, classes) for p, lab in groups]
    expected = torch.stack([v for v in losses if v is not None]).mean()
    expected.backward()
    value, grad = jax_value_grad(
        jaxloss.lovasz_softmax_loss, x, jnp.asarray(t), where=mask if masked else None,
        per_sample=per_sample, include_background=include_background,
    )  # fmt: skip
    assert_close(value, expected.item(), rtol=1e-5)
    assert_close(grad, xt.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("per_sample", (True, False))
def test_lovasz_softmax_absent_classes_and_all_void(per_sample):
    x = 3 * jax.random.normal(jax.random.key(0), (2, 4, 4, K))
    t = jnp.full((2, 4, 4), -100)
    value, grad = jax_value_grad(jaxloss.lovasz_softmax_loss, x, t, per_sample=per_sample)
    assert float(value) == 0.0 and np.all(grad == 0)


@pytest.mark.parametrize("per_sample", (True, False))
def test_lovasz_softmax_channel_first_matches_berman(per_sample):
    """Berman's ``lovasz_softmax`` (and smp's LovaszLoss) take probabilities
    [B, C, H, W] and flatten them with permute(0, 2, 3, 1); ``axis=1`` takes the
    same arrays. Guards against: no ``axis`` argument."""
    rng = np.random.default_rng(15)
    x = 3 * rng.standard_normal((3, K, 4, 5))
    labels = rng.integers(0, K, (3, 4, 5))
    labels[0, 0, :3] = -100
    xt = torch.tensor(x, requires_grad=True)
    probs = torch.softmax(xt, 1).permute(0, 2, 3, 1)  # Berman's flatten_probas
    lab = torch.tensor(labels)
    valid = lab != -100
    if per_sample:
        groups = [(probs[b][valid[b]], lab[b][valid[b]]) for b in range(len(x))]
    else:
        groups = [(probs[valid], lab[valid])]
    losses = [_berman_softmax_flat(p, t, range(K)) for p, t in groups]
    expected = torch.stack([v for v in losses if v is not None]).mean()
    expected.backward()
    assert xt.grad is not None
    value, grad = jax_value_grad(
        jaxloss.lovasz_softmax_loss, x, jnp.asarray(labels), axis=1, per_sample=per_sample
    )
    assert_close(value, expected.item(), rtol=1e-5)
    assert_close(grad, xt.grad.numpy(), rtol=1e-5, atol=1e-7)
