"""Fused linear cross-entropy against the materialised logits, side by side.

``python -m benchmarks.language`` times forward and forward+backward (gradients
for the hidden states and the weight) of ``fused_linear_cross_entropy`` against
``cross_entropy(hidden @ weight, targets)`` in JAX and torch's
``F.linear_cross_entropy`` (eager), and records the compiled temp memory of
both JAX versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax

import jaxloss
from benchmarks.cases import main as run_cases


def _torch_linear_ce(hidden, weight, targets):
    import torch.nn.functional as F

    return F.linear_cross_entropy(hidden, weight.T, targets)


def _materialised(hidden, weight, targets):
    return jaxloss.cross_entropy(hidden @ weight, targets)


def cases(quick: bool) -> list[dict[str, Any]]:
    sizes = [(256, 64, 1024)] if quick else [(2048, 512, 32768), (4096, 1024, 32768)]
    out = []
    for n, d, v in sizes:
        k = jax.random.split(jax.random.key(n), 3)
        h = jax.random.normal(k[0], (n, d))
        w = jax.random.normal(k[1], (d, v)) * d**-0.5
        t = jax.random.randint(k[2], (n,), 0, v)
        args = (h, w, t)
        out.append(
            {
                "loss": f"fused_linear_cross_entropy (D={d}, V={v})",
                "shape": h.shape,
                "fn": jaxloss.fused_linear_cross_entropy,
                "args": args,
                "diff": (0, 1),
                "peers": {
                    "materialised JAX": (_materialised, args),
                    "torch F.linear_cross_entropy": (_torch_linear_ce, args),
                },
            }
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    notes = "Gradients for hidden and weight. The materialised version holds [N, V] logits."
    return run_cases("language", cases, "Fused linear cross-entropy", notes, argv)


if __name__ == "__main__":
    raise SystemExit(main())
