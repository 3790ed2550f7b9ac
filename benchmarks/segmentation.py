"""Segmentation losses at image sizes, side by side with optax and MONAI.

``python -m benchmarks.segmentation`` times forward and forward+backward of the
overlap and Lovász losses on binary ``[32, 256, 256]`` logits and multi-class
``[8, 128, 128, 21]`` logits with integer labels (the shapes of issue #5), against
optax ``dice_loss`` (jit; it needs one-hot targets: timed both with the one-hot
made inside the step from the same integer labels, and given precomputed as an
input) and MONAI's losses on torch eager (channel-first; the permute is included).
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

import jaxloss
from benchmarks.harness import RESULTS, _jax_case, _torch_case, machine_info, machine_slug

BINARY = (32, 256, 256)
MULTICLASS = (8, 128, 128, 21)


def _inputs(quick: bool):
    binary = (4, 32, 32) if quick else BINARY
    multiclass = (2, 16, 16, 5) if quick else MULTICLASS
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


def cases(quick: bool) -> list[dict[str, Any]]:
    xb, tb, xm, ym = _inputs(quick)
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
        if monai_kind:
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
        if monai_kind:
            peers["MONAI (torch)"] = (_monai(monai_kind, True), (xm, ym))
        out.append({"loss": name, "shape": xm.shape, "fn": functools.partial(fn, **kw),
                    "args": (xm, ym), "peers": peers})  # fmt: skip
    return out


def run(quick: bool, budget_s: float) -> dict[str, Any]:
    device = jax.devices()[0]
    results = []
    for case in cases(quick):
        record = {
            "loss": case["loss"],
            "shape": list(case["shape"]),
            "jaxloss": _jax_case(case["fn"], case["args"], (0,), budget_s),
            "peers": {},
        }
        for peer, (fn, args) in case["peers"].items():
            if peer.startswith("MONAI"):
                times = _torch_case(fn, args, {}, (0,), "cpu", budget_s, False)
            else:
                times = _jax_case(fn, args, (0,), budget_s)
            record["peers"][peer] = {m: {"time_s": v["time_s"]} for m, v in times.items()}
        record["ratios"] = {
            p: record["jaxloss"]["fwd_bwd"]["time_s"] / t["fwd_bwd"]["time_s"]
            for p, t in record["peers"].items()
        }
        results.append(record)
        print(f"{case['loss']} {tuple(case['shape'])}: done", flush=True)
    return {
        "date": datetime.date.today().isoformat(),
        "machine": machine_info(device),
        "results": results,
    }


def markdown(report: dict[str, Any]) -> str:
    info = report["machine"]
    lines = [
        f"# Segmentation losses — {report['date']}",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores; JAX device {info['device']}.",
        "Medians in ms. Ratio = jaxloss / peer, forward+backward (< 1: jaxloss faster). "
        "optax needs one-hot targets: 'optax' makes them from the integer labels inside the "
        "step, 'one-hot given' receives them precomputed. MONAI runs on torch eager.",
        "",
        "| loss | shape | fwd | fwd+bwd | temp MiB | peer | peer fwd+bwd | ratio |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for r in report["results"]:
        j = r["jaxloss"]
        head = (
            f"| {r['loss']} | {tuple(r['shape'])} | {1e3 * j['fwd']['time_s']:.3g} | "
            f"{1e3 * j['fwd_bwd']['time_s']:.3g} | {j['fwd_bwd']['temp_bytes'] / 2**20:.1f}"
        )
        if not r["peers"]:
            lines.append(head + " | - | - | - |")
        for peer, t in r["peers"].items():
            lines.append(
                f"{head} | {peer} | {1e3 * t['fwd_bwd']['time_s']:.3g} | {r['ratios'][peer]:.2f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.segmentation")
    parser.add_argument("--quick", action="store_true", help="tiny shapes: a smoke run")
    parser.add_argument("--budget", type=float, default=None, help="seconds of timing per case")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    report = run(
        args.quick, args.budget if args.budget is not None else (0.05 if args.quick else 2.0)
    )
    table = markdown(report)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / (
        f"segmentation-{machine_slug(report['machine'])}-{report['date']}"
        + ("-quick" if args.quick else "")
    )
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    stem.with_suffix(".md").write_text(table)
    print(f"wrote {stem}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
