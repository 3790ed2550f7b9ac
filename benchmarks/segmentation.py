"""Segmentation losses at image sizes, side by side with optax and MONAI.

``python -m benchmarks.segmentation`` times forward and forward+backward of the
overlap and Lovász losses on binary ``[32, 256, 256]`` logits and multi-class
``[8, 128, 128, 21]`` logits with integer labels (``[16, 256, 256, 21]`` with
``--device gpu``), against
optax ``dice_loss`` (jit; it needs one-hot targets: timed both with the one-hot
made inside the step from the same integer labels, and given precomputed as an
input) and MONAI's losses on torch eager (channel-first; the permute is included).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

import jaxloss
from benchmarks.cases import main as run_cases

BINARY = (32, 256, 256)
MULTICLASS = (8, 128, 128, 21)
MULTICLASS_ACCELERATOR = (16, 256, 256, 21)


def _inputs(quick: bool, accelerator: bool = False):
    binary = (4, 32, 32) if quick else BINARY
    multiclass = (2, 16, 16, 5) if quick else MULTICLASS_ACCELERATOR if accelerator else MULTICLASS
    k1, k2, k3, k4 = jax.random.split(jax.random.key(0), 4)
    xb = jax.random.normal(k1, binary)
    tb = jax.random.bernoulli(k2, 0.05, binary).astype(jnp.float32)
    xm = jax.random.normal(k3, multiclass)
    ym = jax.random.randint(k4, multiclass[:-1], 0, multiclass[-1])
    return xb, tb, xm, ym


def _optax_dice(x, t, *, multiclass: bool):
    import optax

    if multiclass:
        t = jax.nn.one_hot(t, x.shape[-1]) if t.dtype != x.dtype else t
        return jnp.mean(optax.losses.dice_loss(x, t, smooth=2e-5))
    return jnp.mean(optax.losses.dice_loss(x[..., None], t[..., None], smooth=2e-5))


def _monai(kind: str, multiclass: bool) -> Callable:
    """A MONAI loss taking our channel-last layout."""
    import monai.losses
    import torch

    act = {"softmax": True} if multiclass else {"sigmoid": True}
    loss = {
        "dice": lambda: monai.losses.DiceLoss(**act),
        "tversky": lambda: monai.losses.TverskyLoss(alpha=0.3, beta=0.7, **act),
        "generalized_dice": lambda: monai.losses.GeneralizedDiceLoss(**act),
    }[kind]()

    def peer(x, t):
        if multiclass:
            onehot = torch.nn.functional.one_hot(t, x.shape[-1]).to(x.dtype)
            return loss(x.movedim(-1, 1), onehot.movedim(-1, 1))
        return loss(x[:, None], t[:, None])

    return peer


def _has_monai() -> bool:
    try:
        import monai.losses  # noqa: F401
    except ImportError:
        return False
    return True


def cases(quick: bool, accelerator: bool = False) -> list[dict[str, Any]]:
    xb, tb, xm, ym = _inputs(quick, accelerator)
    monai = _has_monai()
    one_hot = jax.nn.one_hot(ym, xm.shape[-1])
    mc = {"mode": "multiclass"}
    out = []
    for name, fn, kw, monai_kind in (
        ("dice_loss", jaxloss.dice_loss, {}, "dice"),
        ("tversky_loss", jaxloss.tversky_loss, {}, "tversky"),
        ("jaccard_loss", jaxloss.jaccard_loss, {}, None),
        ("focal_tversky_loss", jaxloss.focal_tversky_loss, {}, None),
        ("lovasz_hinge_loss", jaxloss.lovasz_hinge_loss, {}, None),
        ("bce_dice_loss", jaxloss.bce_dice_loss, {}, None),
        ("focal_and_tversky_loss", jaxloss.focal_and_tversky_loss, {}, None),
    ):
        peers = {}
        if name == "dice_loss":
            peers["optax"] = (functools.partial(_optax_dice, multiclass=False), (xb, tb))
        if monai_kind and monai:
            peers["MONAI (torch)"] = (_monai(monai_kind, False), (xb, tb))
        out.append({"loss": name, "shape": xb.shape, "fn": functools.partial(fn, **kw),
                    "args": (xb, tb), "peers": peers})  # fmt: skip
    for name, fn, monai_kind in (
        ("dice_loss", jaxloss.dice_loss, "dice"),
        ("tversky_loss", jaxloss.tversky_loss, "tversky"),
        ("generalized_dice_loss", jaxloss.generalized_dice_loss, "generalized_dice"),
        ("lovasz_softmax_loss", jaxloss.lovasz_softmax_loss, None),
    ):
        kw = {} if name == "lovasz_softmax_loss" else mc
        peers = {}
        if name == "dice_loss":
            optax_mc = functools.partial(_optax_dice, multiclass=True)
            peers["optax"] = (optax_mc, (xm, ym))
            peers["optax, one-hot given"] = (optax_mc, (xm, one_hot))
        if monai_kind and monai:
            peers["MONAI (torch)"] = (_monai(monai_kind, True), (xm, ym))
        out.append({"loss": name, "shape": xm.shape, "fn": functools.partial(fn, **kw),
                    "args": (xm, ym), "peers": peers})  # fmt: skip
    return out


NOTES = (
    "optax needs one-hot targets: 'optax' makes them from the integer labels inside the "
    "step, 'one-hot given' receives them precomputed. MONAI runs on torch eager."
)


def main(argv: Sequence[str] | None = None) -> int:
    return run_cases("segmentation", cases, "Segmentation losses", NOTES, argv)


if __name__ == "__main__":
    raise SystemExit(main())
