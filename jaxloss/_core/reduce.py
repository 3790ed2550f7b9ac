"""Reduction, weights and masks: the one place they live.

Every loss computes its unreduced value and hands it to :func:`reduce_loss`, so
``reduction``, ``weight``, ``where`` and ``axis_name`` mean the same thing in
every jaxloss function.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike

from jaxloss._core import checks
from jaxloss._core.numerics import safe_div, upcast
from jaxloss._core.sharding import psum
from jaxloss._core.types import Array, ArrayLike, AxisName

F = TypeVar("F", bound=Callable[..., Any])


def align_leading(fn: str, name: str, x: Array, shape: tuple[int, ...]) -> Array:
    """``x`` broadcast to ``shape`` along its leading axes.

    A mask or weight whose shape is a leading prefix of ``shape`` (a ``[B]`` mask
    on a ``[B, T]`` loss) applies along those axes; one of the full rank
    broadcasts as NumPy does (``[B, 1]`` on ``[B, T]``). Anything else raises:
    broadcasting a lower-rank array against the trailing axes would silently
    mask the wrong elements whenever the sizes happen to agree.
    """
    shape = tuple(shape)
    if x.shape == shape[: x.ndim]:
        return jnp.broadcast_to(x.reshape(x.shape + (1,) * (len(shape) - x.ndim)), shape)
    if x.ndim == len(shape):
        try:
            if np.broadcast_shapes(x.shape, shape) == shape:
                return jnp.broadcast_to(x, shape)
        except ValueError:
            pass
    prefixes = ", ".join(str(shape[:k]) for k in range(1, len(shape) + 1))
    checks.fail(
        fn,
        f"{name} has shape {x.shape}, which does not align with the unreduced loss of "
        f"shape {shape}: expected a leading prefix of it ({prefixes}) or an array of "
        f"rank {len(shape)} that broadcasts to it",
    )


def sample_weights_of(
    fn: str, sample_weights: ArrayLike | None, shape: tuple[int, ...]
) -> Array | None:
    """Validates per-sample weights (numeric, a leading prefix of ``shape``: ``[B]``
    on a ``[B, ...]`` loss, ``[B, T]`` on a ``[B, T, ...]`` one) and broadcasts them
    to ``shape``. Unlike ``weight``, a full-rank array that would broadcast is
    refused: these are weights of examples, not of elements."""
    if sample_weights is None:
        return None
    sample_weights = jnp.asarray(sample_weights)
    checks.check_numeric(fn, "sample_weights", sample_weights)
    shape = tuple(shape)
    if sample_weights.shape != shape[: sample_weights.ndim]:
        prefixes = ", ".join(str(shape[:k]) for k in range(1, len(shape) + 1)) or "()"
        checks.fail(
            fn,
            f"sample_weights has shape {sample_weights.shape}, which is not a leading "
            f"prefix of the unreduced loss's shape {shape}: expected one of {prefixes}",
        )
    return align_leading(fn, "sample_weights", sample_weights, shape)


def mask_of(fn: str, where: ArrayLike | None, shape: tuple[int, ...]) -> Array | None:
    """Validates ``where`` (boolean, aligned with the leading axes of ``shape``)
    and broadcasts it to ``shape``."""
    if where is None:
        return None
    where = jnp.asarray(where)
    checks.check_bool(fn, "where", where)
    return align_leading(fn, "where", where, shape)


def fill_masked(mask: Array | None, x: Array, fill: float) -> Array:
    """``x`` with masked-out entries replaced by a harmless ``fill``.

    Masking the loss alone zeroes masked entries' value and upstream gradient, but
    a NaN or Inf input there still turns ``0 * d(loss)/d(input)`` into NaN; losses
    call this on their inputs so masked entries can hold anything.
    """
    return x if mask is None else jnp.where(mask, x, fill)


_EXAMPLES_INTERACT: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


def examples_interact(fn: F) -> F:
    """Marks a loss whose examples interact (in-batch negatives, mining, ranking
    over the batch): the loss of one example depends on the others, so
    :func:`jaxloss.per_sample` refuses it. Returns ``fn`` itself."""
    _EXAMPLES_INTERACT.add(fn)
    return fn


def interacts(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` was marked with :func:`examples_interact`."""
    return fn in _EXAMPLES_INTERACT


def mask_weights(mask: Array | None, shape: tuple[int, ...], dtype: DTypeLike) -> Array:
    """A mask as 1/0 weights of ``shape`` (all ones without one), for sums that
    count valid elements."""
    return jnp.ones(shape, dtype) if mask is None else mask.astype(dtype)


def sum_per_sample(x: Array) -> Array:
    """``[B, ...]`` -> ``[B]``: the sum over every non-batch axis."""
    return jnp.sum(x, tuple(range(1, x.ndim)))


def mean_per_sample(x: Array) -> Array:
    """``[B, ...]`` -> ``[B]``: the mean over every non-batch axis."""
    return jnp.mean(x, tuple(range(1, x.ndim)))


def prepare_pair(
    fn: str,
    output_name: str,
    output: ArrayLike,
    targets: ArrayLike,
    where: ArrayLike | None,
    *,
    target_fill: float = 0.0,
) -> tuple[Array, Array, Array | None]:
    """Validates an elementwise (output, targets) pair, upcasts both to the compute
    dtype and fills masked-out entries (output 0, targets ``target_fill``), so NaN
    or Inf there (padding) cannot reach a gradient.

    Returns the two arrays and the mask broadcast to their shape.
    """
    output, targets = jnp.asarray(output), jnp.asarray(targets)
    checks.check_floating(fn, output_name, output)
    checks.check_numeric(fn, "targets", targets)
    checks.check_same_shape(fn, output_name, output, "targets", targets)
    x, t = upcast(output, targets)
    mask = mask_of(fn, where, x.shape)
    return fill_masked(mask, x, 0.0), fill_masked(mask, t, target_fill), mask


def prepare_arrays(
    fn: str,
    names: tuple[str, ...],
    arrays: Sequence[ArrayLike],
    where: ArrayLike | None,
    *,
    mask_axes: int | None = None,
    rank: int | set[int] | None = None,
) -> tuple[list[Array], Array | None]:
    """Validates same-shaped float arrays (embeddings, samples, images), upcasts
    them and zeroes what ``where`` masks out, so NaN padding there reaches nothing.

    ``where`` covers the first ``mask_axes`` axes (rows ``[B]`` with 1; rows of
    ``[..., D]`` vectors with -1, all but the last) or, with None, every element. Returns
    the arrays and the mask broadcast to the axes it covers.
    """
    given = [jnp.asarray(a) for a in arrays]
    for name, a in zip(names, given, strict=True):
        checks.check_floating(fn, name, a)
        checks.check_rank(fn, name, a, rank if rank is not None else set(range(1, 33)))
    for name, a in zip(names[1:], given[1:], strict=True):
        checks.check_same_shape(fn, names[0], given[0], name, a)
    computed = list(upcast(*given))
    shape = computed[0].shape
    mask = mask_of(fn, where, shape if mask_axes is None else shape[:mask_axes])
    if mask is None:
        return computed, None
    full = mask.reshape(mask.shape + (1,) * (len(shape) - mask.ndim))
    return [fill_masked(full, a, 0.0) for a in computed], mask


def reduce_loss(
    loss: ArrayLike,
    *,
    fn: str,
    reduction: str = "mean",
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
    normalizer: ArrayLike | None = None,
) -> Array:
    r"""Weights, masks and reduces an unreduced loss.

    .. math::
        \text{sum} = \sum_i m_i s_i w_i \ell_i, \qquad
        \text{mean} = \frac{\sum_i m_i s_i w_i \ell_i}{\sum_i m_i}

    Args:
      loss: the unreduced loss, any shape.
      fn: the public function's name, for error messages.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      weight: aligned with the leading axes of ``loss`` (see :func:`align_leading`);
        rescales each element.
      sample_weights: a leading prefix of ``loss``'s shape (``[B]``); rescales
        each example. Neither weight changes the mean's denominator.
      where: boolean, aligned like ``weight``; False elements contribute
        exactly 0 to value and gradient and are left out of the mean's count.
        An all-False mask gives 0, never NaN.
      axis_name: inside ``shard_map``/``pmap``, sums and counts are ``psum``-ed
        over this axis so the result is the global one.
      normalizer: the mean's denominator when it is not the element count
        (e.g. the summed class weights of non-ignored targets); already masked.

    Returns:
      ``loss``'s shape for ``"none"`` (masked elements are 0), else a scalar;
      float32 or wider whatever the input dtype.
    """
    checks.check_reduction(fn, reduction)
    (loss,) = upcast(jnp.asarray(loss))
    mask = mask_of(fn, where, loss.shape)
    if weight is not None:
        weight = jnp.asarray(weight)
        checks.check_numeric(fn, "weight", weight)
        weight = align_leading(fn, "weight", weight.astype(loss.dtype), loss.shape)
        # a masked element's weight may hold anything (Inf padding): zero it first,
        # or 0 * Inf would reach the gradient
        loss = loss * fill_masked(mask, weight, 0.0)
    per_sample = sample_weights_of(fn, sample_weights, loss.shape)
    if per_sample is not None:
        loss = loss * fill_masked(mask, per_sample.astype(loss.dtype), 0.0)
    if mask is not None:
        loss = jnp.where(mask, loss, 0.0)
    if reduction == "none":
        return loss
    total = jnp.sum(loss)
    if reduction == "sum":
        return psum(total, axis_name)
    if normalizer is None:
        count = jnp.sum(mask, dtype=loss.dtype) if mask is not None else loss.size
    else:
        count = normalizer
    total, count = psum((total, jnp.asarray(count, loss.dtype)), axis_name)
    return safe_div(total, count)
