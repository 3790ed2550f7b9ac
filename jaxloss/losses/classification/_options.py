"""Checks of the classification and language losses' options, eager and traced.

A concrete option is checked at trace time (``TypeError``/``ValueError`` naming
it as the user spelt it). A traced one (a schedule under ``jit``) cannot be, so
:func:`option_in_range` returns where it is valid, for the loss to give NaN
elsewhere, and declares the constraint for :func:`jaxloss.checked`.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

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
    """Checks a numeric option lies in a range; returns None when nothing is
    left to check at run time, else a boolean scalar that is False when the
    traced value is out of range (or NaN)."""
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
    return jnp.all(ok)


def nan_unless(ok: Array | None, loss: Array) -> Array:
    """``loss`` with NaN where ``ok`` is False (nothing to do for None)."""
    return loss if ok is None else jnp.where(ok, loss, jnp.nan)


def static_number(fn: str, name: str, value: ArrayLike) -> float:
    """A number the loss compiles in (it picks code, or is a ``custom_vjp``'s
    static argument): a traced value is refused naming ``name``."""
    checks.check_number(fn, name, value)
    if checks.is_traced(value):
        checks.fail(
            fn,
            f"{name} must be a concrete number (it is compiled into the loss); "
            "got a traced value: pass it as a Python float, or mark it static in jit",
            TypeError,
        )
    return float(np.asarray(value))
