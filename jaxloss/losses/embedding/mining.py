"""Triplet loss with the triplets mined from a labelled batch.

Every miner works on the ``[B, N]`` distances of the batch's rows to every
device's rows (or to the reference embeddings), so memory is O(B^2): no miner
builds the ``[B, B, B]`` triplet tensor. The distance matrix is computed at
``jax.lax.Precision.HIGHEST`` (see :mod:`._common`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.reduce import examples_interact, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.losses.embedding._common import (
    DISTANCES,
    empty_batch,
    labelled_rows,
    similarity_matrix,
    squared_distances,
)

__all__ = ["batch_triplet_loss"]

MINING = ("batch_hard", "batch_all", "semi_hard")


@examples_interact
def batch_triplet_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: float = 1.0,
    mining: str = "batch_hard",
    squared: bool = False,
    distance: str = "euclidean",
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Triplet loss with the triplets mined from a labelled batch.

    .. math:: \ell(a, p, n) = \max(0,\ D_{ap} - D_{an} + m)

    with :math:`D` the Euclidean distance (squared with ``squared=True``) from one
    matrix product, or with ``distance="cosine"`` / ``"dot"`` minus the cosine /
    dot product (:math:`\max(0, s_{an} - s_{ap} + m)`, pytorch-metric-learning's
    rule for similarities). ``mining``:

    - ``"batch_hard"``: the farthest positive and nearest negative per anchor;
      the mean is over anchors that have both (Hermans et al.).
    - ``"batch_all"``: every valid triplet; the mean is over triplets with a
      positive loss (FaceNet as used by pytorch-metric-learning and Moindrot).
    - ``"semi_hard"``: per (anchor, positive), the nearest negative farther than
      the positive, else the farthest negative; the mean is over
      (anchor, positive) pairs (FaceNet; TensorFlow Addons'
      ``triplet_semihard_loss``).

    Args:
      embeddings: ``[B, D]``. labels: ``[B]`` integers; a NaN label (or a
        non-finite embedding) of a valid row makes the loss NaN.
      margin: m. squared: use squared distances (``distance="euclidean"`` only).
      distance: ``"euclidean"`` (default, of the raw embeddings; PML's
        ``LpDistance`` normalises them first by default: pass normalised
        embeddings to reproduce it), ``"cosine"`` or ``"dot"``.
      ref_embeddings, ref_labels: optional ``[M, D]`` and ``[M]``: positives and
        negatives come from these references instead of the batch (PML's
        ``ref_emb``/``ref_labels``; a reference equal to the anchor is a positive;
        with ``axis_name`` every device's references are gathered).
      weight, where: ``[B]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales each
        example's loss without changing the mean's denominator.
      axis_name: positives and negatives come from every device.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"`` (each anchor's summed
      triplet losses; 0 for anchors without a positive or a negative).

    Matches pytorch-metric-learning ``TripletMarginLoss`` with its miners, and
    TensorFlow Addons' ``triplet_semihard_loss``.
    Memory is O(B^2): "batch_all" never builds the [B, B, B] triplet tensor; it
    sorts each anchor's negative distances and sums the hinge with a prefix sum.
    References: Schroff et al. (2015), "FaceNet"; Hermans et al. (2017), "In
    Defense of the Triplet Loss for Person Re-Identification".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> e = jnp.array([[0.0, 0.0], [0.0, 1.0], [2.0, 0.0], [2.0, 1.0]])
      >>> float(jaxloss.batch_triplet_loss(e, jnp.array([0, 0, 1, 1])))
      0.0
    """
    fn = "batch_triplet_loss"
    checks.check_number(fn, "margin", margin)
    checks.check_option(fn, "mining", mining, MINING)
    checks.check_bool_option(fn, "squared", squared)
    checks.check_option(fn, "distance", distance, DISTANCES)
    if squared and distance != "euclidean":
        checks.fail(fn, f"squared=True needs distance='euclidean'; got distance={distance!r}")
    x, every, mask, positive, negative, bad = labelled_rows(
        fn,
        embeddings,
        labels,
        where,
        axis_name,
        ref_embeddings=ref_embeddings,
        ref_labels=ref_labels,
    )
    if not x.shape[0]:
        return empty_batch(
            fn,
            x.dtype,
            reduction=reduction,
            weight=weight,
            sample_weights=sample_weights,
            where=mask,
            axis_name=axis_name,
        )
    if squared:
        d = squared_distances(x, every)
    else:
        d = -similarity_matrix(x, every, distance)
    if mining == "batch_hard":
        loss, anchors = _batch_hard(d, positive=positive, negative=negative, margin=margin)
        # a bad row (NaN label or embedding) is NaN and counts, even without a triplet
        loss, anchors = jnp.where(bad, jnp.nan, loss), anchors | bad
        anchors = anchors if mask is None else anchors & mask
        return reduce_loss(
            loss,
            fn=fn,
            reduction=reduction,
            weight=weight,
            sample_weights=sample_weights,
            where=anchors,
            axis_name=axis_name,
        )
    # each anchor's negative distances in increasing order (inf past the last)
    neg_sorted = jnp.sort(jnp.where(negative, d, jnp.inf), axis=1)
    pairs = positive & jnp.any(negative, axis=1)[:, None]
    if mining == "semi_hard":
        pair_loss, count = _semi_hard(
            d, neg_sorted=neg_sorted, negative=negative, pairs=pairs, margin=margin
        )
    else:
        pair_loss, count = _batch_all(d, neg_sorted=neg_sorted, pairs=pairs, margin=margin)
    loss = jnp.where(bad, jnp.nan, jnp.sum(jnp.where(pairs, pair_loss, 0.0), axis=1))
    count = jnp.sum(count, axis=1) + bad
    if mask is not None:
        count = jnp.where(mask, count, 0)
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=mask,
        axis_name=axis_name,
        normalizer=jnp.sum(count),
    )


def _batch_hard(
    d: Array, *, positive: Array, negative: Array, margin: float
) -> tuple[Array, Array]:
    """Each anchor's loss on its farthest positive and nearest negative, and
    which anchors have both."""
    hardest_pos = jnp.max(jnp.where(positive, d, -jnp.inf), axis=1)
    nearest_neg = jnp.min(jnp.where(negative, d, jnp.inf), axis=1)
    anchors = jnp.any(positive, axis=1) & jnp.any(negative, axis=1)
    gap = jnp.where(anchors, hardest_pos - nearest_neg, 0.0)
    return jnp.where(anchors, jax.nn.relu(gap + margin), 0.0), anchors


def _semi_hard(
    d: Array, *, neg_sorted: Array, negative: Array, pairs: Array, margin: float
) -> tuple[Array, Array]:
    """Per (anchor, positive): the loss on the nearest negative farther than the
    positive, else on the farthest negative; each such pair counts once."""
    n_neg = jnp.sum(negative, axis=1)
    beyond = jax.vmap(functools.partial(jnp.searchsorted, side="right"))(neg_sorted, d)
    pick = jnp.where(beyond < n_neg[:, None], beyond, jnp.maximum(n_neg - 1, 0)[:, None])
    chosen = jnp.take_along_axis(neg_sorted, pick, axis=1)
    return jax.nn.relu(d - jnp.where(pairs, chosen, 0.0) + margin), pairs


def _batch_all(d: Array, *, neg_sorted: Array, pairs: Array, margin: float) -> tuple[Array, Array]:
    """Per (anchor, positive): the summed loss over every negative, and how many
    negatives give a positive loss."""
    # sum over negatives n with D_an < D_ap + m of (D_ap + m - D_an)
    threshold = d + margin
    below = jax.vmap(jnp.searchsorted)(neg_sorted, threshold)
    finite = jnp.where(jnp.isinf(neg_sorted), 0.0, neg_sorted)
    prefix = jnp.concatenate([jnp.zeros_like(d[:, :1]), jnp.cumsum(finite, axis=1)], axis=1)
    pair_loss = below * threshold - jnp.take_along_axis(prefix, below, axis=1)
    return pair_loss, jnp.where(pairs, below, 0)
