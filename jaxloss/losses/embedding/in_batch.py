"""Contrastive losses whose candidates are the whole batch.

Embeddings are ``[B, D]``. Each row is compared with every other row of the
batch; with ``axis_name`` the candidates are gathered from every device, so a
data-parallel run equals the single-device loss on the global batch (the
distributed-CLIP trick). ``where`` masks rows: a masked row is neither an anchor
nor anyone's candidate. The similarity matrices are computed at
``jax.lax.Precision.HIGHEST`` (see :mod:`._common`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import masked_logsumexp, normalize, upcast
from jaxloss._core.reduce import (
    examples_interact,
    fill_masked,
    mask_weights,
    prepare_arrays,
    reduce_loss,
)
from jaxloss._core.sharding import gather, gather_invariant
from jaxloss._core.types import Array, ArrayLike, AxisName, Scalar
from jaxloss.losses.embedding._common import (
    batch_rows,
    cosine_matrix,
    empty_batch,
    matmul_t,
)

__all__ = [
    "clip_loss",
    "cosent_loss",
    "info_nce_loss",
    "multiple_negatives_ranking_loss",
]


def _cross_entropy_rows(scores: Array, target: Array, candidates: Array) -> Array:
    """-log softmax(scores)[target] per row over the valid candidate columns."""
    picked = jnp.take_along_axis(scores, target[:, None], axis=1)[:, 0]
    return masked_logsumexp(scores, candidates[None, :]) - picked


def _hard_negatives(
    fn: str, negatives: ArrayLike, shape: tuple[int, ...], mask: Array | None
) -> Array:
    """Hard negatives as ``[B, K, D]`` in the compute dtype, masked rows zeroed."""
    n = jnp.asarray(negatives)
    checks.check_floating(fn, "negatives", n)
    if n.ndim == 2:
        n = n[:, None]
    if n.ndim != 3 or n.shape[0] != shape[0] or n.shape[-1] != shape[-1]:
        checks.fail(
            fn,
            f"negatives must be [B, D] or [B, K, D] with B = {shape[0]} "
            f"and D = {shape[1]}; got shape {jnp.shape(negatives)}",
        )
    (n,) = upcast(n)
    return fill_masked(None if mask is None else mask[:, None, None], n, 0.0)


@examples_interact
def multiple_negatives_ranking_loss(
    anchors: ArrayLike,
    positives: ArrayLike,
    *,
    negatives: ArrayLike | None = None,
    scale: float = 20.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Multiple negatives ranking loss: each anchor must pick its own positive
    among every positive (and hard negative) of the batch.

    .. math:: \ell_i = -\log \frac{e^{s \cos(a_i, p_i)}}{\sum_j e^{s \cos(a_i, c_j)}}

    over candidates :math:`c` = all positives, then all negatives.

    Args:
      anchors, positives: ``[B, D]``.
      negatives: optional hard negatives ``[B, D]`` or ``[B, K, D]``, candidates
        for every anchor.
      scale: s > 0, the inverse temperature (sentence-transformers' default 20).
      weight, where: ``[B]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales each
        example's loss without changing the mean's denominator.
      axis_name: candidates come from every device.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Matches sentence-transformers ``MultipleNegativesRankingLoss`` (cosine
    similarity, cross-entropy averaged over anchors).
    References: Henderson et al. (2017), "Efficient Natural Language Response
    Suggestion for Smart Reply".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.eye(3)
      >>> round(float(jaxloss.multiple_negatives_ranking_loss(a, a, scale=1.0)), 4)
      0.5514
    """
    fn = "multiple_negatives_ranking_loss"
    checks.check_range(fn, "scale", scale, low=0.0, low_open=True)
    (a, _), (_, every_p), mask, every_mask, offset = batch_rows(
        fn, ("anchors", "positives"), (anchors, positives), where, axis_name
    )
    n = None if negatives is None else _hard_negatives(fn, negatives, a.shape, mask)
    if not a.shape[0]:
        return empty_batch(
            fn,
            a.dtype,
            reduction=reduction,
            weight=weight,
            sample_weights=sample_weights,
            where=mask,
            axis_name=axis_name,
        )
    candidates, valid = normalize(every_p), every_mask
    if n is not None:
        candidates = jnp.concatenate(
            [candidates, normalize(gather(n, axis_name)).reshape(-1, a.shape[1])]
        )
        valid = jnp.concatenate([valid, jnp.repeat(every_mask, n.shape[1])])
    scores = scale * matmul_t(normalize(a), candidates)
    loss = _cross_entropy_rows(scores, offset + jnp.arange(a.shape[0]), valid)
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
def info_nce_loss(
    queries: ArrayLike,
    positive_keys: ArrayLike,
    *,
    negative_keys: ArrayLike | None = None,
    temperature: float = 0.1,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""InfoNCE: find the positive key among negatives by cosine similarity.

    .. math:: \ell_i = -\log \frac{e^{\cos(q_i, k_i^+)/\tau}}
                              {e^{\cos(q_i, k_i^+)/\tau} + \sum_j e^{\cos(q_i, k_j^-)/\tau}}

    Args:
      queries, positive_keys: ``[B, D]``.
      negative_keys: None (the other rows' positive keys are the negatives, gathered
        from every device with ``axis_name``), ``[M, D]`` negatives shared by every
        query, or ``[B, M, D]`` negatives per query.
      temperature: tau > 0.
      weight, where: ``[B]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales each
        example's loss without changing the mean's denominator.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Matches the ``info-nce-pytorch`` reference (normalised embeddings, positive
    first, cross-entropy).
    References: van den Oord et al. (2018), "Representation Learning with
    Contrastive Predictive Coding".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> q = jnp.eye(2)
      >>> round(float(jaxloss.info_nce_loss(q, q, temperature=1.0)), 4)
      0.3133
    """
    fn = "info_nce_loss"
    checks.check_range(fn, "temperature", temperature, low=0.0, low_open=True)
    names = ("queries", "positive_keys")
    if negative_keys is None:
        (q, _), (_, every_k), mask, every_mask, offset = batch_rows(
            fn, names, (queries, positive_keys), where, axis_name
        )
        if not q.shape[0]:
            return empty_batch(
                fn,
                q.dtype,
                reduction=reduction,
                weight=weight,
                sample_weights=sample_weights,
                where=mask,
                axis_name=axis_name,
            )
        scores = cosine_matrix(q, every_k) / temperature
        loss = _cross_entropy_rows(scores, offset + jnp.arange(q.shape[0]), every_mask)
    else:
        (q, k), mask = prepare_arrays(
            fn, names, (queries, positive_keys), where, mask_axes=-1, rank=2
        )
        neg = jnp.asarray(negative_keys)
        checks.check_floating(fn, "negative_keys", neg)
        paired = neg.ndim == 3 and neg.shape[0] == q.shape[0]
        if not (paired or neg.ndim == 2) or neg.shape[-1] != q.shape[-1]:
            checks.fail(
                fn,
                f"negative_keys must be [M, D] or [B, M, D] with B = {q.shape[0]} "
                f"and D = {q.shape[1]}; got shape {neg.shape}",
            )
        (neg,) = upcast(neg)
        if paired:
            neg = fill_masked(None if mask is None else mask[:, None, None], neg, 0.0)
        qn, neg = normalize(q), normalize(neg)
        positive = jnp.sum(qn * normalize(k), -1, keepdims=True)
        negative = (
            jnp.einsum("bd,bmd->bm", qn, neg, precision=jax.lax.Precision.HIGHEST)
            if paired
            else matmul_t(qn, neg)
        )
        scores = jnp.concatenate([positive, negative], axis=1) / temperature
        loss = jax.nn.logsumexp(scores, axis=1) - scores[:, 0]
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
def clip_loss(
    image_embeddings: ArrayLike,
    text_embeddings: ArrayLike,
    *,
    logit_scale: Scalar = 1 / 0.07,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""CLIP's symmetric contrastive loss over image-text pairs.

    .. math::
        \ell_i = \tfrac12\Big(-\log \operatorname{softmax}_j(t\,\cos(u_i, v_j))_i
                              -\log \operatorname{softmax}_j(t\,\cos(v_i, u_j))_i\Big)

    Args:
      image_embeddings, text_embeddings: ``[B, D]``; row i of each is a pair.
      logit_scale: t, the multiplier itself (CLIP's exp of its learned parameter;
        1/0.07 at initialisation, capped at 100 in training). An array is
        differentiable; its range is the caller's (it may be traced).
      weight, where: ``[B]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales each
        example's loss without changing the mean's denominator.
      axis_name: every device's pairs are negatives for every other device's
        (the distributed loss of open_clip's ``gather_with_grad``).

    Returns:
      A scalar (the mean of the image-to-text and text-to-image cross-entropies),
      or ``[B]`` for ``reduction="none"``.

    Matches CLIP and open_clip's ``ClipLoss``.
    References: Radford et al. (2021), "Learning Transferable Visual Models From
    Natural Language Supervision".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> u = jnp.eye(2)
      >>> round(float(jaxloss.clip_loss(u, u, logit_scale=1.0)), 4)
      0.3133
    """
    fn = "clip_loss"
    checks.check_number(fn, "logit_scale", logit_scale)
    (u, v), (every_u, every_v), mask, every_mask, offset = batch_rows(
        fn,
        ("image_embeddings", "text_embeddings"),
        (image_embeddings, text_embeddings),
        where,
        axis_name,
    )
    if not u.shape[0]:
        return empty_batch(
            fn,
            u.dtype,
            reduction=reduction,
            weight=weight,
            sample_weights=sample_weights,
            where=mask,
            axis_name=axis_name,
        )
    u, v, every_u, every_v = (normalize(x) for x in (u, v, every_u, every_v))
    target = offset + jnp.arange(u.shape[0])
    to_text = _cross_entropy_rows(logit_scale * matmul_t(u, every_v), target, every_mask)
    to_image = _cross_entropy_rows(logit_scale * matmul_t(v, every_u), target, every_mask)
    return reduce_loss(
        0.5 * (to_text + to_image),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=mask,
        axis_name=axis_name,
    )


@examples_interact
def cosent_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    targets: ArrayLike,
    *,
    scale: float = 20.0,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""CoSENT: every pair ranked above another by its score must also be more similar.

    .. math::
        \mathcal{L} = \log\Big(1 + \sum_{(i, j):\, y_i > y_j} e^{\lambda(\cos_j - \cos_i)}\Big)

    with :math:`\cos_i = \cos(x_{1i}, x_{2i})` and :math:`\lambda` = ``scale``.

    Args:
      x1, x2: ``[B, D]`` sentence pairs.
      targets: y, ``[B]`` gold similarity scores; a NaN score (where not masked)
        makes the loss NaN.
      scale: lambda > 0 (sentence-transformers' default 20).
      where: ``[B]`` rows to use.
      reduction: ``"mean"`` or ``"sum"``, the same value: the loss is one
        statistic over all pairs of rows of the batch (there is no per-row loss).
      axis_name: pairs across every device's rows.

    Returns:
      A scalar.

    Matches sentence-transformers ``CoSENTLoss``.
    References: Su (2022), "CoSENT".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x1 = jnp.array([[1.0, 0.0], [1.0, 0.0]])
      >>> x2 = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> round(float(jaxloss.cosent_loss(x1, x2, jnp.array([1.0, 0.0]), scale=1.0)), 4)
      0.3133
    """
    fn = "cosent_loss"
    checks.check_reduction(fn, reduction, ("mean", "sum"))
    checks.check_range(fn, "scale", scale, low=0.0, low_open=True)
    (a, b), mask = prepare_arrays(fn, ("x1", "x2"), (x1, x2), where, mask_axes=-1, rank=2)
    y = checks.row_values(fn, "targets", targets, a.shape[:1]).astype(a.dtype)
    if not a.shape[0]:
        return jnp.zeros((), a.dtype)  # no pair of rows: log(1 + 0)
    s = scale * jnp.sum(normalize(a) * normalize(b), -1)
    valid = mask_weights(mask, s.shape, s.dtype)
    checks.require(fn, "targets", ~jnp.isnan(y) | (valid == 0), y, "a number (not NaN)")
    s, y, valid = (gather_invariant(v, axis_name) for v in (s, y, valid))
    valid = valid > 0
    ordered = (y[:, None] > y[None, :]) & valid[:, None] & valid[None, :]
    diff = s[None, :] - s[:, None]
    loss = jnp.logaddexp(0.0, masked_logsumexp(diff.ravel(), ordered.ravel()))
    # a NaN score or cosine compares False with everything, so its row would
    # silently drop out of every pair: a valid NaN makes the loss NaN instead
    poisoned = jnp.any(valid & (jnp.isnan(s) | jnp.isnan(y)))
    return jnp.where(poisoned, jnp.nan, loss)
