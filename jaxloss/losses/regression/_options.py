"""Range checks of the regression losses' numeric options, eager and traced."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.types import Array, ArrayLike


def option_in_range(
    fn: str,
    name: str,
    value: ArrayLike,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> Array | None:
    """Checks a numeric option lies in a range.

    A concrete value is checked now (``TypeError``/``ValueError`` naming ``name``);
    a traced one (a schedule under ``jit``) cannot be, so this returns where it is
    valid, for the loss to give NaN elsewhere, and declares the constraint for
    :func:`jaxloss.checked`. None means nothing is left to check at run time.
    """
    checks.check_range(fn, name, value, low=low, high=high, low_open=low_open)
    if not checks.is_traced(value):
        return None
    v = jnp.asarray(value)
    ok = ~jnp.isnan(v)
    if low is not None:
        ok = ok & ((v > low) if low_open else (v >= low))
    if high is not None:
        ok = ok & (v <= high)
    lo = "-inf" if low is None else f"{low}"
    hi = "inf" if high is None else f"{high}"
    checks.require(fn, name, ok, v, f"in {'(' if low_open else '['}{lo}, {hi}]")
    return ok


def nan_unless(ok: Array | None, loss: Array) -> Array:
    """``loss`` with NaN where ``ok`` is False (nothing to do for None)."""
    return loss if ok is None else jnp.where(ok, loss, jnp.nan)
