"""Token-level language-model losses (jaxloss/losses/language/lm.py): torch parity
(F.cross_entropy on shifted logits) and z-loss against NumPy."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from language_helpers import V, random_tokens

import jaxloss


@pytest.mark.parametrize("smoothing", (0.0, 0.2))
def test_causal_lm_matches_torch_on_shifted_logits(smoothing):
    rng = np.random.default_rng(0)
    logits, tokens = rng.standard_normal((3, 7, V)), random_tokens(rng, (3, 7))
    x = torch.tensor(logits, requires_grad=True)
    expected = F.cross_entropy(
        x[:, :-1].reshape(-1, V), torch.tensor(tokens[:, 1:]).reshape(-1), label_smoothing=smoothing
    )
    expected.backward()
    value, grad = jax.value_and_grad(
        lambda a: jaxloss.causal_lm_loss(a, jnp.asarray(tokens), label_smoothing=smoothing)
    )(jnp.asarray(logits))
    assert x.grad is not None
    assert_close(value, expected.item(), rtol=1e-5)
    assert_close(grad, x.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_causal_lm_z_loss_and_attention_mask():
    rng = np.random.default_rng(1)
    logits, tokens = rng.standard_normal((2, 6, V)), random_tokens(rng, (2, 6), pad=False)
    mask = np.ones((2, 6), bool)
    mask[1, 4:] = False
    log_z = np.log(np.sum(np.exp(logits), -1))[:, :-1]
    nll = log_z - np.take_along_axis(logits[:, :-1], tokens[:, 1:, None], -1)[..., 0]
    counted = mask[:, 1:]
    expected = np.sum((nll + 1e-3 * log_z**2) * counted) / counted.sum()
    assert_close(
        jaxloss.causal_lm_loss(logits, tokens, z_loss=1e-3, where=mask), expected, rtol=1e-5
    )


def test_masked_lm_and_sequence_log_probs():
    rng = np.random.default_rng(2)
    logits, targets = rng.standard_normal((2, 5, V)), random_tokens(rng, (2, 5))
    expected = F.cross_entropy(
        torch.tensor(logits).reshape(-1, V), torch.tensor(targets).reshape(-1)
    )
    assert_close(jaxloss.masked_lm_loss(logits, targets), expected.item(), rtol=1e-5)
    tokens = rng.integers(0, V, (2, 5))
    completion = np.array([[0, 0, 1, 1, 1], [0, 1, 1, 1, 0]], bool)
    log_p = logits - np.log(np.sum(np.exp(logits), -1, keepdims=True))
    picked = np.take_along_axis(log_p[:, :-1], tokens[:, 1:, None], -1)[..., 0]
    assert_close(
        jaxloss.sequence_log_probs(logits, tokens, where=completion),
        np.sum(picked * completion[:, 1:], -1),
        rtol=1e-5,
    )


def test_errors():
    with pytest.raises(
        ValueError,
        match=re.escape("jaxloss.causal_lm_loss: tokens has shape (2, 4); expected (2, 5)"),
    ):
        jaxloss.causal_lm_loss(jnp.zeros((2, 5, 3)), jnp.zeros((2, 4), int))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss_name", ["causal_lm_loss", "masked_lm_loss"])
def test_class_weights_rescale_each_token_by_its_target(loss_name, reduction):
    """class_weights [V]: each counted token's loss (smoothing and z-loss included)
    times w[target], the mean still over the count; values and gradients against
    float64 torch, with a masked sequence holding NaN logits and weight NaN on a
    class that only padding reads."""
    rng = np.random.default_rng(3)
    logits, ids = rng.standard_normal((3, 6, V)), random_tokens(rng, (3, 6))
    ids[ids == V - 1] = 0  # class V - 1 is never a target: its weight may be NaN
    class_w = rng.uniform(0.2, 3.0, V)
    class_w[V - 1] = np.nan
    keep_rows = np.array([True, False, True])
    mask = np.broadcast_to(keep_rows[:, None], ids.shape)
    causal = loss_name == "causal_lm_loss"
    options = {"label_smoothing": 0.1, "z_loss": 1e-3} if causal else {}

    x = torch.tensor(logits, requires_grad=True)
    scored, targets = (x[:, :-1], ids[:, 1:]) if causal else (x, ids)
    counted = (targets != -100) & mask[:, : targets.shape[1]]
    ce = F.cross_entropy(
        scored.reshape(-1, V),
        torch.tensor(targets).reshape(-1),
        reduction="none",
        label_smoothing=options.get("label_smoothing", 0.0),
    ).reshape(targets.shape)
    ce = ce + options.get("z_loss", 0.0) * torch.logsumexp(scored, -1) ** 2
    w = torch.tensor(np.where(counted, class_w[np.where(counted, targets, 0)], 0.0))
    expected = torch.sum(ce * w)
    if reduction == "mean":
        expected = expected / counted.sum()
    expected.backward()

    poisoned = np.where(mask[..., None], logits, np.nan)
    fn = getattr(jaxloss, loss_name)
    value, grad = jax.value_and_grad(
        lambda a: fn(
            a, jnp.asarray(ids), class_weights=class_w, where=mask, reduction=reduction, **options
        )
    )(jnp.asarray(poisoned, jnp.float32))
    assert x.grad is not None
    assert_close(value, expected.item(), rtol=1e-5)
    assert_close(grad, x.grad.numpy(), rtol=1e-4, atol=1e-7)
