"""Every registered loss over its numerically hostile inputs: ``jaxloss check``.

The registry's ``example(key, batch, extreme=True)`` gives valid inputs that are
as hard as they get (logits of 1e4, exact 0/1 probabilities, zero distances,
degenerate boxes, ignored targets). For each loss this runs the mean-reduced
value and its gradient on them, in float32 and in bfloat16, and reports whether
everything stayed finite and bfloat16 agreed with float32: one compiled program
per loss.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
from collections.abc import Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss.catalogue import registry


@dataclasses.dataclass(frozen=True)
class StabilityRow:
    name: str
    family: str
    value_finite: bool
    grad_finite: bool
    bf16_ok: bool
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.value_finite and self.grad_finite and self.bf16_ok


def _value_and_grads(spec: registry.LossSpec, ex: registry.Example, args):
    def f(*diff):
        full = list(args)
        for i, d in zip(ex.diff_argnums, diff, strict=True):
            full[i] = d
        return registry.call(spec, ex, full, reduction="mean")

    return jax.value_and_grad(f, argnums=tuple(range(len(ex.diff_argnums))))(
        *[args[i] for i in ex.diff_argnums]
    )


def _finite(tree) -> bool:
    return all(bool(np.all(np.isfinite(np.float64(x)))) for x in jax.tree.leaves(tree))


def _with(ex: registry.Example, diff) -> list:
    """``ex.args`` with its differentiated arguments replaced by ``diff``."""
    full = list(ex.args)
    for i, d in zip(ex.diff_argnums, diff, strict=True):
        full[i] = d
    return full


_FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def _all_cases(spec: registry.LossSpec, extreme: registry.Example, ordinary: registry.Example):
    """Every evaluation of one loss's check in one jitted program (one compile):
    float32 and bfloat16 on the extreme inputs, bfloat16 on the ordinary ones and
    float32 on the same rounded ordinary inputs. On the CPU, XLA's backend
    optimisations are off: the program runs once, on a batch of 8."""

    def run(extreme_diff, ordinary_diff):
        low_ordinary = [d.astype(jnp.bfloat16) for d in ordinary_diff]
        return {
            "f32": _value_and_grads(spec, extreme, _with(extreme, extreme_diff)),
            "bf16_extreme": _value_and_grads(
                spec, extreme, _with(extreme, [d.astype(jnp.bfloat16) for d in extreme_diff])
            ),
            "bf16": _value_and_grads(spec, ordinary, _with(ordinary, low_ordinary)),
            "rounded": _value_and_grads(
                spec, ordinary, _with(ordinary, [d.astype(jnp.float32) for d in low_ordinary])
            ),
        }

    def diff(ex):
        return [ex.args[i] for i in ex.diff_argnums]

    args = (diff(extreme), diff(ordinary))
    lowered = jax.jit(run).lower(*args)
    options = _FAST_COMPILE if jax.default_backend() == "cpu" else None
    return lowered.compile(compiler_options=options)(*args)


def check_loss(spec: registry.LossSpec, *, batch: int = 8, seed: int = 0) -> StabilityRow:
    """Runs one loss over its extreme example (float32 and bfloat16) and checks
    bfloat16 against float32 on its ordinary example, compiled as one program."""
    key = jax.random.key(seed)
    out = _all_cases(spec, spec.example(key, batch, True), spec.example(key, batch, False))
    problems = []
    value, grads = out["f32"]
    value_ok, grad_ok = _finite(value), _finite(grads)
    if not (value_ok and grad_ok):
        problems.append("float32 extreme inputs")
    bf16_ok = _finite(out["bf16_extreme"])
    if not bf16_ok:
        problems.append("bfloat16 extreme inputs not finite")
    (low_value, low_grads), (ref_value, _) = out["bf16"], out["rounded"]
    # the same (rounded) inputs in float32: the loss itself must lose nothing more
    if not np.allclose(np.float64(low_value), np.float64(ref_value), rtol=1e-3, atol=1e-3):
        bf16_ok = False
        problems.append(f"bfloat16 value {float(low_value):.6g} vs float32 {float(ref_value):.6g}")
    if any(g.dtype != jnp.bfloat16 for g in jax.tree.leaves(low_grads)):
        bf16_ok = False
        problems.append("bfloat16 inputs got non-bfloat16 gradients")
    return StabilityRow(spec.name, spec.family, value_ok, grad_ok, bf16_ok, "; ".join(problems))


def stability_report(
    specs: Iterable[registry.LossSpec] | None = None,
    *,
    on_row: Callable[[StabilityRow], None] | None = None,
) -> list[StabilityRow]:
    """``check_loss`` for every registered loss (or ``specs``), in registry order.

    Losses are checked on a few threads: XLA compiles without holding the GIL, so
    one loss compiles while the next is traced."""

    def one(spec: registry.LossSpec) -> StabilityRow:
        try:
            return check_loss(spec)
        except Exception as exc:  # a crash is a failed check, reported with its cause
            return StabilityRow(spec.name, spec.family, False, False, False, repr(exc)[:200])

    rows = []
    workers = min(4, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for row in pool.map(one, registry.all_losses() if specs is None else specs):
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows
