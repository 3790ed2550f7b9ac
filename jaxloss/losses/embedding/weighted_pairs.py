"""Pair-weighting losses over a labelled batch: Multi-Similarity and Circle.

Every row is an anchor against every other row of the batch (gathered from
every device with ``axis_name``); same-label rows are its positives, the others
its negatives. Similarities are cosines, computed at
``jax.lax.Precision.HIGHEST`` (see :mod:`._common`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import masked_logsumexp, softplus
from jaxloss._core.reduce import examples_interact, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName, Scalar
from jaxloss.losses.embedding._common import (
    cosine_matrix,
    empty_batch,
    labelled_rows,
)

__all__ = ["circle_loss", "multi_similarity_loss"]


@examples_interact
def multi_similarity_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: Scalar = 2.0,
    beta: Scalar = 50.0,
    base: Scalar = 0.5,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Multi-Similarity loss: soft-weights each anchor's positive and negative
    pairs by their own and their relative similarities.

    .. math::
        \ell_i = \frac{1}{\alpha}\log\Big(1 + \sum_{p \in P_i} e^{-\alpha(S_{ip} - \lambda)}\Big)
               + \frac{1}{\beta}\log\Big(1 + \sum_{n \in N_i} e^{\beta(S_{in} - \lambda)}\Big)

    with :math:`S` the cosine similarity, :math:`P_i` the other rows with row i's
    label, :math:`N_i` the rows with another label and :math:`\lambda` = ``base``;
    the mean is over all rows.

    Args:
      embeddings: ``[B, D]``. labels: ``[B]`` class ids; a NaN label (or a
        non-finite embedding) of a valid row makes the loss NaN.
      alpha, beta: the positive and negative scales, > 0. base: lambda.
      weight, where: ``[B]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales each
        example's loss without changing the mean's denominator.
      axis_name: positives and negatives come from every device.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Matches pytorch-metric-learning ``MultiSimilarityLoss`` in its default,
    miner-free form (every pair of the batch; the paper mines pairs first, which
    PML's ``MultiSimilarityMiner`` adds).
    References: Wang et al. (2019), "Multi-Similarity Loss with General Pair
    Weighting for Deep Metric Learning"; https://github.com/MalongTech/research-ms-loss;
    https://github.com/KevinMusgrave/pytorch-metric-learning
    (``src/pytorch_metric_learning/losses/multi_similarity_loss.py``).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> z = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
      >>> loss = jaxloss.multi_similarity_loss(z, jnp.array([0, 0, 1, 1]), alpha=1.0, beta=1.0)
      >>> round(float(loss), 4)
      1.2685
    """
    fn = "multi_similarity_loss"
    checks.check_range(fn, "alpha", alpha, low=0.0, low_open=True)
    checks.check_range(fn, "beta", beta, low=0.0, low_open=True)
    checks.check_number(fn, "base", base)
    x, every, mask, positive, negative, bad = labelled_rows(
        fn, embeddings, labels, where, axis_name
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
    s = cosine_matrix(x, every)
    pull = softplus(masked_logsumexp(-alpha * (s - base), positive)) / alpha
    push = softplus(masked_logsumexp(beta * (s - base), negative)) / beta
    loss = jnp.where(bad, jnp.nan, pull + push)
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=mask,
        axis_name=axis_name,
    )


@examples_interact
def circle_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: Scalar = 0.25,
    gamma: Scalar = 256.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Circle loss: each similarity is re-weighted by how far it is from its
    optimum, so the decision boundary is a circle.

    .. math::
        \ell_i = \log\Big(1 + \sum_{n \in N_i} e^{\gamma a_n (s_n - \Delta_n)}
                              \sum_{p \in P_i} e^{-\gamma a_p (s_p - \Delta_p)}\Big)

    with :math:`s` the cosine similarities of anchor i to its positives
    :math:`P_i` (other rows with its label) and negatives :math:`N_i`,
    :math:`a_p = [1 + m - s_p]_+`, :math:`a_n = [s_n + m]_+`,
    :math:`\Delta_p = 1 - m`, :math:`\Delta_n = m`. The weights :math:`a` are
    held constant in the gradient, as in the authors' code and PML. The mean is
    over the anchors that have a positive and a negative.

    Args:
      embeddings: ``[B, D]``. labels: ``[B]`` class ids; a NaN label (or a
        non-finite embedding) of a valid row makes the loss NaN.
      margin: m, the relaxation. gamma: the scale, > 0. The defaults are the
        paper's for face recognition; PML and Keras default to 0.4 and 80
        (its fine-grained retrieval setting).
      weight, where: ``[B]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales each
        example's loss without changing the mean's denominator.
      axis_name: positives and negatives come from every device.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"`` (0 for anchors without a
      positive or a negative).

    Matches pytorch-metric-learning ``CircleLoss`` (whose mean is over the
    nonzero losses: the same unless a loss underflows to 0) and Keras ``Circle``.
    References: Sun et al. (2020), "Circle Loss: A Unified Perspective of Pair
    Similarity Optimization"; https://github.com/KevinMusgrave/pytorch-metric-learning
    (``src/pytorch_metric_learning/losses/circle_loss.py``).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> z = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
      >>> loss = jaxloss.circle_loss(z, jnp.array([0, 0, 1, 1]), gamma=1.0)
      >>> round(float(loss), 4)
      1.017
    """
    fn = "circle_loss"
    checks.check_number(fn, "margin", margin)
    checks.check_range(fn, "gamma", gamma, low=0.0, low_open=True)
    x, every, mask, positive, negative, bad = labelled_rows(
        fn, embeddings, labels, where, axis_name
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
    s = cosine_matrix(x, every)
    fixed = jax.lax.stop_gradient(s)
    logit_p = -gamma * jax.nn.relu(1.0 + margin - fixed) * (s - (1.0 - margin))
    logit_n = gamma * jax.nn.relu(fixed + margin) * (s - margin)
    anchors = jnp.any(positive, axis=1) & jnp.any(negative, axis=1)
    both = masked_logsumexp(logit_p, positive) + masked_logsumexp(logit_n, negative)
    loss = jnp.where(anchors, softplus(jnp.where(anchors, both, 0.0)), 0.0)
    loss = jnp.where(bad, jnp.nan, loss)
    # a bad row counts even without a pair, so its NaN reaches the mean
    anchors = anchors | bad
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
