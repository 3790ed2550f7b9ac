"""Collectives: the one place jaxloss talks across devices.

Every function is the identity when ``axis_name`` is None, so a loss calls them
unconditionally and runs unchanged on one device and inside ``shard_map``/``pmap``.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from jaxloss._core.types import Array, AxisName

T = TypeVar("T")


def psum(x: T, axis_name: AxisName) -> T:
    """``lax.psum`` of ``x`` (any pytree) over ``axis_name``, or ``x``."""
    return x if axis_name is None else jax.lax.psum(x, axis_name)


def pmax(x: Array, axis_name: AxisName) -> Array:
    """``lax.pmax`` over ``axis_name``, or ``x``."""
    return x if axis_name is None else jax.lax.pmax(x, axis_name)


def gather(x: Array, axis_name: AxisName) -> Array:
    """Every device's rows ``[devices * B, ...]`` (in-batch negatives), or ``x``.

    Each device then computes its own rows' losses against all candidates; the
    gradient flows back to the device that owns each candidate.
    """
    return x if axis_name is None else jax.lax.all_gather(x, axis_name, axis=0, tiled=True)


def row_offset(batch: int, axis_name: AxisName) -> Array | int:
    """Index of this device's first row in :func:`gather`'s result."""
    return 0 if axis_name is None else jax.lax.axis_index(axis_name) * batch


def gather_invariant(x: Array, axis_name: AxisName, axis: int = 0) -> Array:
    """Every device's blocks side by side along ``axis``, known to be the same on
    every device: a psum of zero-padded blocks. A statistic of the whole batch
    (one global sort, one sum over all pairs) computed from it is then replicated,
    as ``shard_map(out_specs=P())`` requires, and its transpose hands each device
    back the gradient of its own block."""
    if axis_name is None:
        return x
    n = x.shape[axis]
    shape = list(x.shape)
    shape[axis] = n * jax.lax.axis_size(axis_name)
    start = jax.lax.axis_index(axis_name) * n
    full = jax.lax.dynamic_update_slice_in_dim(jnp.zeros(shape, x.dtype), x, start, axis=axis)
    return psum(full, axis_name)


def axis_tuple(axis_name: AxisName) -> tuple[str, ...] | None:
    """``axis_name`` as a tuple of axis names, or None."""
    if axis_name is None:
        return None
    if isinstance(axis_name, str):
        return (axis_name,)
    return tuple(axis_name)


def axis_size(axes: tuple[str, ...]) -> int:
    """How many devices the mapped ``axes`` span together."""
    return math.prod(jax.lax.axis_size(a) for a in axes)


def varying_axes(x: Any) -> frozenset[str]:
    """The ``shard_map`` axes ``x`` is typed as varying over (empty outside it, or
    under ``check_vma=False``)."""
    aval = jax.typeof(x)
    manual = getattr(aval, "manual_axis_type", None)
    return frozenset(getattr(manual, "varying", ()) or getattr(aval, "vma", ()) or ())


def mark_varying(x: Array, axes: frozenset[str]) -> Array:
    """``x`` typed as varying over ``axes`` (``lax.pcast``), as a value computed
    from per-device data must be before it meets one."""
    return jax.lax.pcast(x, tuple(sorted(axes)), to="varying") if axes else x


def sum_over(x: Array, axes: frozenset[str]) -> Array:
    """``psum`` over a set of axes (the identity for none)."""
    return jax.lax.psum(x, tuple(sorted(axes))) if axes else x


__all__ = [
    "axis_size",
    "axis_tuple",
    "gather",
    "gather_invariant",
    "mark_varying",
    "pmax",
    "psum",
    "row_offset",
    "sum_over",
    "varying_axes",
]
