"""Matmul FLOPs counted from a jaxpr: XLA's cost analysis counts a loop body once,
this multiplies each ``dot_general`` by the trip counts of the scans around it."""

from __future__ import annotations

import math

import jax
from jax.extend import core


def _sub_jaxprs(value):
    if isinstance(value, core.ClosedJaxpr):
        yield value.jaxpr
    elif isinstance(value, core.Jaxpr):
        yield value
    elif isinstance(value, tuple | list):
        for v in value:
            yield from _sub_jaxprs(v)


def _shape(var) -> tuple[int, ...]:
    return tuple(int(n) for n in var.aval.shape)


def matmul_flops(jaxpr: core.Jaxpr) -> int:
    """2*M*N*K summed over every ``dot_general`` (batch dimensions included), times
    the length of each enclosing ``scan``; a ``cond`` counts its costliest branch;
    any other primitive holding jaxprs (pjit, custom_vjp/jvp calls, shard_map,
    remat, while loops: one trip) counts theirs."""
    total = 0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name == "dot_general":
            (contract, _), _ = eqn.params["dimension_numbers"]
            lhs, out = _shape(eqn.invars[0]), _shape(eqn.outvars[0])
            total += 2 * math.prod(out) * math.prod(lhs[d] for d in contract)
        elif name == "scan":
            total += eqn.params["length"] * matmul_flops(eqn.params["jaxpr"].jaxpr)
        elif name == "cond":
            total += max(matmul_flops(b.jaxpr) for b in eqn.params["branches"])
        else:
            for value in eqn.params.values():
                total += sum(matmul_flops(j) for j in _sub_jaxprs(value))
    return total


def value_and_grad_flops(f, *shapes, argnums=(0, 1)) -> int:
    """Matmul FLOPs of ``jax.value_and_grad(f, argnums)`` on abstract inputs."""
    return matmul_flops(jax.make_jaxpr(jax.value_and_grad(f, argnums=argnums))(*shapes).jaxpr)
