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
