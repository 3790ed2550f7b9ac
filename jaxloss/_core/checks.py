"""Validation: trace-time checks with clear messages, and run-time checks via checkify.

Every trace-time check raises ``ValueError`` or ``TypeError`` whose message starts
with ``jaxloss.<function>:`` and names the argument, what was expected and what
arrived. Shape checks run on static shapes, so they fire identically eagerly and
under ``jit``.

Run-time value checks (a label out of range, a probability outside [0, 1]) cannot
raise inside compiled code; losses declare them with :func:`require`, which is a
no-op unless the call runs under :func:`checked`.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import chex
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jax.experimental import checkify

from jaxloss._core.types import REDUCTIONS, Array, ArrayLike


def fail(fn: str, message: str, error: type[Exception] = ValueError) -> NoReturn:
    raise error(f"jaxloss.{fn}: {message}")


def is_traced(value: Any) -> bool:
    """Whether a hyperparameter is a tracer (under ``jit``/``grad``), whose value
    cannot choose a code path or be range-checked at trace time."""
    return isinstance(value, Tracer)


def may_be_nonzero(value: Any) -> bool:
    """True unless ``value`` is a concrete zero: a term scaled by it must be built."""
    return is_traced(value) or bool(np.any(np.asarray(value) != 0))


def _chex(fn: str, message: str, assertion: Callable[..., None], *args: Any) -> None:
    """Runs a chex assertion, rewording its failure to name the jaxloss function."""
    try:
        assertion(*args)
    except AssertionError:
        fail(fn, message)


def check_option(fn: str, name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        fail(fn, f"{name} must be one of {valid}; got {value!r}")


def check_bool_option(fn: str, name: str, value: Any) -> None:
    """A static switch must be a Python bool: an array here would be traced and
    could not choose a code path."""
    if not isinstance(value, bool):
        fail(fn, f"{name} must be True or False; got {value!r}", TypeError)


def check_reduction(fn: str, reduction: str, choices: Sequence[str] = REDUCTIONS) -> None:
    check_option(fn, "reduction", reduction, choices)


def check_floating(fn: str, name: str, x: ArrayLike) -> None:
    if not jnp.issubdtype(jnp.result_type(x), jnp.floating):
        fail(
            fn, f"{name} must be a floating-point array; got dtype {jnp.result_type(x)}", TypeError
        )


def check_numeric(fn: str, name: str, x: ArrayLike) -> None:
    dtype = jnp.result_type(x)
    if not (jnp.issubdtype(dtype, jnp.number) or dtype == jnp.bool_):
        fail(fn, f"{name} must be a numeric array; got dtype {dtype}", TypeError)
    if jnp.issubdtype(dtype, jnp.complexfloating):
        fail(fn, f"{name} must be real; got dtype {dtype}", TypeError)


def check_bool(fn: str, name: str, x: ArrayLike) -> None:
    if jnp.result_type(x) != jnp.bool_:
        fail(fn, f"{name} must be a boolean mask; got dtype {jnp.result_type(x)}", TypeError)


def check_same_shape(fn: str, name_a: str, a: ArrayLike, name_b: str, b: ArrayLike) -> None:
    _chex(
        fn,
        f"{name_b} has shape {np.shape(b)} but {name_a} has shape {np.shape(a)}; "
        "they must be equal (jaxloss never broadcasts targets silently)",
        chex.assert_equal_shape,
        [a, b],
    )


def check_rank(fn: str, name: str, x: ArrayLike, rank: int | set[int]) -> None:
    expected = rank if isinstance(rank, int) else sorted(rank)
    _chex(
        fn,
        f"{name} must have rank {expected}; got shape {np.shape(x)}",
        chex.assert_rank,
        x,
        rank,
    )


def check_broadcastable(fn: str, name: str, x: ArrayLike, shape: tuple[int, ...]) -> None:
    try:
        out = np.broadcast_shapes(np.shape(x), shape)
    except ValueError:
        out = None
    if out != tuple(shape):
        fail(
            fn,
            f"{name} has shape {np.shape(x)}, which does not broadcast to the "
            f"unreduced loss shape {tuple(shape)}",
        )


def check_range(
    fn: str,
    name: str,
    value: ArrayLike,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> None:
    """Checks a concrete hyperparameter (scalar or array) lies in a range; traced
    values are left to run time."""
    if is_traced(value):
        return
    v = np.asarray(value, dtype=np.float64)
    too_low = low is not None and np.any(v <= low if low_open else v < low)
    too_high = high is not None and np.any(v > high)
    if too_low or too_high or np.any(np.isnan(v)):
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        fail(fn, f"{name} must be in {'(' if low_open else '['}{lo}, {hi}]; got {value!r}")


def class_weights(
    fn: str, weight: ArrayLike | None, num_classes: int, name: str = "weight"
) -> Array | None:
    """A ``[C]`` vector of per-class weights, or None."""
    if weight is None:
        return None
    weight = jnp.asarray(weight)
    check_numeric(fn, name, weight)
    if weight.shape != (num_classes,):
        fail(fn, f"{name} must have shape ({num_classes},), one per class; got {weight.shape}")
    return weight


def row_values(fn: str, name: str, values: ArrayLike, shape: tuple[int, ...]) -> Array:
    """A numeric array with one value per row (labels, targets, rewards) of ``shape``."""
    values = jnp.asarray(values)
    check_numeric(fn, name, values)
    if values.shape != tuple(shape):
        fail(fn, f"{name} has shape {values.shape}; expected {tuple(shape)}, one per row")
    return values


# ---------------------------------------------------------------- run-time checks

_CHECKING: contextvars.ContextVar[bool] = contextvars.ContextVar("jaxloss_checking", default=False)


def require(fn: str, name: str, ok: ArrayLike, values: ArrayLike, expected: str) -> None:
    """Declares that every element of ``values`` where ``ok`` is False is invalid.

    Active only while tracing under :func:`checked`; otherwise free.
    """
    if not _CHECKING.get():
        return
    values = jnp.asarray(values)
    ok = jnp.broadcast_to(ok, values.shape).ravel()
    index = jnp.argmin(ok) if ok.size else jnp.asarray(0)
    bad = values.ravel()[index] if ok.size else jnp.asarray(0, values.dtype)
    checkify.check(
        jnp.all(ok),
        f"jaxloss.{fn}: {name} must be {expected}; got {{bad}} at flat index {{index}}",
        bad=bad,
        index=index,
    )


def require_finite(fn: str, name: str, x: Any) -> None:
    if isinstance(x, jax.Array | np.ndarray) and jnp.issubdtype(x.dtype, jnp.inexact):
        require(fn, name, jnp.isfinite(x), x, "finite (no NaN or Inf)")


def checked(loss_fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a loss so that run-time value errors raise instead of giving NaN.

    The wrapped function checks, with :mod:`jax.experimental.checkify`, that every
    floating-point array argument is finite, that the loss's own value constraints
    hold (labels in range, probabilities in [0, 1], ...) and that the result is
    finite. A violation raises ``JaxRuntimeError`` naming the offending value.

    Call the wrapped function outside ``jit``: it is a debugging aid that traces the
    loss under checkify itself and raises on the host. Checks run on the inputs as
    given, so NaN padding under a ``where`` mask is reported too.

    Example:
        >>> import jax.numpy as jnp, jaxloss
        >>> safe_msle = jaxloss.checked(jaxloss.msle_loss)
        >>> float(safe_msle(jnp.array([1.0, 2.0]), jnp.array([1.0, 2.0])))
        0.0
    """
    name = getattr(loss_fn, "__name__", "loss")

    @functools.wraps(loss_fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        def run(*arrays: Any) -> Any:
            for i, a in enumerate(arrays):
                require_finite(name, f"argument {i}", a)
            for key, value in kwargs.items():
                require_finite(name, key, value)
            out = loss_fn(*arrays, **kwargs)
            for leaf in jax.tree.leaves(out):
                require_finite(name, "the result", leaf)
            return out

        token = _CHECKING.set(True)
        try:
            arrays = [jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
            err, out = checkify.checkify(run)(*arrays)
        finally:
            _CHECKING.reset(token)
        err.throw()
        return out

    return wrapper
