"""Fused linear cross-entropy against the materialised logits, side by side.

``python -m benchmarks.language`` times forward and forward+backward (gradients
for the hidden states and the weight) of ``fused_linear_cross_entropy`` against
``cross_entropy(hidden @ weight, targets)`` in JAX and torch's
``F.linear_cross_entropy`` (eager; a torch without it gets its materialised
``F.cross_entropy(hidden @ weight.T)``, and on a GPU ``torch.compile`` of it),
records the compiled temp memory of both JAX versions, and the share of the FLOP
floor: the three matmuls of 2·N·D·V FLOPs each. ``--device gpu``: N = 8192,
D = 4096, V = 131072 in bfloat16.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

import jaxloss
from benchmarks.cases import main as run_cases

ACCELERATOR = (8192, 4096, 131072)


def _torch_linear_ce(hidden, weight, targets):
    import torch.nn.functional as F

    return F.linear_cross_entropy(hidden, weight.T, targets)


def _torch_materialised(hidden, weight, targets):
    import torch.nn.functional as F

    return F.cross_entropy((hidden @ weight).float(), targets)


def _materialised(hidden, weight, targets):
    return jaxloss.cross_entropy(hidden @ weight, targets)


def torch_peers() -> dict[str, Any]:
    """torch's fused loss where it has one, else its materialised loss."""
    import torch.nn.functional as F

    if hasattr(F, "linear_cross_entropy"):
        return {"torch F.linear_cross_entropy": _torch_linear_ce}
    return {"torch materialised (no F.linear_cross_entropy)": _torch_materialised}


def cases(quick: bool, accelerator: bool = False) -> list[dict[str, Any]]:
    if quick:
        sizes, dtype = [(256, 64, 1024)], jnp.float32
    elif accelerator:
        sizes, dtype = [ACCELERATOR], jnp.bfloat16
    else:
        sizes, dtype = [(2048, 512, 32768), (4096, 1024, 32768)], jnp.float32
    out = []
    for n, d, v in sizes:
        k = jax.random.split(jax.random.key(n), 3)
        h = jax.random.normal(k[0], (n, d), dtype)
        w = (jax.random.normal(k[1], (d, v)) * d**-0.5).astype(dtype)
        t = jax.random.randint(k[2], (n,), 0, v)
        args = (h, w, t)
        peers: dict[str, Any] = {"materialised JAX": (_materialised, args)}
        peers.update({name: (fn, args) for name, fn in torch_peers().items()})
        if accelerator and not quick:
            peers["torch.compile materialised"] = (_torch_materialised, args)
        out.append(
            {
                "loss": f"fused_linear_cross_entropy (D={d}, V={v}, {jnp.dtype(dtype).name})",
                "shape": h.shape,
                "fn": jaxloss.fused_linear_cross_entropy,
                "args": args,
                "diff": (0, 1),
                "flops": 3 * 2 * n * d * v,
                "peers": peers,
            }
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    notes = (
        "Gradients for hidden and weight. The materialised version holds [N, V] logits. "
        "FLOP floor: 3 x 2NDV (logits, hidden and weight gradients)."
    )
    return run_cases("language", cases, "Fused linear cross-entropy", notes, argv)


if __name__ == "__main__":
    raise SystemExit(main())
