"""What the in-batch and mining losses share: a batch of rows, the candidates
gathered from every device (or the reference embeddings given in their place),
which candidate pairs share a label, the similarity of every row to every
candidate, and the loss of an empty batch.

Similarity matrices (``[B, D] x [D, N]``, cheap beside the model that produced
the rows) are computed at ``jax.lax.Precision.HIGHEST``: the default matmul
precision of GPUs and TPUs (TF32 / bf16 passes) would put relative errors of
~1e-4 into cosines that a scale of 64 or a temperature of 0.01 then amplifies.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import DTypeLike

from jaxloss._core import checks
from jaxloss._core.numerics import normalize, safe_sqrt, upcast
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


DISTANCES = ("euclidean", "cosine", "dot")


def matmul_t(a: Array, b: Array) -> Array:
    """``a @ b.T`` at full float32 precision on every backend."""
    return jnp.matmul(a, b.T, precision=jax.lax.Precision.HIGHEST)


def cosine_matrix(a: Array, b: Array) -> Array:
    """``[B, N]`` cosines of every row of ``a`` with every row of ``b``."""
    return matmul_t(normalize(a), normalize(b))


def class_cosines(x: Array, w: Array) -> Array:
    """``[..., C]`` cosines of every ``[..., D]`` row with every class vector ``[C, D]``."""
    return jnp.einsum(
        "...d,cd->...c", normalize(x), normalize(w), precision=jax.lax.Precision.HIGHEST
    )


def squared_distances(a: Array, b: Array) -> Array:
    """``[B, N]`` squared Euclidean distances from one matrix product."""
    sq = jnp.sum(a * a, -1)[:, None] + jnp.sum(b * b, -1)[None, :] - 2.0 * matmul_t(a, b)
    return jnp.maximum(sq, 0.0)


def similarity_matrix(a: Array, b: Array, distance: str) -> Array:
    """``[B, N]`` similarities (larger is closer): the cosine, the dot product, or
    minus the Euclidean distance (finite gradient at zero distance)."""
    if distance == "cosine":
        return cosine_matrix(a, b)
    if distance == "dot":
        return matmul_t(a, b)
    return -safe_sqrt(squared_distances(a, b))


def reference_rows(
    fn: str,
    x: Array,
    ref_embeddings: ArrayLike | None,
    ref_labels: ArrayLike | None,
    axis_name: AxisName,
) -> tuple[Array, Array, Array] | None:
    """Reference embeddings ``[M, D]`` and labels ``[M]`` gathered from every
    device, and which of them are bad (NaN label); None without them."""
    if ref_embeddings is None and ref_labels is None:
        return None
    if ref_embeddings is None or ref_labels is None:
        checks.fail(fn, "ref_embeddings and ref_labels must be given together")
    ref = jnp.asarray(ref_embeddings)
    checks.check_floating(fn, "ref_embeddings", ref)
    if ref.ndim != 2 or ref.shape[1] != x.shape[1]:
        checks.fail(
            fn,
            f"ref_embeddings must be [M, D] with D = {x.shape[1]} (the embeddings' "
            f"size); got shape {ref.shape}",
        )
    ref_y = checks.row_values(fn, "ref_labels", ref_labels, ref.shape[:1])
    (ref,) = upcast(ref)
    bad = jnp.zeros(ref.shape[:1], bool)
    if jnp.issubdtype(ref_y.dtype, jnp.inexact):
        bad = jnp.isnan(ref_y)
        checks.require(fn, "ref_labels", ~bad, ref_y, "class ids (not NaN)")
    return (
        gather(ref.astype(x.dtype), axis_name),
        gather(ref_y, axis_name),
        gather(bad, axis_name),
    )


def labelled_rows(
    fn: str,
    embeddings: ArrayLike,
    labels: ArrayLike,
    where: ArrayLike | None,
    axis_name: AxisName,
    *,
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
) -> tuple[Array, Array, Array | None, Array, Array, Array]:
    """``[B, D]`` rows, the ``[N, D]`` candidates (every device's rows, or the
    reference embeddings when given), the rows' mask, the ``[B, N]`` positive
    pairs (same label, not the row itself) and negative pairs among the valid
    candidates, and the ``[B]`` valid rows that are bad: a NaN label or a
    non-finite embedding (with references: any NaN reference label).

    With references, as pytorch-metric-learning's ``ref_emb``/``ref_labels``, the
    rows are anchors only and the references the only candidates; a reference
    equal to a row is a positive (no row is excluded as "itself").

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
    refs = reference_rows(fn, x, ref_embeddings, ref_labels, axis_name)
    if refs is not None:
        every, ref_y, ref_bad = refs
        same = labels[:, None] == ref_y[None, :]
        return x, every, mask, same, ~same, bad | jnp.any(ref_bad)
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
    sample_weights: ArrayLike | None,
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
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def class_matrix(fn: str, name: str, w: ArrayLike, x: Array) -> tuple[Array, Array]:
    """A ``[C, D]`` matrix of class vectors (class embeddings, proxies) for the
    ``[..., D]`` rows ``x``: both in their common compute dtype."""
    w = jnp.asarray(w)
    checks.check_floating(fn, name, w)
    if w.ndim != 2 or w.shape[1] != x.shape[-1] or w.shape[0] < 1:
        checks.fail(
            fn,
            f"{name} must be [C, D] with C >= 1 and D = {x.shape[-1]} (the embeddings' "
            f"size); got shape {w.shape}",
        )
    x, w = upcast(x, w)
    return x, w


def class_labels(fn: str, labels: ArrayLike, shape: tuple[int, ...]) -> Array:
    """Integer class ids of ``shape``, one per embedding."""
    labels = checks.row_values(fn, "labels", labels, shape)
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        checks.fail(fn, f"labels must be integer class ids; got dtype {labels.dtype}", TypeError)
    return labels
