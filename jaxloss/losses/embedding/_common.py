"""What the in-batch and mining losses share: a batch of rows, the candidates
gathered from every device, and which candidate pairs share a label."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.reduce import prepare_arrays
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
) -> tuple[Array, Array, Array | None, Array, Array]:
    """``[B, D]`` rows, every device's rows, the rows' mask, and the ``[B, N]``
    positive pairs (same label, not the row itself) and negative pairs among the
    valid candidates."""
    (x,), (every,), mask, every_mask, offset = batch_rows(
        fn, ("embeddings",), (embeddings,), where, axis_name
    )
    labels = checks.row_values(fn, "labels", labels, x.shape[:1])
    every_labels = gather(labels, axis_name)
    same = labels[:, None] == every_labels[None, :]
    itself = (offset + jnp.arange(x.shape[0]))[:, None] == jnp.arange(every.shape[0])[None, :]
    positive = same & ~itself & every_mask[None, :]
    negative = ~same & every_mask[None, :]
    return x, every, mask, positive, negative
