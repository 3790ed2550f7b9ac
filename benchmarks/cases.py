"""Named benchmark cases at fixed shapes, each with its peers: the runner shared by
``benchmarks.segmentation`` and ``benchmarks.embedding``.

A case is a dict: ``loss`` (name), ``shape`` (the main input's), ``fn`` and
``args`` (the jaxloss call, differentiated in the arguments ``diff``, default the
first) and ``peers``,
a dict of name -> (fn, args), where a name starting with "torch" or "MONAI" runs
on torch eager and any other name is a JAX function run under ``jit``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import jax

from benchmarks.harness import RESULTS, _jax_case, _torch_case, machine_info, machine_slug

_TORCH_PEERS = ("torch", "MONAI")


def run(cases: list[dict[str, Any]], budget_s: float) -> dict[str, Any]:
    results = []
    for case in cases:
        record = {
            "loss": case["loss"],
            "shape": list(case["shape"]),
            "jaxloss": _jax_case(case["fn"], case["args"], case.get("diff", (0,)), budget_s),
            "peers": {},
        }
        for peer, (fn, args) in case["peers"].items():
            if peer.startswith(_TORCH_PEERS):
                times = _torch_case(fn, args, {}, case.get("diff", (0,)), "cpu", budget_s, False)
            else:
                times = _jax_case(fn, args, case.get("diff", (0,)), budget_s)
            record["peers"][peer] = {m: {"time_s": v["time_s"]} for m, v in times.items()}
        record["ratios"] = {
            p: record["jaxloss"]["fwd_bwd"]["time_s"] / t["fwd_bwd"]["time_s"]
            for p, t in record["peers"].items()
        }
        results.append(record)
        print(f"{case['loss']} {tuple(case['shape'])}: done", flush=True)
    return {
        "date": datetime.date.today().isoformat(),
        "machine": machine_info(jax.devices()[0]),
        "results": results,
    }


def markdown(report: dict[str, Any], title: str, notes: str) -> str:
    info = report["machine"]
    lines = [
        f"# {title} — {report['date']}",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores; JAX device {info['device']}.",
        "Medians in ms. Ratio = jaxloss / peer, forward+backward (< 1: jaxloss faster). "
        "Temp = compiled temporary memory of jaxloss forward+backward. " + notes,
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
                f"{head} | {peer} | {1e3 * t['fwd_bwd']['time_s']:.3g} | {r['ratios'][peer]:.3g} |"
            )
    return "\n".join(lines) + "\n"


def main(
    name: str,
    cases: Callable[[bool], list[dict[str, Any]]],
    title: str,
    notes: str,
    argv: Sequence[str] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}", description=title)
    parser.add_argument("--quick", action="store_true", help="tiny shapes: a smoke run")
    parser.add_argument("--budget", type=float, default=None, help="seconds of timing per case")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    budget = args.budget if args.budget is not None else (0.05 if args.quick else 2.0)
    report = run(cases(args.quick), budget)
    table = markdown(report, title, notes)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / (
        f"{name}-{machine_slug(report['machine'])}-{report['date']}"
        + ("-quick" if args.quick else "")
    )
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    stem.with_suffix(".md").write_text(table)
    print(f"wrote {stem}.json and .md")
    return 0
