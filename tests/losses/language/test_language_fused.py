"""Fused linear cross-entropy (jaxloss/losses/language/fused.py): torch parity
(F.linear_cross_entropy), a materialised JAX reference for the options torch lacks
(z-loss, soft-capping), the compiled memory, and vocabulary-parallel sharding."""

from __future__ import annotations

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from language_cost import matmul_flops, value_and_grad_flops
from language_helpers import V, random_tokens

import jaxloss
from jaxloss._core import backend
from jaxloss.losses.language.fused import _default_chunk


def _fused_case(rng, lead=(3, 5), d=8, bias=True):
    h = rng.standard_normal((*lead, d))
    w = rng.standard_normal((d, V)) * 0.5
    b = rng.standard_normal(V) * 0.1 if bias else None
    t = random_tokens(rng, lead)
    return h, w, b, t


def _grad(tensor: torch.Tensor) -> np.ndarray:
    assert tensor.grad is not None
    return tensor.grad.numpy()


@pytest.mark.parametrize("chunk_size", (4, 6, 64))
@pytest.mark.parametrize(
    ("reduction", "smoothing", "bias"),
    [("mean", 0.0, True), ("sum", 0.1, False), ("none", 0.3, True)],
)
def test_fused_matches_torch_linear_cross_entropy(reduction, smoothing, bias, chunk_size):
    rng = np.random.default_rng(chunk_size)
    h, w, b, t = _fused_case(rng, bias=bias)
    th, tw = torch.tensor(h, requires_grad=True), torch.tensor(w.T.copy(), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if bias else None
    expected = F.linear_cross_entropy(  # torch's class axis is 1: flatten the leading axes
        th.reshape(-1, h.shape[-1]),
        tw,
        torch.tensor(t).reshape(-1),
        linear_bias=tb,
        reduction=reduction,
        ignore_index=-100,
        label_smoothing=smoothing,
    )
    expected.sum().backward()

    def f(h_, w_, b_):
        return jnp.sum(
            jaxloss.fused_linear_cross_entropy(
                h_,
                w_,
                jnp.asarray(t),
                bias=b_,
                reduction=reduction,
                label_smoothing=smoothing,
                chunk_size=chunk_size,
            )
        )

    argnums = (0, 1, 2) if bias else (0, 1)
    value, grads = jax.jit(jax.value_and_grad(f, argnums=argnums))(h, w, b)
    assert_close(value, expected.sum().item(), rtol=1e-5)
    ref = [_grad(th), _grad(tw).T] + ([_grad(tb)] if tb is not None else [])
    assert_close(grads, tuple(ref), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("z_loss", "softcap", "weights", "reduction"),
    [
        (1e-3, None, None, "mean"),
        (0.0, 2.0, None, "mean"),
        (1e-2, 1.5, None, "mean"),
        (1e-3, None, "sequence", "sum"),
        (0.0, 2.0, "token", "mean"),
    ],
)
def test_fused_z_loss_and_softcap_match_the_materialised_loss(z_loss, softcap, weights, reduction):
    """Also per-sequence [B] and per-token [B, T] sample weights (NaN on ignored
    tokens), which scale each token's loss and gradient inside the blocks: values
    and gradients (the weights' own included) equal the materialised loss's."""
    rng = np.random.default_rng(7)
    h, w, b, t = _fused_case(rng)
    h = 3 * h  # large logits, so the cap matters
    keep = t != -100
    s = {
        None: np.ones(t.shape[:1]),
        "sequence": rng.uniform(0.2, 2.0, t.shape[:1]),
        "token": np.where(keep, rng.uniform(0.2, 2.0, t.shape), np.nan),
    }[weights]

    def materialised(h_, w_, b_, s_):
        z = h_ @ w_ + b_
        logits = softcap * jnp.tanh(z / softcap) if softcap else z
        lse = jax.nn.logsumexp(logits, -1)
        ce = jaxloss.cross_entropy(logits, jnp.asarray(t), reduction="none")
        s_ = jnp.where(keep, s_[:, None] if s_.ndim == 1 else s_, 0.0)
        total = jnp.sum(jnp.where(keep, (ce + z_loss * lse**2) * s_, 0.0))
        return total / keep.sum() if reduction == "mean" else total

    def fused(h_, w_, b_, s_):
        return jaxloss.fused_linear_cross_entropy(
            h_,
            w_,
            jnp.asarray(t),
            bias=b_,
            z_loss=z_loss,
            logit_softcap=softcap,
            chunk_size=4,
            reduction=reduction,
            **({} if weights is None else {"sample_weights": s_}),
        )

    argnums = (0, 1, 2) if weights is None else (0, 1, 2, 3)
    expected = jax.value_and_grad(materialised, argnums=argnums)(h, w, b, s)
    assert_close(
        jax.jit(jax.value_and_grad(fused, argnums=argnums))(h, w, b, s),
        expected,
        rtol=2e-4,
        atol=1e-6,
    )


def test_fused_bf16_confident_and_all_ignored():
    rng = np.random.default_rng(8)
    h, w, _, t = _fused_case(rng)
    low = jax.grad(
        lambda a, c: jaxloss.fused_linear_cross_entropy(a, c, jnp.asarray(t)), argnums=(0, 1)
    )(jnp.asarray(h, jnp.bfloat16), jnp.asarray(w, jnp.bfloat16))
    assert [g.dtype for g in low] == [jnp.bfloat16, jnp.bfloat16]
    huge = 1e4 * np.sign(h)  # logits of order 1e4
    value, grads = jax.value_and_grad(
        lambda a: jaxloss.fused_linear_cross_entropy(a, jnp.asarray(w), jnp.asarray(t))
    )(jnp.asarray(huge))
    assert np.isfinite(value) and np.all(np.isfinite(grads))
    ignored = np.full_like(t, -100)
    value, grads = jax.value_and_grad(
        lambda a, c: jaxloss.fused_linear_cross_entropy(a, c, jnp.asarray(ignored)), argnums=(0, 1)
    )(h, w)
    assert float(value) == 0.0 and all(np.all(g == 0) for g in grads)


_BIG = (8192, 1024, 32768)  # N, D, V: abstract shapes, never executed here


def _big_shapes(dtype=jnp.float32):
    n, d, v = _BIG
    return (
        jax.ShapeDtypeStruct((n, d), dtype),
        jax.ShapeDtypeStruct((d, v), dtype),
        jax.ShapeDtypeStruct((n,), jnp.int32),
    )


def _materialised_ce(h, w, t):
    return jaxloss.cross_entropy(h @ w, t)


@pytest.mark.parametrize("options", [{}, {"reduction": "sum", "label_smoothing": 0.1}])
def test_fused_gradients_cost_three_matmuls(options):
    """Matmul FLOPs of value_and_grad, loops counted in full: the logits, the
    hidden-state and the weight gradients (3 x 2NDV), as the materialised loss;
    not a fourth recomputing the logits."""
    n, d, v = _BIG
    floor = 2 * n * d * v

    def fused(h, w, t):
        return jaxloss.fused_linear_cross_entropy(h, w, t, **options)

    flops = value_and_grad_flops(fused, *_big_shapes())
    assert value_and_grad_flops(_materialised_ce, *_big_shapes()) == 3 * floor  # the counter
    assert flops <= 3.2 * floor, flops / floor
    # the value alone: one matmul
    assert matmul_flops(jax.make_jaxpr(fused)(*_big_shapes()).jaxpr) == floor


@pytest.mark.parametrize("tokens", (1, 7, 255, 256, 257, 8191, 100_003))
@pytest.mark.parametrize("platform", ("cpu", "gpu"))
def test_default_blocks_of_tokens(tokens, platform):
    """Blocks within the platform's budget, of equal size: little padding."""
    vocab = 32768
    elements = backend.block_elements(platform)
    chunk = _default_chunk(tokens, vocab, elements)
    count = -(-tokens // chunk)
    assert chunk * vocab <= max(elements, vocab)
    assert count * chunk - tokens < max(8, count) * 8


def test_fused_never_holds_the_logits():
    """Compiled temporary memory of value_and_grad at N = 8192, D = 1024, V = 32768
    (float32) is at most 1/8 of the materialised hidden @ W then cross-entropy."""
    n, _, v = _BIG

    def temp(f):
        compiled = jax.jit(jax.value_and_grad(f, argnums=(0, 1))).lower(*_big_shapes()).compile()
        memory = compiled.memory_analysis()
        assert memory is not None
        return memory.temp_size_in_bytes

    fused = temp(jaxloss.fused_linear_cross_entropy)
    materialised = temp(_materialised_ce)
    assert materialised >= n * v * 4  # the logits alone
    assert fused * 8 <= materialised, (fused, materialised)


def test_fused_bf16_accumulates_in_float32():
    """bf16 inputs over many blocks of tokens: the gradients are those of the
    float32 computation on the same (rounded) inputs, to bf16 rounding; a bf16
    running sum over 64 blocks would be off by far more."""
    rng = np.random.default_rng(9)
    n, d, v = 512, 16, 64
    h = jnp.asarray(rng.standard_normal((n, d)), jnp.bfloat16)
    w = jnp.asarray(rng.standard_normal((d, v)) * 0.3, jnp.bfloat16)
    t = jnp.asarray(rng.integers(0, v, n))

    def grads(h_, w_, reduction):
        def f(a, c):
            out = jaxloss.fused_linear_cross_entropy(a, c, t, chunk_size=8, reduction=reduction)
            return jnp.sum(out)

        return jax.grad(f, argnums=(0, 1))(h_, w_)

    low = jax.jit(grads, static_argnums=2)(h, w, "sum")
    ref = jax.jit(grads, static_argnums=2)(h.astype(jnp.float32), w.astype(jnp.float32), "sum")
    assert [g.dtype for g in low] == [jnp.bfloat16, jnp.bfloat16]
    for got, want in zip(low, ref, strict=True):
        err = np.abs(np.float32(got) - np.float32(want)).max() / np.abs(np.float32(want)).max()
        assert err < 2**-7, err


@pytest.mark.parametrize(
    ("call_", "message"),
    [
        (
            lambda: jaxloss.fused_linear_cross_entropy(
                jnp.zeros((4, 8)), jnp.zeros((11, 8)), jnp.zeros(4, int)
            ),
            "jaxloss.fused_linear_cross_entropy: weight has shape (11, 8); expected [D, V] with D = 8",
        ),
        (
            lambda: jaxloss.fused_linear_cross_entropy(
                jnp.zeros((4, 8)), jnp.zeros((8, 11)), jnp.zeros(5, int)
            ),
            "jaxloss.fused_linear_cross_entropy: targets has shape (5,); expected (4,)",
        ),
    ],
)
def test_errors(call_, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call_()


def _vocab_parallel_case(rng, vocab=48):
    h = rng.standard_normal((4, 6, 8))
    w = rng.standard_normal((8, vocab)) * 0.7
    b = rng.standard_normal(vocab) * 0.1
    t = rng.integers(0, vocab, (4, 6))
    t[:, -1] = -100
    t[0, 0] = vocab - 1  # a target on the last device's slice
    return h, w, b, t


@pytest.mark.parametrize(
    ("mesh_shape", "vocab_axes", "options"),
    [
        ((1, 8), "vocab", {"label_smoothing": 0.1}),
        ((2, 4), "vocab", {"z_loss": 1e-3, "logit_softcap": 2.0}),
        ((2, 4), ("data", "vocab"), {"reduction": "none", "label_smoothing": 0.2, "scale": 1e3}),
        ((4, 2), "vocab", {"reduction": "sum", "z_loss": 1e-2, "check_vma": False}),
        ((4, 2), "vocab", {"sample_weights": True, "check_vma": False}),
    ],
)
def test_fused_vocabulary_parallel_equals_unsharded(mesh_shape, vocab_axes, options):
    """Weight and bias sharded on V (Megatron style), optionally with tokens split
    over a data axis too: value and gradients equal the single-device loss (and
    the gradient of per-token sample weights, sharded like the tokens)."""
    options = dict(options)
    check_vma = options.pop("check_vma", True)
    weighted = options.pop("sample_weights", False)
    scale = options.pop("scale", 1.0)  # 1e3: logits of order 1e4
    reduction = options.get("reduction", "mean")
    h, w, b, t = _vocab_parallel_case(np.random.default_rng(sum(mesh_shape)))
    h = scale * h
    s = np.random.default_rng(1).uniform(0.2, 2.0, t.shape) if weighted else None
    mesh = Mesh(np.asarray(jax.devices()).reshape(mesh_shape), ("data", "vocab"))
    both = isinstance(vocab_axes, tuple)
    data = None if both else "data"
    tok = P(data)

    def loss(h_, w_, b_, s_, t_, **axes):
        out = jaxloss.fused_linear_cross_entropy(
            h_, w_, t_, bias=b_, chunk_size=5, sample_weights=s_, **options, **axes
        )
        return out if reduction == "none" else out[None]

    sharded = jax.shard_map(
        functools.partial(loss, axis_name=data, vocab_axis_name=vocab_axes),
        mesh=mesh,
        in_specs=(tok, P(None, vocab_axes), P(vocab_axes), tok, tok),
        out_specs=tok if reduction == "none" else P(),
        check_vma=check_vma,
    )

    argnums = (0, 1, 2, 3) if weighted else (0, 1, 2)

    def total(f):
        return jax.jit(
            jax.value_and_grad(lambda *a: jnp.sum(f(*a, jnp.asarray(t))), argnums=argnums)
        )

    expected = total(loss)(h, w, b, s)
    assert_close(total(sharded)(h, w, b, s), expected, rtol=1e-5, atol=1e-6)
