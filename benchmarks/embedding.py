"""Batch-level embedding losses at training batch sizes, side by side with peers.

``python -m benchmarks.embedding`` times forward and forward+backward of
``batch_triplet_loss`` (each mining) at B = 4096, D = 256 (B = 8192, D = 512 with
``--device gpu``) and ``clip_loss`` at B = 8192, D = 512, plus NT-Xent (at B = 1024: optax's
``ntxent`` materialises a [B, B, D] tensor and runs out of memory at 4096) and
multiple-negatives ranking. Peers: optax ``ntxent`` (jit), and torch eager transcriptions of
batch-hard triplet mining (``torch.cdist``), CLIP and MNRL. Every loss here holds
O(B^2) memory: the similarity or distance matrix and its gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

import jaxloss
from benchmarks.cases import main as run_cases


def _torch_batch_hard(embeddings, labels, margin=1.0):
    import torch

    d = torch.cdist(embeddings, embeddings)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=embeddings.device)
    hardest = d.masked_fill(~same | eye, -torch.inf).amax(1)
    nearest = d.masked_fill(same, torch.inf).amin(1)
    return torch.relu(hardest - nearest + margin).mean()


def _torch_clip(u, v, scale=1 / 0.07):
    import torch
    import torch.nn.functional as F

    logits = scale * F.normalize(u, dim=-1) @ F.normalize(v, dim=-1).T
    target = torch.arange(len(u), device=u.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def _torch_mnrl(a, p, scale=20.0):
    import torch
    import torch.nn.functional as F

    scores = scale * F.normalize(a, dim=-1) @ F.normalize(p, dim=-1).T
    return F.cross_entropy(scores, torch.arange(len(a), device=a.device))


def cases(quick: bool, accelerator: bool = False) -> list[dict[str, Any]]:
    b_triplet, d_triplet = (256, 32) if quick else (8192, 512) if accelerator else (4096, 256)
    b_clip, d_clip = (512, 32) if quick else (8192, 512)
    k = jax.random.split(jax.random.key(0), 3)
    e = jax.random.normal(k[0], (b_triplet, d_triplet))
    labels = jnp.arange(b_triplet) % (b_triplet // 16)
    u = jax.random.normal(k[1], (b_clip, d_clip))
    v = u + jax.random.normal(k[2], (b_clip, d_clip))
    out = []
    for mining in ("batch_hard", "batch_all", "semi_hard"):
        out.append(
            {
                "loss": f"batch_triplet_loss ({mining})",
                "shape": e.shape,
                "fn": lambda x, y, m=mining: jaxloss.batch_triplet_loss(x, y, mining=m),
                "args": (e, labels),
                "peers": {"torch (cdist, masks)": (_torch_batch_hard, (e, labels))}
                if mining == "batch_hard"
                else {},
            }
        )
    # optax's ntxent broadcasts a [B, B, D] tensor: at B = 4096, D = 256 it asks
    # XLA for 35 GB, so the side-by-side runs at B = 1024
    small = 64 if quick else 1024
    out.append(
        {
            "loss": "ntxent_loss",
            "shape": e[:small].shape,
            "fn": jaxloss.ntxent_loss,
            "args": (e[:small], labels[:small]),
            "peers": {"optax ntxent": (_optax_ntxent, (e[:small], labels[:small]))},
        }
    )
    out.append(
        {
            "loss": "clip_loss",
            "shape": u.shape,
            "fn": jaxloss.clip_loss,
            "args": (u, v),
            "peers": {"torch": (_torch_clip, (u, v))}
            | ({"torch.compile": (_torch_clip, (u, v))} if accelerator and not quick else {}),
        }
    )
    out.append(
        {
            "loss": "multiple_negatives_ranking_loss",
            "shape": u.shape,
            "fn": jaxloss.multiple_negatives_ranking_loss,
            "args": (u, v),
            "peers": {"torch": (_torch_mnrl, (u, v))},
        }
    )
    return out


def _optax_ntxent(embeddings, labels):
    import optax

    return optax.losses.ntxent(embeddings, labels)


def main(argv: Sequence[str] | None = None) -> int:
    return run_cases("embedding", cases, "Embedding losses at batch sizes", "", argv)


if __name__ == "__main__":
    raise SystemExit(main())
