"""A tiny causal language model on Python's own standard library, trained with
``fused_linear_cross_entropy``.

Next-token prediction, with the loss that never materialises the
``[tokens, vocabulary]`` logits: the model (a Flax NNX byte-level MLP over the
previous 16 bytes) returns hidden states, and the loss takes them with the
output projection's kernel ``[D, V]``. The corpus is the source of a few
standard-library modules, read from disk (no downloads). The script checks
that the fused loss equals the materialised ``cross_entropy(hidden @ W)``, trains,
reports bits per byte against a unigram baseline and samples some text.

Run: ``python examples/causal_lm.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxloss

CONTEXT, VOCAB, EMBED, HIDDEN = 16, 256, 32, 256


def corpus() -> np.ndarray:
    import argparse as a
    import collections as c
    import functools as f
    import json.decoder as j
    import textwrap as t

    text = "\n".join(inspect.getsource(m) for m in (a, c, f, j, t))
    return np.frombuffer(text.encode("utf-8"), np.uint8).astype(np.int32)


class ByteMLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.embed = nnx.Embed(VOCAB, EMBED, rngs=rngs)
        self.hidden = nnx.Linear(CONTEXT * EMBED, HIDDEN, rngs=rngs)
        self.head = nnx.Linear(HIDDEN, VOCAB, use_bias=False, rngs=rngs)

    def features(self, context):  # [B, CONTEXT] bytes -> [B, HIDDEN]
        e = self.embed(context).reshape(context.shape[0], -1)
        return nnx.gelu(self.hidden(e))


def windows(data: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.stack([data[i : i + CONTEXT] for i in idx]), data[idx + CONTEXT]


def loss_fn(model, context, target):
    return jaxloss.fused_linear_cross_entropy(
        model.features(context), model.head.kernel[...], target
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for smoke tests")
    parser.add_argument("--out", default="example-output", help="unused; for a uniform CLI")
    args = parser.parse_args(argv)
    steps = 30 if args.quick else 3000

    data = corpus()
    split = int(0.9 * len(data))
    train, test = data[:split], data[split:]
    counts = np.bincount(train, minlength=VOCAB) + 1
    unigram_bits = float(-np.sum(counts / counts.sum() * np.log2(counts / counts.sum())))
    print(f"corpus: {len(data):,} bytes of stdlib source; unigram {unigram_bits:.2f} bits/byte")

    model = ByteMLP(nnx.Rngs(0))
    rng = np.random.default_rng(0)
    ctx, tgt = windows(test, rng.integers(0, len(test) - CONTEXT - 1, 512))
    fused = float(loss_fn(model, ctx, tgt))
    logits = model.head(model.features(jnp.asarray(ctx)))
    materialised = float(jaxloss.cross_entropy(logits, jnp.asarray(tgt)))
    print(f"fused loss {fused:.6f} = materialised cross_entropy {materialised:.6f}")

    optimizer = nnx.Optimizer(model, optax.adamw(2e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, context, target):
        loss, grads = nnx.value_and_grad(loss_fn)(model, context, target)
        optimizer.update(model, grads)
        return loss

    for i in range(steps):
        loss = step(model, optimizer, *windows(train, rng.integers(0, split - CONTEXT - 1, 128)))
        if i % max(1, steps // 5) == 0 or i == steps - 1:
            print(f"step {i:5d}  {float(loss) / np.log(2):.3f} bits per byte")
    test_bits = float(loss_fn(model, ctx, tgt)) / np.log(2)
    print(f"held-out: {test_bits:.3f} bits per byte (unigram baseline {unigram_bits:.3f})")

    prompt = list(b"def __init__(self")
    key = jax.random.key(0)
    for _ in range(60):
        context = jnp.asarray([prompt[-CONTEXT:]])
        key, sub = jax.random.split(key)
        logits = model.head(model.features(context))[0]
        prompt.append(int(jax.random.categorical(sub, logits / 0.7)))
    print("sample:", bytes(prompt).decode("utf-8", "replace").replace("\n", "\\n"))
    return {
        "fused": fused,
        "materialised": materialised,
        "test_bits": test_bits,
        "unigram_bits": unigram_bits,
    }


if __name__ == "__main__":
    main()
