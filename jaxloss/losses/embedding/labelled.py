"""Contrastive losses over a labelled batch: every same-label pair is a positive.

Embeddings are ``[B, D]`` with ``[B]`` labels. Each row is compared with every
other row of the batch (gathered from every device with ``axis_name``), or, with
``ref_embeddings``/``ref_labels``, with those reference rows only (a memory bank,
another view; pytorch-metric-learning's ``ref_emb``/``ref_labels``; with
``axis_name`` each device's references are gathered like its rows, so shard a
memory bank rather than replicate it). ``distance``
picks the similarity: ``"cosine"`` (the default), ``"dot"`` (the raw dot
product) or ``"euclidean"`` (minus the Euclidean distance of the raw
embeddings). pytorch-metric-learning's ``LpDistance`` normalises the embeddings
first by default: pass normalised embeddings to reproduce it.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import masked_logsumexp
from jaxloss._core.reduce import examples_interact, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.losses.embedding._common import (
    DISTANCES,
    empty_batch,
    labelled_rows,
    similarity_matrix,
)

__all__ = ["ntxent_loss", "supervised_contrastive_loss"]


@examples_interact
def ntxent_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    temperature: float = 0.07,
    distance: str = "cosine",
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""NT-Xent (SimCLR): each positive pair against the anchor's negatives.

    .. math::
        \ell_{ij} = -\log \frac{e^{s_{ij}}}{e^{s_{ij}} + \sum_{k:\,y_k \ne y_i} e^{s_{ik}}},
        \qquad s_{ij} = \operatorname{sim}(z_i, z_j)/\tau

    for every pair i != j with :math:`y_i = y_j`; the mean is over those pairs.

    Args:
      embeddings: ``[B, D]``. labels: ``[B]`` integers; equal labels mark positive
        pairs (e.g. the two views of an image). A NaN label (or a non-finite
        embedding) of a valid row makes the loss NaN.
      temperature: tau > 0.
      distance: ``"cosine"`` (default), ``"dot"``, or ``"euclidean"`` (sim = -d).
      ref_embeddings, ref_labels: optional ``[M, D]`` and ``[M]``: the candidates
        in place of the batch (every reference with the anchor's label is a
        positive, even one equal to the anchor).
      weight, where: ``[B]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales each
        example's loss without changing the mean's denominator.

    Returns:
      A scalar, or ``[B]`` (each anchor's summed pair losses) for ``reduction="none"``.

    Matches optax ``ntxent`` and pytorch-metric-learning ``NTXentLoss``.
    References: Chen et al. (2020), "A Simple Framework for Contrastive Learning";
    https://github.com/KevinMusgrave/pytorch-metric-learning
    (``src/pytorch_metric_learning/losses/ntxent_loss.py``).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> z = jnp.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
      >>> round(float(jaxloss.ntxent_loss(z, jnp.array([0, 0, 1, 1]), temperature=1.0)), 4)
      0.5978
    """
    fn = "ntxent_loss"
    checks.check_range(fn, "temperature", temperature, low=0.0, low_open=True)
    checks.check_option(fn, "distance", distance, DISTANCES)
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
    s = similarity_matrix(x, every, distance) / temperature
    rest = masked_logsumexp(s, negative)[:, None]
    pair = jnp.where(positive, jnp.logaddexp(s, rest) - s, 0.0)
    loss = jnp.where(bad, jnp.nan, jnp.sum(pair, axis=1))
    if mask is not None:
        positive = positive & mask[:, None]
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=mask,
        axis_name=axis_name,
        # a bad row counts, so its NaN is never divided away by a zero count
        normalizer=jnp.sum(positive) + jnp.sum(bad),
    )


@examples_interact
def supervised_contrastive_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    temperature: float = 0.1,
    distance: str = "cosine",
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Supervised contrastive loss (SupCon): every same-label row is a positive.

    .. math::
        \ell_i = -\frac{1}{|P(i)|}\sum_{p \in P(i)}
                 \Big(s_{ip} - \log\sum_{a \ne i} e^{s_{ia}}\Big),
        \qquad s_{ij} = \operatorname{sim}(z_i, z_j)/\tau

    averaged over anchors that have a positive.

    Args:
      embeddings: ``[B, D]``. labels: ``[B]`` integers; a NaN label (or a
        non-finite embedding) of a valid row makes the loss NaN.
      temperature: tau > 0.
      distance: ``"cosine"`` (default), ``"dot"``, or ``"euclidean"`` (sim = -d).
      ref_embeddings, ref_labels: optional ``[M, D]`` and ``[M]``: the candidates
        in place of the batch (every reference with the anchor's label is a
        positive, even one equal to the anchor).
      weight, where: ``[B]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales each
        example's loss without changing the mean's denominator.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"`` (0 for anchors without a positive).

    Matches pytorch-metric-learning ``SupConLoss``, but for one deliberate
    difference: PML averages over the anchors whose loss is nonzero (and gives 0
    when the batch has no negative pair), so an anchor with a single positive and
    no negative (loss 0) drops out of its mean while ours counts it. To reproduce
    PML: ``l = loss(..., reduction="none"); l.sum() / jnp.maximum((l > 0).sum(), 1)``.
    References: Khosla et al. (2020), "Supervised Contrastive Learning";
    https://github.com/KevinMusgrave/pytorch-metric-learning
    (``src/pytorch_metric_learning/losses/supcon_loss.py``).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> z = jnp.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
      >>> loss = jaxloss.supervised_contrastive_loss(z, jnp.array([0, 0, 1, 1]), temperature=1.0)
      >>> round(float(loss), 4)
      0.5978
    """
    fn = "supervised_contrastive_loss"
    checks.check_range(fn, "temperature", temperature, low=0.0, low_open=True)
    checks.check_option(fn, "distance", distance, DISTANCES)
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
    s = similarity_matrix(x, every, distance) / temperature
    log_prob = s - masked_logsumexp(s, positive | negative)[:, None]
    count = jnp.sum(positive, axis=1)
    loss = -jnp.sum(jnp.where(positive, log_prob, 0.0), axis=1) / jnp.maximum(count, 1)
    loss = jnp.where(bad, jnp.nan, loss)
    # a bad row is an anchor even without a positive: its NaN must reach the mean
    anchors = (count > 0) | bad
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
