"""CTC (jaxloss/losses/language/ctc.py): torch F.ctc_loss parity for every
reduction and zero_infinity (values and gradients), optax ctc_loss per sequence,
and the hard cases: repeated labels, a blank other than 0, varying lengths,
infeasible alignments, empty targets, bf16 logits, masks and bad input."""

from __future__ import annotations

import functools
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close

import jaxloss

B, T, C, S = 7, 10, 5, 5


def _case(blank=0, seed=0):
    """Logits ``[B, T, C]``, padded targets (-1 past each length, never read) and
    lengths covering: full lengths, a triple repeat, a short input, an infeasible
    target (4 labels with a repeat in 4 frames), an empty target, no frames at all
    with an empty target, and a target that fills its frames exactly."""
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((B, T, C)) * 2.0).astype(np.float32)
    labels = np.array([c for c in range(C) if c != blank])
    targets = rng.choice(labels, (B, S))
    targets[1, :3] = labels[1]  # a a a
    targets[3, :4] = [labels[0], labels[0], labels[1], labels[2]]  # needs 5 frames
    targets[6, :5] = [labels[0], labels[1], labels[2], labels[3], labels[0]]
    logit_lengths = np.array([10, 9, 6, 4, 7, 0, 5])
    target_lengths = np.array([5, 3, 2, 4, 0, 0, 5])
    targets = np.where(np.arange(S) < target_lengths[:, None], targets, -1)
    return logits, targets, logit_lengths, target_lengths


REDUCTIONS = ("none", "mean", "sum")


@functools.partial(jax.jit, static_argnames=("blank", "zero_infinity"))
def _every_reduction(logits, targets, logit_lengths, target_lengths, *, blank, zero_infinity):
    """Each reduction's output and the gradient of its sum, in one compilation."""

    def total(x, reduction):
        out = jaxloss.ctc_loss(
            x,
            targets,
            logit_lengths=logit_lengths,
            target_lengths=target_lengths,
            blank=blank,
            zero_infinity=zero_infinity,
            reduction=reduction,
        )
        return jnp.sum(out), out

    return {r: jax.value_and_grad(total, has_aux=True)(logits, r) for r in REDUCTIONS}


@pytest.mark.parametrize(("blank", "zero_infinity"), ((0, False), (3, True)))
def test_matches_torch_for_every_reduction(blank, zero_infinity):
    logits, targets, logit_lengths, target_lengths = _case(blank)
    ours = _every_reduction(
        logits, targets, logit_lengths, target_lengths, blank=blank, zero_infinity=zero_infinity
    )
    for reduction in REDUCTIONS:
        x = torch.tensor(logits, requires_grad=True)
        expected = F.ctc_loss(
            F.log_softmax(x, -1).transpose(0, 1),
            torch.tensor(np.where(targets < 0, 1 if blank == 0 else 0, targets)),
            torch.tensor(logit_lengths),
            torch.tensor(target_lengths),
            blank=blank,
            reduction=reduction,
            zero_infinity=zero_infinity,
        )
        (_, value), grad = ours[reduction]
        assert_close(value, expected.detach().numpy(), rtol=1e-5)
        if zero_infinity:
            expected.sum().backward()
            assert x.grad is not None
            assert_close(grad, x.grad.numpy(), rtol=1e-4, atol=1e-6)
            assert np.all(np.asarray(grad)[3] == 0)  # the infeasible sequence
        else:
            if reduction == "none":
                assert np.isinf(value[3]) and np.isfinite(np.delete(np.asarray(value), 3)).all()
            # finite gradients even with an infeasible sequence in the batch
            assert np.isfinite(np.asarray(grad)).all()
            # torch's gradient there is NaN; elsewhere they agree
            expected.sum().backward()
            assert x.grad is not None
            feasible = np.arange(B) != 3
            assert_close(grad[feasible], x.grad.numpy()[feasible], rtol=1e-4, atol=1e-6)


def test_matches_optax_per_sequence():
    logits, targets, logit_lengths, target_lengths = _case(blank=2, seed=1)
    feasible = np.array([0, 1, 2, 4, 5, 6])  # optax gives ~1e5, not inf, for row 3
    logit_paddings = (np.arange(T) >= logit_lengths[:, None]).astype(np.float32)
    label_paddings = (np.arange(S) >= target_lengths[:, None]).astype(np.float32)
    safe_targets = np.where(targets < 0, 0, targets)

    def peer(x):
        per_seq = optax.ctc_loss(
            x, jnp.asarray(logit_paddings), safe_targets, jnp.asarray(label_paddings), blank_id=2
        )
        return per_seq[feasible]

    def ours(x):
        none = jaxloss.ctc_loss(
            x,
            targets,
            logit_lengths=logit_lengths,
            target_lengths=target_lengths,
            blank=2,
            reduction="none",
        )
        return none[feasible]

    x = jnp.asarray(logits)
    assert_close(jax.jit(ours)(x), jax.jit(peer)(x), rtol=1e-5, atol=1e-5)
    assert_close(
        jax.jit(jax.grad(lambda a: jnp.sum(ours(a))))(x),
        jax.jit(jax.grad(lambda a: jnp.sum(peer(a))))(x),
        rtol=1e-4,
        atol=1e-6,
    )


def test_log_probabilities_bf16_and_one_sequence():
    logits, targets, logit_lengths, target_lengths = _case()
    lengths = {"logit_lengths": logit_lengths, "target_lengths": target_lengths}

    @jax.jit
    def run(x):
        def ctc(a, **options):
            return jaxloss.ctc_loss(a, targets, zero_infinity=True, **lengths, **options)

        low = x.astype(jnp.bfloat16)
        one = jaxloss.ctc_loss(
            x[2], targets[2], logit_lengths=logit_lengths[2], target_lengths=target_lengths[2]
        )
        return {
            "none": ctc(x, reduction="none"),
            "from_log_probs": ctc(jax.nn.log_softmax(x), reduction="none"),
            "bf16": jax.value_and_grad(ctc)(low),
            "bf16_as_f32": ctc(low.astype(jnp.float32)),
            "one": one,
        }

    out = run(jnp.asarray(logits))
    # log-softmax is taken inside: log-probabilities give the same loss
    assert_close(out["from_log_probs"], out["none"], rtol=1e-6)
    # bf16 logits are computed in float32; the gradient comes back in bf16
    value, grad = out["bf16"]
    assert value.dtype == jnp.float32 and grad.dtype == jnp.bfloat16
    assert_close(value, out["bf16_as_f32"], rtol=1e-6)
    assert np.isfinite(np.asarray(grad, np.float32)).all()
    # one unbatched sequence [T, C] equals its row of the batch
    assert out["one"].shape == ()
    assert_close(out["one"], out["none"][2] / target_lengths[2], rtol=1e-6)


def test_where_weight_and_nan():
    logits, targets, logit_lengths, target_lengths = _case()
    keep = np.array([True, True, False, False, True, True, False])
    w = np.linspace(0.5, 2.0, B).astype(np.float32)
    bad = targets.copy()
    bad[0, 1], bad[1, 0] = 0, C  # the blank, and a class out of range
    opts: dict[str, Any] = {"logit_lengths": logit_lengths, "target_lengths": target_lengths}

    @jax.jit
    def run(x):
        poisoned = x.at[~keep].set(jnp.nan)
        return {
            "masked": jax.value_and_grad(
                lambda a: jaxloss.ctc_loss(a, targets, where=keep, **opts)
            )(poisoned),
            "sliced": jaxloss.ctc_loss(
                x[keep],
                targets[keep],
                logit_lengths=logit_lengths[keep],
                target_lengths=target_lengths[keep],
            ),
            "none": jaxloss.ctc_loss(x, targets, reduction="none", zero_infinity=True, **opts),
            "weighted": jaxloss.ctc_loss(
                x, targets, reduction="none", zero_infinity=True, weight=w, **opts
            ),
            "nan": jaxloss.ctc_loss(x.at[0, 0, 0].set(jnp.nan), targets, **opts),
            "bad": jaxloss.ctc_loss(x, bad, reduction="none", zero_infinity=True, **opts),
        }

    out = run(jnp.asarray(logits))
    masked, grad = out["masked"]
    assert_close(masked, out["sliced"], rtol=1e-6)
    assert np.all(np.asarray(grad)[~keep] == 0) and np.isfinite(np.asarray(grad)).all()
    assert_close(out["weighted"], w * out["none"], rtol=1e-6)
    # an unmasked NaN stays NaN; a label equal to the blank or outside [0, C) gives NaN
    assert np.isnan(out["nan"])
    assert np.isnan(out["bad"][:2]).all() and np.isfinite(out["bad"][2:]).all()


def test_bad_input_raises_naming_the_argument():
    logits, targets, logit_lengths, _ = _case()
    cases = [
        ((logits, targets.astype(np.float32)), {}, TypeError, "targets must be integer"),
        ((logits[0, 0], targets[0]), {}, ValueError, "logits must have rank"),
        ((logits, targets[0]), {}, ValueError, "targets must have rank 2"),
        ((logits, targets[:3]), {}, ValueError, "targets has shape (3, 5), 3 sequences"),
        ((logits, targets), {"blank": C}, ValueError, "blank must be a class id in [0, 5)"),
        (
            (logits, targets),
            {"logit_lengths": logit_lengths.astype(np.float32)},
            TypeError,
            "logit_lengths must be an integer array",
        ),
        (
            (logits, targets),
            {"target_lengths": [3, 4]},
            ValueError,
            "target_lengths must have shape",
        ),
        ((logits.astype(np.int32), targets), {}, TypeError, "logits must be a floating"),
        ((logits, targets), {"zero_infinity": 1}, TypeError, "zero_infinity must be True"),
        ((logits, targets), {"reduction": "batchmean"}, ValueError, "reduction must be one of"),
    ]
    for args, kwargs, error, message in cases:
        with pytest.raises(error, match="jaxloss.ctc_loss: " + re.escape(message)):
            jaxloss.ctc_loss(*args, **kwargs)
