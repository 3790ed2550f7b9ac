"""CTC against optax and torch, side by side.

``python -m benchmarks.ctc`` times forward and forward+backward (the gradient for
the logits) of ``ctc_loss`` with torch's ``"mean"`` against optax ``ctc_loss``
(jit, the same mean taken from its per-sequence losses) and torch
``F.ctc_loss`` (eager, log-softmax included), with variable input and target
lengths: a speech-sized alphabet (C = 32, T = 500) and an OCR-sized one
(C = 5000).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

import jaxloss
from benchmarks.cases import main as run_cases

# (batch, frames, classes, target length)
CPU_SIZES = [(32, 500, 32, 100), (32, 128, 5000, 32)]
ACCELERATOR_SIZES = [(64, 1000, 64, 200), (64, 256, 10000, 64)]
QUICK_SIZES = [(4, 50, 16, 10)]


def _jaxloss_ctc(logits, targets, logit_lengths, target_lengths):
    return jaxloss.ctc_loss(
        logits, targets, logit_lengths=logit_lengths, target_lengths=target_lengths
    )


def _optax_ctc(logits, targets, logit_lengths, target_lengths):
    import optax

    frames, size = logits.shape[1], targets.shape[1]
    logit_paddings = (jnp.arange(frames) >= logit_lengths[:, None]).astype(logits.dtype)
    label_paddings = (jnp.arange(size) >= target_lengths[:, None]).astype(logits.dtype)
    per_sequence = optax.ctc_loss(logits, logit_paddings, targets, label_paddings)
    return jnp.mean(per_sequence / jnp.maximum(target_lengths, 1))


def _torch_ctc(logits, targets, logit_lengths, target_lengths):
    import torch.nn.functional as F

    log_probs = F.log_softmax(logits.float(), -1).transpose(0, 1)
    return F.ctc_loss(log_probs, targets, logit_lengths, target_lengths, reduction="mean")


def _inputs(batch: int, frames: int, classes: int, size: int, dtype) -> tuple[jax.Array, ...]:
    """Logits, labels in 1..C-1 (blank 0) and lengths in [T/2, T] and [S/2, S]:
    every target fits (at most 2S frames needed, S <= T/4)."""
    k = jax.random.split(jax.random.key(frames * classes), 4)
    logits = jax.random.normal(k[0], (batch, frames, classes), dtype)
    targets = jax.random.randint(k[1], (batch, size), 1, classes)
    logit_lengths = jax.random.randint(k[2], (batch,), frames // 2, frames + 1)
    target_lengths = jax.random.randint(k[3], (batch,), size // 2, size + 1)
    return logits, targets, logit_lengths, target_lengths


def cases(quick: bool, accelerator: bool = False) -> list[dict[str, Any]]:
    sizes = QUICK_SIZES if quick else ACCELERATOR_SIZES if accelerator else CPU_SIZES
    out = []
    for batch, frames, classes, size in sizes:
        args = _inputs(batch, frames, classes, size, jnp.float32)
        out.append(
            {
                "loss": f"ctc_loss (C={classes}, S={size})",
                "shape": args[0].shape,
                "fn": _jaxloss_ctc,
                "args": args,
                "peers": {
                    "optax ctc_loss": (_optax_ctc, args),
                    "torch F.ctc_loss": (_torch_ctc, args),
                },
            }
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    notes = (
        "Gradient for the logits [B, T, C]; torch's 'mean' (each sequence's loss over its "
        "target length, then the batch mean) for all three; lengths vary per sequence."
    )
    return run_cases("ctc", cases, "CTC loss", notes, argv)


if __name__ == "__main__":
    raise SystemExit(main())
