"""Every registered loss compiled for TPU at accelerator size, without a TPU.

``python -m benchmarks.tpu_costs`` (needs ``libtpu``: ``pip install 'jaxloss[tpu]'``)
compiles ``value_and_grad`` of each loss at about 2^26 elements of its main input
for one device of a TPU v5e topology, on abstract inputs (nothing runs), and
writes per loss: the compiled temporary memory, the bytes XLA's cost model
expects the program to move, and the floor (the inputs read and the gradients
written once). ``floor / moved`` is the share of the bandwidth floor the program
could reach if it ran at the copy bandwidth: a compile-time estimate of what
``python -m benchmarks --device gpu`` measures, and where a loss keeps large
temporaries. optax's loss of the same name, where there is one, gets the same
figures. Results go to ``--out`` (default ``./bench-results/``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

import jaxloss
from benchmarks import harness, peers

ELEMENTS = 1 << 26


def _abstract(tree: Any, device: Any) -> Any:
    sharding = jax.sharding.SingleDeviceSharding(device)
    return jax.tree.map(
        lambda a: (
            jax.ShapeDtypeStruct(np.shape(a), a.dtype, sharding=sharding)
            if isinstance(a, jax.Array)
            else a
        ),
        tree,
    )


def _costs(
    fn: Callable[..., Any], args: tuple, kwargs: dict, diff: tuple[int, ...], device
) -> dict:
    """Temp bytes and XLA's bytes accessed of ``value_and_grad`` compiled for ``device``.
    Array keyword arguments are passed as inputs, not baked in as constants."""
    arrays = {k: v for k, v in kwargs.items() if isinstance(v, jax.Array)}
    static = {k: v for k, v in kwargs.items() if k not in arrays}

    def value_and_grad(a, kw):
        def f(*d):
            full = list(a)
            for i, x in zip(diff, d, strict=True):
                full[i] = x
            return fn(*full, **kw, **static)

        return jax.value_and_grad(f, argnums=tuple(range(len(diff))))(*[a[i] for i in diff])

    compiled = jax.jit(value_and_grad).lower(*_abstract((args, arrays), device)).compile()
    cost = harness._cost(compiled)
    return {
        "temp_bytes": int(getattr(compiled.memory_analysis(), "temp_size_in_bytes", 0)),
        "bytes_accessed": float(cost.get("bytes accessed", 0.0)),
    }


def measure(spec: jaxloss.registry.LossSpec, device: Any) -> dict[str, Any]:
    """The loss at 2^26 elements, or at 1/16, 1/256 of that where the program
    does not fit the device (in-batch losses hold a batch x batch matrix)."""
    for shift in (0, 4, 8):
        try:
            return _measure_at(spec, device, ELEMENTS >> shift)
        except jax.errors.JaxRuntimeError as exc:
            if "RESOURCE_EXHAUSTED" not in str(exc) or shift == 8:
                raise
    raise AssertionError("unreachable")


def _measure_at(spec: jaxloss.registry.LossSpec, device: Any, elements: int) -> dict[str, Any]:
    cpu = jax.devices("cpu")[0]
    ex = harness._example_at(spec, elements, cpu)
    floor = sum(int(a.nbytes) for a in ex.args) + sum(
        int(ex.args[i].nbytes) for i in ex.diff_argnums
    )
    row: dict[str, Any] = {
        "loss": spec.name,
        "shape": list(ex.args[0].shape),
        "floor_bytes": floor,
        "jaxloss": _costs(
            lambda *a, **k: spec.fn(*ex.leading, *a, **k),
            ex.args,
            dict(ex.kwargs),
            ex.diff_argnums,
            device,
        ),
    }
    optax_fn = peers.optax_peer(spec.name)
    if optax_fn is not None:
        try:
            row["optax"] = _costs(optax_fn, ex.args, dict(ex.kwargs), ex.diff_argnums, device)
        except Exception as exc:  # an option optax does not take: noted, not fatal
            row["optax_failed"] = f"{type(exc).__name__}: {exc}"[:200]
    return row


def _share(row: dict[str, Any], who: str) -> str:
    moved = row[who]["bytes_accessed"]
    return f"{100 * row['floor_bytes'] / moved:.0f}%" if moved else "-"


def markdown(rows: list[dict[str, Any]], topology: str) -> str:
    lines = [
        f"# Every loss compiled for TPU {topology} at accelerator size — "
        f"{datetime.date.today().isoformat()}",
        "",
        f"jax {jax.__version__}; value_and_grad, compiled on abstract inputs for one device "
        "of the topology (nothing ran), at 2^26 elements of the main input (1/16 or 1/256 "
        "of that where the program does not fit the device's memory). "
        "Floor = inputs read and gradients written once. "
        "Floor share = floor / the bytes XLA's cost model expects the program to move: "
        "an estimate of the share of the bandwidth floor, not a measured time.",
        "",
        "| loss | shape | floor MiB | temp MiB | floor share | optax temp MiB | optax floor share |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['loss']} | - | - | failed: {r['error'][:60]} | - | - | - |")
            continue
        optax = (
            f"{r['optax']['temp_bytes'] / 2**20:,.1f} | {_share(r, 'optax')}"
            if "optax" in r
            else "- | -"
        )
        lines.append(
            f"| {r['loss']} | {tuple(r['shape'])} | {r['floor_bytes'] / 2**20:,.0f} | "
            f"{r['jaxloss']['temp_bytes'] / 2**20:,.1f} | {_share(r, 'jaxloss')} | {optax} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tpu_costs")
    parser.add_argument("--topology", default="v5e:2x2")
    parser.add_argument("--only", nargs="*", default=None, help="loss names (default: all)")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("TPU_ACCELERATOR_TYPE", "v5litepod-4")
    os.environ.setdefault("TPU_WORKER_HOSTNAMES", "localhost")
    from jax.experimental import topologies

    device = topologies.get_topology_desc(topology_name=args.topology, platform="tpu").devices[0]
    rows = []
    for spec in jaxloss.registry.all_losses():
        if args.only and spec.name not in args.only:
            continue
        try:
            rows.append(measure(spec, device))
        except Exception as exc:  # reported in the table, the others still run
            rows.append({"loss": spec.name, "error": f"{type(exc).__name__}: {exc}"})
        print(f"{spec.name}: done", flush=True)
    table = markdown(rows, args.topology)
    print(table)
    out = args.out or harness.default_out()
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"tpu-{args.topology.replace(':', '-')}-costs"
    report = {"date": datetime.date.today().isoformat(), "jax": jax.__version__, "rows": rows}
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    stem.with_suffix(".md").write_text(table)
    print(f"wrote {stem}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
