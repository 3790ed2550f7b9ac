"""What every metric shares: masks, class-id checks, options and the class axis."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import axis_hint, move_class_axis
from jaxloss._core.reduce import mask_of
from jaxloss._core.types import Array, ArrayLike


def keep_of(fn: str, where: ArrayLike | None, shape: tuple[int, ...]) -> Array:
    """``where`` as a boolean array of ``shape`` (all True without a mask)."""
    mask = mask_of(fn, where, shape)
    return jnp.ones(shape, bool) if mask is None else mask


def class_ids(fn: str, name: str, ids: Array, keep: Array, num_classes: int | None) -> Array:
    """Where ``ids`` are a class in [0, ``num_classes``) (0 or 1 for None), declared
    for :func:`jaxloss.checked` on the samples ``keep`` counts. A float id must be
    a whole number; NaN is never a class."""
    high = 2 if num_classes is None else num_classes
    ok = (ids >= 0) & (ids < high)
    if jnp.issubdtype(ids.dtype, jnp.inexact):
        ok = ok & (ids == jnp.floor(ids))
    expected = "0 or 1" if num_classes is None else f"a class index in [0, {num_classes})"
    checks.require(fn, name, ok | ~keep, ids, expected)
    return ok


def positive_int(fn: str, name: str, value: int) -> None:
    checks.check_integer(fn, name, value)
    if value < 1:
        checks.fail(fn, f"{name} must be a positive integer; got {value!r}")


def scores_last(
    fn: str, name: str, scores: Array, axis: int, targets_shape: tuple[int, ...]
) -> Array:
    """``scores [..., C]`` with the class axis ``axis`` moved last, their batch
    axes checked against the targets'."""
    (scores,) = move_class_axis(fn, axis, scores)
    if scores.shape[:-1] != tuple(targets_shape):
        checks.fail(
            fn,
            f"targets has shape {tuple(targets_shape)} but {name} has shape {scores.shape} "
            f"with its class axis last; targets must have shape {scores.shape[:-1]}"
            + axis_hint(name, scores.shape, tuple(targets_shape)),
        )
    return scores
