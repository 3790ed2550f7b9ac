"""What the divergences share: validated distributions with their axis moved last,
the probability check, and the layout of a full-rank ``weight`` or ``where``."""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import move_class_axis
from jaxloss._core.reduce import prepare_arrays
from jaxloss._core.types import Array, ArrayLike

__all__ = ["distributions", "layout_of", "nan_where_nan", "probabilities"]


def nan_where_nan(x: Array) -> Array:
    """0 where ``x`` is a number, NaN where it is NaN (with a zero gradient): the
    value of a term that is exactly 0 but must carry a NaN input through."""
    return jnp.where(jnp.isnan(x), jnp.nan, 0.0)


def distributions(
    fn: str,
    names: Sequence[str],
    arrays: Sequence[ArrayLike],
    axis: int,
    where: ArrayLike | None,
) -> list[Array]:
    """Same-shape ``[..., K]`` arrays with the distribution axis ``axis`` moved last,
    upcast, and the distributions that ``where [...]`` masks out zeroed."""
    given = [jnp.asarray(a) for a in arrays]
    if given[0].ndim == 0:
        checks.fail(fn, f"{names[0]} must have a distribution axis [..., K]; got shape ()")
    for name, a in zip(names[1:], given[1:], strict=True):
        checks.check_same_shape(fn, names[0], given[0], name, a)
    moved = move_class_axis(fn, axis, *given)
    out, _ = prepare_arrays(fn, tuple(names), moved, where, mask_axes=-1)
    return out


def probabilities(fn: str, name: str, p: Array) -> Array:
    """``[...]``: whether every entry of each distribution ``p [..., K]`` is a
    probability in [0, 1]; :func:`jaxloss.checked` reports the first that is not."""
    ok = (p >= 0) & (p <= 1)
    checks.require(fn, name, ok, p, "probabilities in [0, 1]")
    return jnp.all(ok, axis=-1)


def layout_of(x: ArrayLike | None, ndim: int, axis: int) -> ArrayLike | None:
    """A ``weight`` or ``where`` of the inputs' full rank is laid out like them:
    its class axis moves last with theirs. A lower-rank one aligns with the
    leading (non-class) axes and is left as it is."""
    if x is None or jnp.ndim(x) != ndim or ndim == 0 or axis % ndim == ndim - 1:
        return x
    return jnp.moveaxis(jnp.asarray(x), axis, -1)
