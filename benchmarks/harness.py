"""Times every registered loss against its peers and the machine's copy bandwidth.

For each loss and size: the ``jax.jit``-compiled forward and forward+backward
(``value_and_grad``) as the median of repeated runs after warm-up, compile time,
compiled temp memory, transcendental operations and flops per element (XLA's cost
analysis), and the fraction of the memory-bandwidth floor reached: the bytes that
must be read and written once, divided by the copy bandwidth measured in the same
run, over the measured time. Peers run on the same data in the same process:
optax (jit), torch eager and ``torch.compile`` (on the GPU with ``--device gpu``).
A time within a few dispatch latencies of a no-op is marked as dispatch-bound:
its ratios and floor shares mean nothing. Results go to ``--out`` (default
``./bench-results/`` in the current directory), named after the device.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import pathlib
import platform
import re
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

import jaxloss
from benchmarks import peers

# the results committed with the source (written there only with --out)
RESULTS = pathlib.Path(__file__).resolve().parent / "results"
RESULTS_DIR = "bench-results"
SIZES = {"small": 1 << 14, "medium": 1 << 20, "large": 1 << 24}  # elements per input
ACCELERATOR_SIZES = {"accelerator": 1 << 26}
QUICK_SIZES = {"small": 1 << 12}
# a case faster than this many no-op dispatches is dispatch-bound
DISPATCH_FACTOR = 4.0


def dispatch_bound(time_s: float, floor_s: float, dispatch_s: float) -> bool:
    """Whether a timing says nothing about the kernels: the floor's work takes less
    than one dispatch of a no-op, or the time is within a few of them."""
    return floor_s < dispatch_s or time_s < DISPATCH_FACTOR * dispatch_s


def default_out() -> pathlib.Path:
    """Where results go without ``--out``: outside the source tree."""
    return pathlib.Path.cwd() / RESULTS_DIR


def torch_device(device: str) -> str:
    """torch's device for ``--device``: CUDA for a GPU where torch has it, else the CPU."""
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if device == "gpu" and torch.cuda.is_available() else "cpu"


# ----------------------------------------------------------------- timing


def median_time(
    fn: Callable[[], Any],
    sync: Callable[[Any], Any],
    *,
    budget_s: float,
    min_reps: int = 5,
    max_reps: int = 100,
) -> float:
    """Median wall time of ``fn`` in seconds, after two warm-up calls."""
    for _ in range(2):
        sync(fn())
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_reps or (
        len(times) < max_reps and time.perf_counter() - start < budget_s
    ):
        t0 = time.perf_counter()
        sync(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def copy_bandwidth(nbytes: int, budget_s: float) -> dict[str, float]:
    """Bytes per second moved by a plain copy (read + write), by NumPy and by XLA."""
    src = np.ones(nbytes // 4, np.float32)
    dst = np.empty_like(src)
    numpy_s = median_time(lambda: np.copyto(dst, src), lambda _: None, budget_s=budget_s)
    x = jax.device_put(src)
    scale = jax.jit(lambda a: a * 2.0)
    xla_s = median_time(lambda: scale(x), jax.block_until_ready, budget_s=budget_s)
    return {"numpy_copy": 2 * nbytes / numpy_s, "xla_scale": 2 * nbytes / xla_s}


def dispatch_floor(device, budget_s: float) -> float:
    """Median time of a jitted no-op on a scalar: the floor of any timing."""
    x = jax.device_put(np.float32(1.0), device)
    noop = jax.jit(lambda a: a + 1.0)
    return median_time(lambda: noop(x), jax.block_until_ready, budget_s=budget_s)


def matmul_rate(device, budget_s: float, small: bool = False) -> float:
    """FLOP/s of a square matmul (bfloat16 on accelerators, float32 on the CPU)."""
    import jax.numpy as jnp

    n = 256 if small or device.platform == "cpu" else 8192
    dtype = jnp.float32 if device.platform == "cpu" else jnp.bfloat16
    a = jax.device_put(jnp.ones((n, n), dtype), device)
    mm = jax.jit(lambda x: x @ x)
    return 2 * n**3 / median_time(lambda: mm(a), jax.block_until_ready, budget_s=budget_s)


def machine_rates(device, budget_s: float, small: bool = False) -> dict[str, float]:
    """Copy bandwidth (bytes/s), matmul rate (FLOP/s) and dispatch floor (s)."""
    nbytes = (1 << 22) if small else (1 << 28) if device.platform == "cpu" else (1 << 30)
    with jax.default_device(device):
        bandwidth = max(copy_bandwidth(nbytes, budget_s).values())
    return {
        "bandwidth": bandwidth,
        "matmul": matmul_rate(device, budget_s, small),
        "dispatch": dispatch_floor(device, budget_s),
    }


# ----------------------------------------------------------------- jax side


def _cost(compiled) -> dict[str, float]:
    cost = compiled.cost_analysis()
    if isinstance(cost, list | tuple):
        cost = cost[0] if cost else {}
    return dict(cost or {})


def _jax_case(fn: Callable, args: Sequence[jax.Array], diff: tuple[int, ...], budget_s: float):
    def value_and_grad(*a):
        return jax.value_and_grad(
            lambda *d: fn(*_splice(a, diff, d)), argnums=tuple(range(len(diff)))
        )(*[a[i] for i in diff])

    out = {}
    for mode, f in (("fwd", fn), ("fwd_bwd", value_and_grad)):
        t0 = time.perf_counter()
        compiled = jax.jit(f).lower(*args).compile()
        compile_s = time.perf_counter() - t0
        cost = _cost(compiled)
        out[mode] = {
            "time_s": median_time(
                lambda c=compiled: c(*args), jax.block_until_ready, budget_s=budget_s
            ),
            "compile_s": compile_s,
            "temp_bytes": int(getattr(compiled.memory_analysis(), "temp_size_in_bytes", 0)),
            "transcendentals": float(cost.get("transcendentals", 0.0)),
            "flops": float(cost.get("flops", 0.0)),
        }
    return out


def _splice(args, positions, values):
    full = list(args)
    for i, v in zip(positions, values, strict=True):
        full[i] = v
    return full


# ----------------------------------------------------------------- torch side


def _torch_case(tfn: Callable, args, kwargs, diff, device: str, budget_s: float, compile_: bool):
    import torch

    def to_torch(x):
        if not isinstance(x, jax.Array):
            return x
        if x.dtype == jax.numpy.bfloat16:  # NumPy has no bfloat16 torch can read
            return torch.from_numpy(np.array(x.astype(np.float32))).to(device, torch.bfloat16)
        t = torch.from_numpy(np.array(x))
        # torch wants int64 class indices
        return (t.long() if not t.is_floating_point() else t).to(device)

    targs = [to_torch(a) for a in args]
    tkw = {k: to_torch(v) for k, v in kwargs.items()}
    sync = (lambda _: torch.cuda.synchronize()) if device == "cuda" else (lambda _: None)
    # kl_div's note that "mean" divides by every element: the peer is what it is
    warnings.filterwarnings("ignore", message=".*reduction: 'mean' divides", category=UserWarning)
    if compile_:
        # a fresh cache per case: dynamo otherwise hits its recompile limit across
        # sizes and grad modes and silently falls back to eager
        torch._dynamo.reset()
        f = torch.compile(tfn, dynamic=False)
    else:
        f = tfn
    leaves = [targs[i].detach().clone().requires_grad_(True) for i in diff]
    full = _splice(targs, diff, leaves)

    def fwd():
        with torch.no_grad():
            return f(*targs, **tkw)

    def fwd_bwd():
        for leaf in leaves:
            leaf.grad = None
        loss = f(*full, **tkw)
        loss.backward()
        return loss

    return {
        "fwd": {"time_s": median_time(fwd, sync, budget_s=budget_s)},
        "fwd_bwd": {"time_s": median_time(fwd_bwd, sync, budget_s=budget_s)},
    }


# ----------------------------------------------------------------- one loss


def _example_at(spec, elements: int, device) -> jaxloss.registry.Example:
    probe = spec.example(jax.random.key(0), 8)
    per_row = max(1, int(np.prod(probe.args[0].shape[1:])))
    batch = max(8, elements // per_row // 8 * 8)
    ex = spec.example(jax.random.key(0), batch)
    return dataclasses.replace(ex, args=tuple(jax.device_put(a, device) for a in ex.args))


def bench_loss(
    spec,
    size: str,
    elements: int,
    *,
    device,
    torch_device: str | None,
    budget_s: float,
    bandwidth: float,
    torch_compile: bool,
    dispatch_s: float = 0.0,
) -> dict[str, Any]:
    ex = _example_at(spec, elements, device)
    n = int(np.prod(ex.args[0].shape))

    def fn(*a):
        return jaxloss.registry.call(spec, ex, a)

    record: dict[str, Any] = {
        "loss": spec.name,
        "size": size,
        "elements": n,
        "jaxloss": _jax_case(fn, ex.args, ex.diff_argnums, budget_s),
    }
    in_bytes = sum(int(a.nbytes) for a in ex.args)
    grad_bytes = sum(int(ex.args[i].nbytes) for i in ex.diff_argnums)
    for mode, nbytes in (("fwd", in_bytes), ("fwd_bwd", in_bytes + grad_bytes)):
        entry = record["jaxloss"][mode]
        entry["floor_bytes"] = nbytes
        entry["bandwidth_fraction"] = nbytes / bandwidth / entry["time_s"]
        entry["transcendentals_per_element"] = entry["transcendentals"] / n
        entry["flops_per_element"] = entry["flops"] / n
        entry["dispatch_bound"] = dispatch_bound(entry["time_s"], nbytes / bandwidth, dispatch_s)

    record["peers"] = {}
    optax_fn = peers.optax_peer(spec.name)
    if optax_fn is not None:
        case = _jax_case(lambda *a: optax_fn(*a, **ex.kwargs), ex.args, ex.diff_argnums, budget_s)
        record["peers"]["optax"] = {m: {"time_s": v["time_s"]} for m, v in case.items()}
    torch_fn = peers.torch_peer(spec.name) if torch_device else None
    if torch_fn is not None:
        record["peers"]["torch"] = _torch_case(
            torch_fn, ex.args, ex.kwargs, ex.diff_argnums, torch_device or "cpu", budget_s, False
        )
        if torch_compile and (torch_device == "cpu" or spec.name in peers.TORCH_COMPILE_PEERS):
            try:
                record["peers"]["torch.compile"] = _torch_case(
                    torch_fn,
                    ex.args,
                    ex.kwargs,
                    ex.diff_argnums,
                    torch_device or "cpu",
                    budget_s,
                    True,
                )
            except Exception as exc:
                record["peers_failed"] = {"torch.compile": f"{type(exc).__name__}: {exc}"[:300]}
    record["ratios"] = {
        peer: {m: record["jaxloss"][m]["time_s"] / t[m]["time_s"] for m in ("fwd", "fwd_bwd")}
        for peer, t in record["peers"].items()
    }
    return record


# ----------------------------------------------------------------- reporting


def machine_info(device) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": getattr(jax.lib, "__version__", jax.__version__),
        "jaxloss": jaxloss.__version__,
    }
    for mod in ("optax", "torch", "numpy"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            versions[mod] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "device": f"{device.platform}:{device.device_kind}",
        "versions": versions,
    }


def machine_slug(info: dict[str, Any]) -> str:
    platform_, kind = info["device"].split(":", 1)
    name = kind if platform_ != "cpu" else f"cpu-{info['cpu']}-{info['cores']}c"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _ms(t: float | None) -> str:
    return "-" if t is None else f"{1e3 * t:.3g}"


def markdown(report: dict[str, Any]) -> str:
    info = report["machine"]
    lines = [
        f"# jaxloss benchmarks — {report['date']}",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores; JAX device {info['device']}; "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v),
        f"Copy bandwidth: {report['bandwidth_bytes_per_s'] / 1e9:.2f} GB/s "
        f"(best of {', '.join(f'{k} {v / 1e9:.2f}' for k, v in report['bandwidth_detail'].items())}).",
        "",
        "Times are medians in ms; ratio = jaxloss / peer for forward+backward (< 1: jaxloss is faster). "
        "BW% = share of the copy-bandwidth floor reached by jaxloss forward+backward; "
        "transc/el = transcendental ops per element in jaxloss forward+backward (XLA cost analysis). "
        "'~': dispatch-bound (the floor's work takes less than a no-op's dispatch): "
        "the timing is dispatch noise.",
        "",
        "| loss | size | elements | fwd | fwd+bwd | optax f+b | torch f+b | torch.compile f+b "
        "| ratio optax | ratio torch | ratio compile | BW% | transc/el | temp MiB | compile s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        j = r["jaxloss"]
        bound = j["fwd_bwd"].get("dispatch_bound", False)
        peer_t = {
            p: r["peers"].get(p, {}).get("fwd_bwd", {}).get("time_s")
            for p in ("optax", "torch", "torch.compile")
        }
        ratio = {p: r["ratios"].get(p, {}).get("fwd_bwd") for p in peer_t}
        lines.append(
            f"| {r['loss']} | {r['size']} | {r['elements']:,} | {_ms(j['fwd']['time_s'])} | "
            f"{_ms(j['fwd_bwd']['time_s'])} | "
            + " | ".join(_ms(peer_t[p]) for p in peer_t)
            + " | "
            + " | ".join(
                "-" if ratio[p] is None else "~" if bound else f"{ratio[p]:.2f}" for p in ratio
            )
            + (" | ~ " if bound else f" | {100 * j['fwd_bwd']['bandwidth_fraction']:.0f}% ")
            + f"| {j['fwd_bwd']['transcendentals_per_element']:.2g} "
            f"| {j['fwd_bwd']['temp_bytes'] / 2**20:.2f} "
            f"| {j['fwd']['compile_s'] + j['fwd_bwd']['compile_s']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def chart(report: dict[str, Any], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    largest = {}
    for r in report["results"]:
        if r["ratios"]:
            largest[r["loss"]] = r  # results are ordered small to large
    names = list(largest)
    peer_names = ["optax", "torch", "torch.compile"]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(names) + 2), 4.5))
    width = 0.8 / len(peer_names)
    for k, peer in enumerate(peer_names):
        vals = [largest[n]["ratios"].get(peer, {}).get("fwd_bwd", np.nan) for n in names]
        ax.bar(np.arange(len(names)) + (k - 1) * width, vals, width, label=f"vs {peer}")
    ax.axhline(1.0, color="black", lw=1)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("jaxloss / peer time, fwd+bwd (lower is better)")
    sizes = sorted({largest[n]["elements"] for n in names})
    ax.set_title(
        f"{report['machine']['device']} — largest size ({', '.join(f'{s:,}' for s in sizes)} elements)"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------- entry point


CASE_MODULES = ("language", "segmentation", "embedding", "ctc")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=(__doc__ or "benchmarks").splitlines()[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and short budgets: a smoke run"
    )
    parser.add_argument(
        "--suite",
        action="store_true",
        help="also every case module (" + ", ".join(CASE_MODULES) + ") with the same options",
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="benchmark only these losses")
    parser.add_argument("--device", choices=("cpu", "gpu", "tpu"), default="cpu")
    parser.add_argument(
        "--sizes",
        nargs="+",
        choices=(*SIZES, *ACCELERATOR_SIZES),
        help="subset of sizes (default: all of the CPU's; 'accelerator', 2^26 elements, on a GPU)",
    )
    parser.add_argument("--budget", type=float, default=None, help="seconds of timing per case")
    parser.add_argument(
        "--no-torch-compile", action="store_true", help="skip the torch.compile peer"
    )
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=None,
        help=f"results folder (default ./{RESULTS_DIR}/ in the current directory)",
    )
    parser.add_argument(
        "--tag", default="", help="suffix for the result files, e.g. a family run with --only"
    )
    return parser


def _sizes(args: argparse.Namespace) -> dict[str, int]:
    if args.quick:
        return QUICK_SIZES
    every = {**SIZES, **ACCELERATOR_SIZES}
    if args.sizes:
        return {k: every[k] for k in args.sizes}
    return ACCELERATOR_SIZES if args.device != "cpu" else SIZES


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    device = jax.devices(args.device)[0]
    # losses over a whole batch (in-batch negatives, mining) are O(B^2): they are
    # timed at realistic batch sizes by benchmarks/embedding.py instead
    specs = (
        [jaxloss.registry.get(n) for n in args.only]
        if args.only
        else [s for s in jaxloss.registry.all_losses() if not s.batch_coupled]
    )
    sizes = _sizes(args)
    default_budget = 0.05 if args.quick else 1.0 if args.device == "cpu" else 0.25
    budget = args.budget if args.budget is not None else default_budget
    try:
        import torch  # noqa: F401

        torch_dev = torch_device(args.device)
    except ImportError:
        torch_dev = None
    torch_compile = torch_dev is not None and not args.quick and not args.no_torch_compile

    info = machine_info(device)
    with jax.default_device(device):
        detail = copy_bandwidth(
            (1 << 22) if args.quick else (1 << 28) if args.device == "cpu" else (1 << 30), budget
        )
        report = {
            "date": datetime.date.today().isoformat(),
            "machine": info,
            "bandwidth_bytes_per_s": max(detail.values()),
            "bandwidth_detail": detail,
            "dispatch_s": dispatch_floor(device, budget),
            "sizes": sizes,
            "results": [],
        }
        cases = [(s, size, n) for size, n in sizes.items() for s in specs]
        with _progress() as progress:
            task = progress.add_task("benchmarking", total=len(cases))
            for spec, size, n in cases:
                progress.update(task, description=f"{spec.name} ({size})")
                try:
                    record = bench_loss(
                        spec,
                        size,
                        n,
                        device=device,
                        torch_device=torch_dev,
                        budget_s=budget,
                        bandwidth=report["bandwidth_bytes_per_s"],
                        torch_compile=torch_compile,
                        dispatch_s=report["dispatch_s"],
                    )
                except Exception as exc:  # e.g. out of memory: noted, the run goes on
                    report.setdefault("failed", {})[f"{spec.name} ({size})"] = (
                        f"{type(exc).__name__}: {exc}"[:300]
                    )
                else:
                    report["results"].append(record)
                progress.advance(task)

    table = markdown(report)
    print(table)
    out = args.out or default_out()
    out.mkdir(parents=True, exist_ok=True)
    tag = "".join(f"-{t}" for t in (args.tag, "quick" if args.quick else "") if t)
    stem = out / f"{machine_slug(info)}-{report['date']}{tag}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    stem.with_suffix(".md").write_text(table)
    try:
        chart(report, stem.with_suffix(".png"))
    except ImportError:  # no matplotlib: the table and the JSON are the results
        print(f"wrote {stem}.json and .md (no matplotlib: no chart)")
    else:
        print(f"wrote {stem}.json, .md and .png")
    if args.suite:
        return _suite(args, out)
    return 0


def _suite(args: argparse.Namespace, out: pathlib.Path) -> int:
    """Every case module with the same device, size and budget options."""
    import importlib

    argv = ["--device", args.device, "--out", str(out)]
    argv += ["--quick"] if args.quick else []
    argv += ["--budget", str(args.budget)] if args.budget is not None else []
    status = 0
    for name in CASE_MODULES:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ImportError:
            continue  # a module this checkout does not have
        print(f"== benchmarks.{name}", flush=True)
        try:
            status |= module.main(argv)
        except Exception as exc:  # one module's failure leaves the others to run
            print(f"benchmarks.{name} failed: {type(exc).__name__}: {exc}", flush=True)
            status = 1
    return status


def _progress() -> Any:
    try:
        from rich.progress import Progress

        return Progress(transient=False)
    except ImportError:  # a plain fallback so the harness runs without rich
        return _PlainProgress()


class _PlainProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, description, total):
        self.total, self.done = total, 0
        return 0

    def update(self, task, description):
        print(f"[{self.done + 1}/{self.total}] {description}", flush=True)

    def advance(self, task):
        self.done += 1
