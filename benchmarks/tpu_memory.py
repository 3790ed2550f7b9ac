"""Compiled temporary memory of the fused linear cross-entropy on TPU, without a TPU.

``python -m benchmarks.tpu_memory`` (needs ``libtpu``: ``pip install 'jaxloss[tpu]'``)
compiles ``value_and_grad`` of ``fused_linear_cross_entropy`` and of the
materialised ``cross_entropy(hidden @ weight)`` for a TPU v5e topology on
abstract inputs (nothing runs) and writes their ``memory_analysis()`` figures to
``--out`` (default ``./bench-results/``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import time
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

import jaxloss
from benchmarks import harness

SIZES = ((8192, 1024, 32768), (8192, 4096, 131072))


def _materialised(h, w, t):
    return jaxloss.cross_entropy(h @ w, t)


def measure(device, n: int, d: int, v: int, dtype) -> dict[str, Any]:
    sharding = jax.sharding.SingleDeviceSharding(device)
    shapes = [
        jax.ShapeDtypeStruct((n, d), dtype, sharding=sharding),
        jax.ShapeDtypeStruct((d, v), dtype, sharding=sharding),
        jax.ShapeDtypeStruct((n,), jnp.int32, sharding=sharding),
    ]
    row: dict[str, Any] = {"N": n, "D": d, "V": v, "dtype": jnp.dtype(dtype).name}
    for name, f in (("fused", jaxloss.fused_linear_cross_entropy), ("materialised", _materialised)):
        t0 = time.perf_counter()
        compiled = jax.jit(jax.value_and_grad(f, argnums=(0, 1))).lower(*shapes).compile()
        memory = compiled.memory_analysis()
        row[name] = {
            "temp_bytes": int(getattr(memory, "temp_size_in_bytes", 0)),
            "compile_s": time.perf_counter() - t0,
        }
    return row


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tpu_memory")
    parser.add_argument("--topology", default="v5e:2x2")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("TPU_ACCELERATOR_TYPE", "v5litepod-4")
    os.environ.setdefault("TPU_WORKER_HOSTNAMES", "localhost")
    from jax.experimental import topologies

    device = topologies.get_topology_desc(topology_name=args.topology, platform="tpu").devices[0]
    rows = [
        measure(device, *size, dtype) for size in SIZES for dtype in (jnp.bfloat16, jnp.float32)
    ]
    lines = [
        f"# Fused linear cross-entropy: compiled temp memory on TPU {args.topology} "
        f"— {datetime.date.today().isoformat()}",
        "",
        f"jax {jax.__version__}; value_and_grad in hidden and weight, compiled on abstract "
        "inputs for one device of the topology (nothing ran). The fused loss's default "
        "blocks are the CPU's when JAX's default backend is the CPU.",
        "",
        "| N | D | V | dtype | fused temp MiB | materialised temp MiB | ratio |",
        "|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        f, m = r["fused"]["temp_bytes"], r["materialised"]["temp_bytes"]
        lines.append(
            f"| {r['N']} | {r['D']} | {r['V']} | {r['dtype']} | {f / 2**20:,.0f} | "
            f"{m / 2**20:,.0f} | {m / max(f, 1):.1f}x |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    out = args.out or harness.default_out()
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"tpu-{args.topology.replace(':', '-')}-fused-memory"
    report = {"date": datetime.date.today().isoformat(), "jax": jax.__version__, "rows": rows}
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    stem.with_suffix(".md").write_text(table)
    print(f"wrote {stem}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
