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


def _escape(text: str) -> str:
    """``text`` with braces doubled, for a checkify message whose fields are braced."""
    return text.replace("{", "{{").replace("}", "}}")


def check_number(fn: str, name: str, value: Any) -> None:
    """A numeric hyperparameter: a Python or NumPy number, or a real array (traced
    values included). A string or other object raises ``TypeError`` here rather
    than failing deep inside the loss."""
    if is_traced(value) or isinstance(value, jax.Array):
        if not jnp.issubdtype(jnp.result_type(value), jnp.number) or jnp.issubdtype(
            jnp.result_type(value), jnp.complexfloating
        ):
            fail(fn, f"{name} must be a real number; got dtype {jnp.result_type(value)}", TypeError)
        return
    if isinstance(value, bool) or not isinstance(value, int | float | np.number | np.ndarray):
        fail(fn, f"{name} must be a number; got {value!r} ({type(value).__name__})", TypeError)
    if isinstance(value, np.ndarray) and not (
        np.issubdtype(value.dtype, np.number) and not np.iscomplexobj(value)
    ):
        fail(fn, f"{name} must be a real number; got dtype {value.dtype}", TypeError)


def check_integer(fn: str, name: str, value: Any) -> None:
    """A static integer option (an index, a count): a Python or NumPy integer."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        fail(fn, f"{name} must be an integer; got {value!r} ({type(value).__name__})", TypeError)


def check_range(
    fn: str,
    name: str,
    value: ArrayLike,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Checks a numeric hyperparameter (scalar or array) lies in a range; traced
    values are left to run time (see :func:`option_in_range`), but must still be
    numbers."""
    check_number(fn, name, value)
    if is_traced(value):
        return
    v = np.asarray(value, dtype=np.float64)
    too_low = low is not None and np.any(v <= low if low_open else v < low)
    too_high = high is not None and np.any(v >= high if high_open else v > high)
    if too_low or too_high or np.any(np.isnan(v)):
        fail(fn, f"{name} must be {_interval(low, high, low_open, high_open)}; got {value!r}")


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    lo = "-inf" if low is None else f"{low}"
    hi = "inf" if high is None else f"{high}"
    return f"in {'(' if low_open else '['}{lo}, {hi}{')' if high_open else ']'}"


def option_in_range(
    fn: str,
    name: str,
    value: ArrayLike,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    per_element: bool = False,
) -> Array | None:
    """:func:`check_range` for an option that may be traced (a schedule under ``jit``).

    A concrete value is checked now. A traced one cannot be, so this returns where
    it is valid (one flag, or one per element with ``per_element``), for the loss
    to give NaN elsewhere (:func:`nan_unless`), and declares the constraint for
    :func:`checked`. None means nothing is left to check at run time.
    """
    check_range(fn, name, value, low=low, high=high, low_open=low_open, high_open=high_open)
    if not is_traced(value):
        return None
    v = jnp.asarray(value)
    ok = ~jnp.isnan(v)
    if low is not None:
        ok = ok & ((v > low) if low_open else (v >= low))
    if high is not None:
        ok = ok & ((v < high) if high_open else (v <= high))
    require(fn, name, ok, v, _interval(low, high, low_open, high_open))
    return ok if per_element else jnp.all(ok)


def nan_unless(ok: Array | None, loss: Array) -> Array:
    """``loss`` with NaN where ``ok`` (from :func:`option_in_range`) is False."""
    return loss if ok is None else jnp.where(ok, loss, jnp.nan)


def static_number(fn: str, name: str, value: ArrayLike) -> float:
    """A number the loss compiles in (it picks code, or is a ``custom_vjp``'s
    static argument): a traced value is refused naming ``name``."""
    check_number(fn, name, value)
    if is_traced(value):
        fail(
            fn,
            f"{name} must be a concrete number (it is compiled into the loss); "
            "got a traced value: pass it as a Python float, or mark it static in jit",
            TypeError,
        )
    return float(np.asarray(value))


def class_weights_of(
    fn: str, weight: ArrayLike | None, num_classes: int, name: str = "weight"
) -> Array | None:
    """A ``[C]`` vector of per-class weights, or None."""
    if weight is None:
        return None
    if not isinstance(weight, jax.Array | np.ndarray | list | tuple):
        fail(fn, f"{name} must be an array of {num_classes} numbers; got {weight!r}", TypeError)
    weight = jnp.asarray(weight)
    check_numeric(fn, name, weight)
    if weight.shape != (num_classes,):
        fail(fn, f"{name} must have shape ({num_classes},), one per class; got {weight.shape}")
    return weight


def either_class_weights(
    fn: str,
    weight: ArrayLike | None,
    class_weights: ArrayLike | None,
    num_classes: int,
) -> Array | None:
    """The ``[C]`` class weights of a loss where PyTorch calls them ``weight``: given
    under either name (``class_weights`` is the one every class-axis loss shares),
    never both."""
    if weight is not None and class_weights is not None:
        fail(
            fn,
            "weight and class_weights are the same [C] class weights here "
            "(weight is PyTorch's name); pass one of them",
        )
    if weight is not None:
        return class_weights_of(fn, weight, num_classes, "weight")
    return class_weights_of(fn, class_weights, num_classes, "class_weights")


def row_values(fn: str, name: str, values: ArrayLike, shape: tuple[int, ...]) -> Array:
    """A numeric array with one value per row (labels, targets, rewards) of ``shape``."""
    values = jnp.asarray(values)
    check_numeric(fn, name, values)
    if values.shape != tuple(shape):
        fail(fn, f"{name} has shape {values.shape}; expected {tuple(shape)}, one per row")
    return values


# ---------------------------------------------------------------- run-time checks


_RAISE_IN_COMPILED_CODE = [False]


def enable_checks(enabled: bool = True) -> None:
    """Turns run-time value checks on (or off) everywhere, inside ``jit`` too.

    With checks on, a loss called with a value it cannot take (a label out of
    range, a probability outside [0, 1], ...) raises when the computation runs,
    naming the function, the argument, the bad value and its flat index, even
    inside a jitted (``jax.jit``, ``nnx.jit``) training step: the error arrives as
    a ``JaxRuntimeError`` whose message ends with jaxloss's. Checks cost a host
    round trip per check, so this is a debugging switch. Call it before the step
    is first traced: a step compiled earlier keeps the checks it was traced with.
    Without it such values give NaN, never a finite wrong number.

    Example:
        >>> import jax, jax.numpy as jnp, jaxloss
        >>> jaxloss.enable_checks()
        >>> step = jax.jit(jaxloss.cross_entropy)
        >>> step(jnp.zeros((4, 5)), jnp.array([0, 1, 9, 2])).block_until_ready()
        Traceback (most recent call last):
        ...
        jax...JaxRuntimeError: ...targets must be a class index in [0, 5)...got 9 at flat index 2...
        >>> jaxloss.enable_checks(False)
    """
    check_bool_option("enable_checks", "enabled", enabled)
    _RAISE_IN_COMPILED_CODE[0] = enabled


def _raise_unless(ok: Any, bad: Any, index: Any, *, message: str) -> None:
    if not bool(ok):
        raise ValueError(message.format(bad=bad, index=index))


def require(fn: str, name: str, ok: ArrayLike, values: ArrayLike, expected: str) -> None:
    """Declares that every element of ``values`` where ``ok`` is False is invalid.

    A ``checkify.debug_check``: compiled away (no cost) unless the call runs under
    :func:`checked` (or ``checkify.checkify``), which raises naming the function,
    the argument, the first bad value and its flat index. After
    :func:`enable_checks`, a host callback raises the same message from inside
    compiled code.
    """
    values = jnp.asarray(values)
    if not values.size:
        return
    ok = jnp.broadcast_to(ok, values.shape).ravel()
    index = jnp.argmin(ok)
    message = (
        f"jaxloss.{_escape(fn)}: {_escape(name)} must be {_escape(expected)}; "
        "got {bad} at flat index {index}"
    )
    bad = values.ravel()[index]
    checkify.debug_check(jnp.all(ok), message, bad=bad, index=index)
    if _RAISE_IN_COMPILED_CODE[0]:
        jax.debug.callback(
            functools.partial(_raise_unless, message=message), jnp.all(ok), bad, index
        )


def require_finite(fn: str, name: str, x: Any) -> None:
    if isinstance(x, jax.Array | np.ndarray) and jnp.issubdtype(x.dtype, jnp.inexact):
        require(fn, name, jnp.isfinite(x), x, "finite (no NaN or Inf)")


def _argument_labels(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    """A name for every leaf of ``(args, kwargs)``: ``argument i`` or the keyword."""
    labels = []
    for i, a in enumerate(args):
        labels += [f"argument {i}"] * len(jax.tree.leaves(a))
    for key, value in kwargs.items():
        labels += [key] * len(jax.tree.leaves(value))
    return labels


def checked(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a loss, or a whole (jitted) training step, so that run-time value
    errors raise instead of giving NaN.

    Under :mod:`jax.experimental.checkify` the wrapped function checks that every
    floating-point array in its arguments is finite, that the value constraints
    of every jaxloss loss it calls hold (labels in range, probabilities in [0, 1],
    ...) and that every floating-point result is finite. A violation raises
    ``JaxRuntimeError`` naming the function, the argument, the bad value and its
    flat index. Without ``checked`` those constraints compile to nothing.

    Wrap the outermost function, after ``jit``: ``step = jaxloss.checked(jax.jit(step))``
    keeps the step compiled (checkify transforms the compiled computation once and
    caches it) and raises on the host. ``jax.jit(jaxloss.checked(step))`` cannot
    raise from inside the trace and is refused with that advice.
    For an ``nnx.jit`` step that updates modules in place, use
    :func:`enable_checks` instead: under checkify the step runs on copies of its
    arguments, so in-place updates would not reach the caller's modules.

    Example:
        >>> import jax, jax.numpy as jnp, jaxloss
        >>> safe_ce = jaxloss.checked(jax.jit(jaxloss.cross_entropy))
        >>> float(safe_ce(jnp.zeros((2, 3)), jnp.array([0, 2])))
        1.0986123085021973
        >>> safe_ce(jnp.zeros((2, 3)), jnp.array([0, 7]))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        jax...JaxRuntimeError: jaxloss.cross_entropy: targets must be a class index in [0, 3) ...
    """
    name = getattr(fn, "__name__", "the function")

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        leaves, tree = jax.tree.flatten((args, kwargs))
        if any(is_traced(leaf) for leaf in leaves):
            fail(
                "checked",
                f"{name} is being traced (inside jit, grad or vmap), where an error cannot "
                f"be raised; wrap the outermost function instead: "
                f"jaxloss.checked(jax.jit({name}))",
            )
        # arrays go through checkify; everything else (options, callables) is closed over
        dynamic = [isinstance(leaf, jax.Array | np.ndarray | np.generic) for leaf in leaves]

        labels = _argument_labels(args, kwargs)

        def run(*arrays: Any) -> Any:
            given = iter(arrays)
            full = [next(given) if d else leaf for leaf, d in zip(leaves, dynamic, strict=True)]
            dynamic_labels = [lb for lb, d in zip(labels, dynamic, strict=True) if d]
            for a, label in zip(arrays, dynamic_labels, strict=True):
                require_finite(name, label, a)
            call_args, call_kwargs = jax.tree.unflatten(tree, full)
            out = fn(*call_args, **call_kwargs)
            for leaf in jax.tree.leaves(out):
                require_finite(name, "the result", leaf)
            return out

        err, out = checkify.checkify(run)(*(x for x, d in zip(leaves, dynamic, strict=True) if d))
        err.throw()
        return out

    return wrapper
