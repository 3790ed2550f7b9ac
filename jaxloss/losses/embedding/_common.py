"""What the in-batch and mining losses share: a batch of rows, the candidates
gathered from every device, which candidate pairs share a label, and the loss of
an empty batch."""

from __future__ import annotations

import jax.numpy as jnp
from jax.typing import DTypeLike

from jaxloss._core import checks
from jaxloss._core.reduce import prepare_arrays, reduce_loss
from jaxloss._core.sharding import gather, row_offset
from jaxloss._core.types import Array, ArrayLike, AxisName


def batch_rows(
    fn: str,
    names: tuple[str, ...],
    arrays: tuple[ArrayLike, ...],
    where: ArrayLike | None,
    axis_name: AxisName,
) -> tuple[list[Array], list[Array], Array | None, Array, Array | int]:
    """``[B, D]`` rows, their mask, every device's rows (the candidates), the
    candidates' mask and the index of this device's first row among them."""
    rows, mask = prepare_arrays(fn, names, arrays, where, mask_axes=-1, rank=2)
    batch = rows[0].shape[0]
    every = [gather(a, axis_name) for a in rows]
    every_mask = gather(jnp.ones((batch,), bool) if mask is None else mask, axis_name)
    return rows, every, mask, every_mask, row_offset(batch, axis_name)


def labelled_rows(
    fn: str, embeddings: ArrayLike, labels: ArrayLike, where: ArrayLike | None, axis_name: AxisName
) -> tuple[Array, Array, Array | None, Array, Array, Array]:
    """``[B, D]`` rows, every device's rows, the rows' mask, the ``[B, N]``
    positive pairs (same label, not the row itself) and negative pairs among the
    valid candidates, and the ``[B]`` valid rows that are bad: a NaN label or a
    non-finite embedding.

    A NaN label equals no other label, so its row would silently have no
    positive and be everyone's negative; a NaN embedding in a row without
    positives would drop out of the loss. The losses make a bad row's loss NaN
    and count it, so the reduced loss is NaN, never a finite wrong number.
    """
    (x,), (every,), mask, every_mask, offset = batch_rows(
        fn, ("embeddings",), (embeddings,), where, axis_name
    )
    labels = checks.row_values(fn, "labels", labels, x.shape[:1])
    # masked rows of x were zero-filled, so only valid rows can be bad
    bad = ~jnp.all(jnp.isfinite(x), axis=-1)
    if jnp.issubdtype(labels.dtype, jnp.inexact):
        nan_label = jnp.isnan(labels) if mask is None else jnp.isnan(labels) & mask
        checks.require(fn, "labels", ~nan_label, labels, "class ids (not NaN)")
        bad = bad | nan_label
    every_labels = gather(labels, axis_name)
    same = labels[:, None] == every_labels[None, :]
    itself = (offset + jnp.arange(x.shape[0]))[:, None] == jnp.arange(every.shape[0])[None, :]
    positive = same & ~itself & every_mask[None, :]
    negative = ~same & every_mask[None, :]
    return x, every, mask, positive, negative, bad


def empty_batch(
    fn: str,
    dtype: DTypeLike,
    *,
    reduction: str,
    weight: ArrayLike | None,
    where: Array | None,
    axis_name: AxisName,
) -> Array:
    """The loss of a batch without rows: 0 for "mean" and "sum", ``[0]`` for
    "none". In-batch losses take a max over the (empty) candidates, which has no
    identity, so they return this instead; it depends on no input, so every
    gradient is 0."""
    return reduce_loss(
        jnp.zeros((0,), dtype),
        fn=fn,
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )
