"""No silently wrong number (language): the vocabulary axis at ``axis=``, invalid
token ids named as the argument the user passed, options of the wrong type, and
the fused loss on an empty batch. Each test says what it guards against;
references are PyTorch or float64 NumPy.
"""

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


def _torch_value_grad(fn, x, *args, **kwargs):
    tx = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
    out = fn(tx, *args, **kwargs)
    out.sum().backward()
    assert tx.grad is not None
    return out.detach().numpy(), tx.grad.numpy()


def _value_grad(fn, x, *args, **kwargs):
    x = jnp.asarray(x)
    return fn(x, *args, **kwargs), jax.grad(lambda a: jnp.sum(fn(a, *args, **kwargs)))(x)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_causal_lm_axis_1_matches_torch_on_its_own_layout(reduction):
    """Guards: torch's [B, V, T] logits needed a transpose by hand; with axis=1 the
    loss equals F.cross_entropy on the shifted [B, V, T - 1] logits."""
    rng = np.random.default_rng(30)
    logits = rng.standard_normal((3, V, 7)).astype(np.float32)
    tokens = random_tokens(rng, (3, 7))
    ours = _value_grad(
        jaxloss.causal_lm_loss, logits, jnp.asarray(tokens), axis=1, reduction=reduction
    )
    ref = _torch_value_grad(
        lambda a: F.cross_entropy(a[:, :, :-1], torch.tensor(tokens[:, 1:]), reduction=reduction),
        logits,
    )
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)


def test_masked_lm_axis_1_matches_torch_on_its_own_layout():
    """Guards: as above, for the masked-token loss on [B, V, T] logits."""
    rng = np.random.default_rng(31)
    logits = rng.standard_normal((2, V, 5)).astype(np.float32)
    targets = random_tokens(rng, (2, 5))
    for reduction in ("mean", "sum", "none"):
        ours = _value_grad(
            jaxloss.masked_lm_loss, logits, jnp.asarray(targets), axis=1, reduction=reduction
        )
        ref = _torch_value_grad(
            lambda a, r=reduction: F.cross_entropy(a, torch.tensor(targets), reduction=r), logits
        )
        assert_close(ours, ref, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("axis", [0, 1])
def test_sequence_log_probs_axis_equals_moved_and_numpy(axis):
    """Guards: sequence_log_probs had no axis=; axis=k equals moving the vocabulary
    last (values and gradients), and the float64 NumPy sum of log-probabilities."""
    rng = np.random.default_rng(32)
    last = rng.standard_normal((2, 6, V))  # [B, T, V]
    tokens = jnp.asarray(rng.integers(0, V, (2, 6)))
    moved = np.moveaxis(last, -1, axis)
    ours = _value_grad(jaxloss.sequence_log_probs, moved.astype(np.float32), tokens, axis=axis)
    value, grad = _value_grad(jaxloss.sequence_log_probs, last.astype(np.float32), tokens)
    assert_close(ours, (value, jnp.moveaxis(grad, -1, axis)), rtol=1e-6, atol=1e-7)
    log_p = last - np.log(np.exp(last).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_p[:, :-1], np.asarray(tokens)[:, 1:, None], -1)[..., 0]
    assert_close(ours[0], picked.sum(-1), rtol=1e-5)


@pytest.mark.parametrize(
    ("fn", "name"),
    [
        (jaxloss.causal_lm_loss, "tokens"),
        (jaxloss.sequence_log_probs, "tokens"),
        (jaxloss.masked_lm_loss, "targets"),
    ],
)
def test_invalid_token_is_nan_and_checked_names_the_argument(fn, name):
    """Guards: checked said "targets" where the argument is tokens; a token id that
    is neither in the vocabulary nor ignore_index must be NaN, never a class."""
    logits = jnp.zeros((2, 4, V))
    ids = jnp.array([[1, 2, 3, 4], [1, V, 2, 3]])
    out = np.asarray(
        fn(logits, ids) if fn is jaxloss.sequence_log_probs else fn(logits, ids, reduction="none")
    )
    assert np.isnan(out).any() and np.isfinite(out[0]).all()
    with pytest.raises(
        Exception, match=rf"jaxloss\.{fn.__name__}: {name} must be a class index in \[0, {V}\)"
    ):
        jaxloss.checked(jax.jit(fn))(logits, ids)


def test_causal_lm_traced_z_loss_out_of_range_is_nan():
    """Guards: a traced z_loss skipped the >= 0 check and gave a finite number."""
    logits, tokens = jnp.zeros((1, 3, V)), jnp.array([[0, 1, 2]])
    step = jax.jit(lambda z: jaxloss.causal_lm_loss(logits, tokens, z_loss=z))
    assert np.isfinite(float(step(1e-3))) and np.isnan(float(step(-1.0)))
    with pytest.raises(Exception, match=r"jaxloss\.causal_lm_loss: z_loss must be in \[0.0, inf\]"):
        jaxloss.checked(step)(jnp.float32(-1.0))


_H, _W, _T = jnp.ones((2, 3)), jnp.zeros((3, V)), jnp.array([1, 4])


@pytest.mark.parametrize(
    ("fn", "args", "name", "wrong"),
    [
        (jaxloss.causal_lm_loss, (jnp.zeros((1, 3, V)), jnp.zeros((1, 3), int)), n, w)
        for n, w in (("ignore_index", "-1"), ("label_smoothing", "0.1"), ("z_loss", "0.1"))
    ]
    + [
        (
            jaxloss.masked_lm_loss,
            (jnp.zeros((1, 3, V)), jnp.zeros((1, 3), int)),
            "ignore_index",
            "-1",
        ),
        (
            jaxloss.sequence_log_probs,
            (jnp.zeros((1, 3, V)), jnp.zeros((1, 3), int)),
            "ignore_index",
            True,
        ),
    ]
    + [
        (jaxloss.fused_linear_cross_entropy, (_H, _W, _T), n, w)
        for n, w in (
            ("ignore_index", "-1"),
            ("label_smoothing", "0.1"),
            ("z_loss", "0.1"),
            ("logit_softcap", "30"),
            ("chunk_size", "4"),
            ("chunk_size", 4.0),
        )
    ],
)
def test_option_of_the_wrong_type_raises_naming_it(fn, args, name, wrong):
    """Guards: string options failed deep inside (the fused loss with an
    AttributeError); ignore_index="-1" blamed where."""
    with pytest.raises(TypeError, match=rf"^jaxloss\.{fn.__name__}: {name} must be"):
        fn(*args, **{name: wrong})


@pytest.mark.parametrize("name", ["label_smoothing", "z_loss", "logit_softcap"])
def test_fused_traced_option_is_refused_naming_it(name):
    """Guards: the fused loss compiles these in; a traced one failed with a bare
    ConcretizationTypeError that named nothing."""
    with pytest.raises(TypeError, match=rf"fused_linear_cross_entropy: {name} must be a concrete"):
        jax.jit(lambda v: jaxloss.fused_linear_cross_entropy(_H, _W, _T, **{name: v}))(0.5)


def test_fused_empty_batch_is_zero_with_zero_gradient():
    """Guards: an empty batch raised ZeroDivisionError; now 0 for mean and sum, an
    empty "none" and zero gradients, as cross_entropy on the materialised logits."""
    h, w = jnp.zeros((0, 5, 8)), jnp.asarray(np.random.default_rng(33).normal(size=(8, V)))
    t = jnp.zeros((0, 5), int)
    for reduction in ("mean", "sum"):
        value, grads = jax.value_and_grad(
            lambda a, b, r=reduction: jaxloss.fused_linear_cross_entropy(
                a, b, t, reduction=r, label_smoothing=0.1, z_loss=1e-4
            ),
            argnums=(0, 1),
        )(h, w)
        assert value.shape == () and float(value) == 0.0
        assert grads[0].shape == h.shape and np.all(np.asarray(grads[1]) == 0)
    assert jaxloss.fused_linear_cross_entropy(h, w, t, reduction="none").shape == (0, 5)


def test_bad_vocabulary_axis_raises_naming_it():
    """Guards: a wrong axis is refused at trace time, never read as another axis."""
    with pytest.raises(
        ValueError, match=re.escape("jaxloss.causal_lm_loss: axis=3 is out of range")
    ):
        jaxloss.causal_lm_loss(jnp.zeros((1, 3, V)), jnp.zeros((1, 3), int), axis=3)
