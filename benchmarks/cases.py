"""Named benchmark cases at fixed shapes, each with its peers: the runner shared by
``benchmarks.segmentation``, ``benchmarks.embedding`` and ``benchmarks.language``.

A case is a dict: ``loss`` (name), ``shape`` (the main input's), ``fn`` and
``args`` (the jaxloss call, differentiated in the arguments ``diff``, default the
first) and ``peers``, a dict of name -> (fn, args), where a name starting with
"torch" or "MONAI" runs on torch (eager, or ``torch.compile`` when the name says
"torch.compile") and any other name is a JAX function run under ``jit``.
Optional: ``flops``, the matmul FLOPs of forward+backward, for a share of the
FLOP floor (the rate of a large matmul measured in the same run) instead of the
bandwidth floor (the inputs and gradients moved once).

A module's ``cases(quick)`` may also take ``accelerator=True``: the shapes to use
on a GPU or TPU.
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import json
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import jax

from benchmarks import harness

_TORCH_PEERS = ("torch", "MONAI")


def _floor(case: dict[str, Any], rates: dict[str, float]) -> tuple[str, float]:
    """("FLOP" or "bandwidth", seconds) below which forward+backward cannot go."""
    if case.get("flops"):
        return "FLOP", case["flops"] / rates["matmul"]
    diff = case.get("diff", (0,))
    moved = sum(int(a.nbytes) for a in case["args"]) + sum(
        int(case["args"][i].nbytes) for i in diff
    )
    return "bandwidth", moved / rates["bandwidth"]


def run(
    cases: list[dict[str, Any]],
    budget_s: float,
    *,
    device: Any = None,
    torch_device: str = "cpu",
    rates: dict[str, float] | None = None,
) -> dict[str, Any]:
    device = device or jax.devices()[0]
    rates = rates or harness.machine_rates(device, budget_s, small=True)
    results = []
    for case in cases:
        diff = case.get("diff", (0,))
        args = tuple(jax.device_put(a, device) for a in case["args"])
        record = {
            "loss": case["loss"],
            "shape": list(case["shape"]),
            "jaxloss": harness._jax_case(case["fn"], args, diff, budget_s),
            "peers": {},
        }
        kind, floor_s = _floor(case, rates)
        entry = record["jaxloss"]["fwd_bwd"]
        entry["floor"], entry["floor_s"] = kind, floor_s
        entry["floor_fraction"] = floor_s / entry["time_s"]
        entry["dispatch_bound"] = harness.dispatch_bound(
            entry["time_s"], floor_s, rates["dispatch"]
        )
        for peer, (fn, peer_args) in case["peers"].items():
            try:
                if peer.startswith(_TORCH_PEERS):
                    compiled = "torch.compile" in peer
                    times = harness._torch_case(
                        fn, peer_args, {}, diff, torch_device, budget_s, compiled
                    )
                else:
                    peer_args = tuple(jax.device_put(a, device) for a in peer_args)
                    times = harness._jax_case(fn, peer_args, diff, budget_s)
            except Exception as exc:  # out of memory, a missing package: noted, not fatal
                record.setdefault("peers_failed", {})[peer] = f"{type(exc).__name__}: {exc}"[:300]
                continue
            record["peers"][peer] = {m: {"time_s": v["time_s"]} for m, v in times.items()}
        record["ratios"] = {
            p: entry["time_s"] / t["fwd_bwd"]["time_s"] for p, t in record["peers"].items()
        }
        results.append(record)
        print(f"{case['loss']} {tuple(case['shape'])}: done", flush=True)
    return {
        "date": datetime.date.today().isoformat(),
        "machine": harness.machine_info(device),
        "rates": rates,
        "results": results,
    }


def markdown(report: dict[str, Any], title: str, notes: str) -> str:
    info = report["machine"]
    rates = report.get("rates", {})
    lines = [
        f"# {title} — {report['date']}",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores; JAX device {info['device']}.",
        "Medians in ms. Ratio = jaxloss / peer, forward+backward (< 1: jaxloss faster). "
        "Temp = compiled temporary memory of jaxloss forward+backward. Floor % = share of "
        "the FLOP floor (matmul FLOPs at the measured matmul rate"
        + (f", {rates['matmul'] / 1e12:.1f} TFLOP/s" if "matmul" in rates else "")
        + ") or the bandwidth floor (inputs and gradients moved once"
        + (f", {rates['bandwidth'] / 1e9:.0f} GB/s" if "bandwidth" in rates else "")
        + "). '~': below the dispatch floor (timing is dispatch noise). "
        + notes,
        "",
        "| loss | shape | fwd | fwd+bwd | temp MiB | floor % | peer | peer fwd+bwd | ratio |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in report["results"]:
        j = r["jaxloss"]
        f = j["fwd_bwd"]
        bound = f.get("dispatch_bound", False)
        share = "~" if bound else f"{100 * f.get('floor_fraction', 0.0):.0f}% {f.get('floor', '')}"
        head = (
            f"| {r['loss']} | {tuple(r['shape'])} | {1e3 * j['fwd']['time_s']:.3g} | "
            f"{1e3 * f['time_s']:.3g} | {f['temp_bytes'] / 2**20:.1f} | {share}"
        )
        if not r["peers"]:
            lines.append(head + " | - | - | - |")
        for peer, t in r["peers"].items():
            ratio = "~" if bound else f"{r['ratios'][peer]:.3g}"
            lines.append(f"{head} | {peer} | {1e3 * t['fwd_bwd']['time_s']:.3g} | {ratio} |")
        for peer, why in r.get("peers_failed", {}).items():
            lines.append(f"{head} | {peer} | failed: {why[:60]} | - |")
    return "\n".join(lines) + "\n"


def _cases_for(cases: Callable[..., list[dict[str, Any]]], quick: bool, accelerator: bool):
    if accelerator and "accelerator" in inspect.signature(cases).parameters:
        return cases(quick, accelerator=True)
    return cases(quick)


def main(
    name: str,
    cases: Callable[..., list[dict[str, Any]]],
    title: str,
    notes: str,
    argv: Sequence[str] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}", description=title)
    parser.add_argument("--quick", action="store_true", help="tiny shapes: a smoke run")
    parser.add_argument("--device", choices=("cpu", "gpu", "tpu"), default="cpu")
    parser.add_argument("--budget", type=float, default=None, help="seconds of timing per case")
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=None,
        help=f"results folder (default ./{harness.RESULTS_DIR}/ in the current directory)",
    )
    args = parser.parse_args(argv)
    default_budget = 0.05 if args.quick else 2.0 if args.device == "cpu" else 0.5
    budget = args.budget if args.budget is not None else default_budget
    device = jax.devices(args.device)[0]
    accelerator = args.device != "cpu"
    with jax.default_device(device):
        report = run(
            _cases_for(cases, args.quick, accelerator),
            budget,
            device=device,
            torch_device=harness.torch_device(args.device),
        )
    table = markdown(report, title, notes)
    print(table)
    out = args.out or harness.default_out()
    out.mkdir(parents=True, exist_ok=True)
    stem = out / (
        f"{name}-{harness.machine_slug(report['machine'])}-{report['date']}"
        + ("-quick" if args.quick else "")
    )
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    stem.with_suffix(".md").write_text(table)
    print(f"wrote {stem}.json and .md")
    return 0
