"""Embedding and metric-learning losses: pairs, triplets with mining, and
contrastive losses over in-batch negatives.

Embeddings are ``[B, D]`` (pair losses accept any ``[..., D]``). The in-batch
losses compare each row with every other row of the batch; with ``axis_name``
the candidates are gathered from every device, so a data-parallel run equals the
single-device loss on the global batch (the distributed-CLIP trick). ``where``
masks rows: a masked row is neither an anchor nor anyone's candidate.

Distances and cosines have finite gradients at zero distance and at the zero
vector: norms go through ``safe_norm`` and cosines normalise with a floor on the
norm, as ``F.normalize`` does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import (
    cosine_similarity,
    cosine_similarity_squared_eps,
    masked_logsumexp,
    normalize,
    p_norm,
    safe_norm,
    safe_sqrt,
    upcast,
)
from jaxloss._core.reduce import fill_masked, mask_of, prepare_arrays, reduce_loss
from jaxloss._core.sharding import gather, gather_invariant, row_offset
from jaxloss._core.types import Array, AxisName
from jaxloss.catalogue.registry import Example, LossSpec
from jaxloss.catalogue.registry import add_spec as register

__all__ = [
    "batch_triplet_loss",
    "clip_loss",
    "contrastive_loss",
    "cosent_loss",
    "cosine_embedding_loss",
    "cosine_similarity_loss",
    "info_nce_loss",
    "margin_ranking_loss",
    "multiple_negatives_ranking_loss",
    "ntxent_loss",
    "pairwise_distance",
    "supervised_contrastive_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]

MINING = ("batch_hard", "batch_all", "semi_hard")


# ------------------------------------------------------------------ shared pieces


def _vectors(fn: str, names: tuple[str, ...], arrays, where, *, rank: int | None = None):
    """Same-shaped ``[..., D]`` embeddings; ``where`` masks rows (all but the last axis)."""
    return prepare_arrays(fn, names, arrays, where, mask_axes=-1, rank=rank)


def _row_values(fn: str, name: str, values: Array, shape: tuple[int, ...]) -> Array:
    """A per-row array (labels, targets, scores) of shape ``shape``."""
    values = jnp.asarray(values)
    checks.check_numeric(fn, name, values)
    if values.shape != tuple(shape):
        checks.fail(fn, f"{name} has shape {values.shape}; expected {tuple(shape)}, one per row")
    return values


def pairwise_distance(x1: Array, x2: Array, *, p: float = 2.0, eps: float = 1e-6) -> Array:
    r"""p-norm distance of rows, ``||x1 - x2 + eps||_p`` as torch's ``F.pairwise_distance``
    (eps inside the difference); the gradient is finite when the rows coincide.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.pairwise_distance(jnp.array([3.0, 0.0]), jnp.zeros(2), eps=0.0))
      3.0
    """
    checks.check_range("pairwise_distance", "p", p, low=0.0, low_open=True)
    return p_norm(jnp.asarray(x1) - jnp.asarray(x2) + eps, p)


# ------------------------------------------------------------------ pairs and triplets


def triplet_margin_loss(
    anchor: Array,
    positive: Array,
    negative: Array,
    *,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Triplet margin loss: the anchor nearer its positive than its negative by a margin.

    .. math:: \ell = \max(0,\ d(a, p) - d(a, n) + m), \qquad d(x, y) = \|x - y + \epsilon\|_p

    Args:
      anchor, positive, negative: ``[..., D]``.
      margin: m. p: the norm's order (> 0). eps: inside the difference, as torch.
      swap: use :math:`\min(d(a, n), d(p, n))` as the negative distance (Balntas et al.).
      weight, where: broadcastable to ``[...]``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.triplet_margin_loss``.
    References: Schroff et al. (2015), "FaceNet".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> a, p, n = jnp.zeros(2), jnp.array([1.0, 0.0]), jnp.array([0.0, 1.5])
      >>> round(float(jaxloss.triplet_margin_loss(a, p, n, eps=0.0)), 4)
      0.5
    """
    fn = "triplet_margin_loss"
    checks.check_range(fn, "p", p, low=0.0, low_open=True)
    distance = functools.partial(pairwise_distance, p=p, eps=eps)
    return _triplet(
        fn, anchor, positive, negative, distance, margin, swap, weight, where, reduction, axis_name
    )


def triplet_margin_with_distance_loss(
    anchor: Array,
    positive: Array,
    negative: Array,
    *,
    distance_function: Callable[[Array, Array], Array] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Triplet margin loss with any distance: :math:`\max(0, d(a, p) - d(a, n) + m)`.

    Args:
      distance_function: maps two ``[..., D]`` arrays to ``[...]`` distances; the
        default is :func:`pairwise_distance` (p = 2, eps = 1e-6), e.g.
        ``lambda x, y: 1 - cosine`` for a cosine distance.
      margin, swap, weight, where, reduction, axis_name: as
        :func:`triplet_margin_loss`.

    Matches ``torch.nn.functional.triplet_margin_with_distance_loss``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> a, p, n = jnp.zeros(2), jnp.array([1.0, 0.0]), jnp.array([0.0, 1.5])
      >>> l1 = lambda x, y: jnp.sum(jnp.abs(x - y), axis=-1)
      >>> float(jaxloss.triplet_margin_with_distance_loss(a, p, n, distance_function=l1))
      0.5
    """
    fn = "triplet_margin_with_distance_loss"
    distance = distance_function or pairwise_distance
    return _triplet(
        fn, anchor, positive, negative, distance, margin, swap, weight, where, reduction, axis_name
    )


def _triplet(
    fn, anchor, positive, negative, distance, margin, swap, weight, where, reduction, axis_name
):
    checks.check_bool_option(fn, "swap", swap)
    (a, pos, neg), _ = _vectors(
        fn, ("anchor", "positive", "negative"), (anchor, positive, negative), where
    )
    d_neg = distance(a, neg)
    if swap:
        d_neg = jnp.minimum(d_neg, distance(pos, neg))
    loss = jax.nn.relu(distance(a, pos) - d_neg + margin)
    return reduce_loss(
        fn=fn, loss=loss, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )


def contrastive_loss(
    x1: Array,
    x2: Array,
    similar: Array,
    *,
    margin: float = 1.0,
    squared: bool = True,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Contrastive loss on pairs: pull similar pairs together, push others past a margin.

    .. math::
        \ell = \tfrac12\big(s\,D^2 + (1 - s)\max(0, m - D)^2\big), \qquad D = \|x_1 - x_2\|_2

    (``squared=True``, Hadsell et al. and seed 001), or
    :math:`s\,D + (1 - s)\max(0, m - D)` with ``squared=False``.

    Args:
      x1, x2: ``[..., D]`` embeddings of the pairs.
      similar: ``[...]`` boolean (or 0/1), True for pairs to pull together. The
        seeds disagree on the 0/1 convention (seed 002's label 0 means similar);
        the name settles it. Seed 002's loss is twice ours with ``~similar``.
      margin: m, the distance beyond which dissimilar pairs cost nothing.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    The gradient at D = 0 (identical embeddings) is 0, not NaN.
    References: Hadsell, Chopra & LeCun (2006), "Dimensionality Reduction by
    Learning an Invariant Mapping".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> e1 = jnp.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
      >>> e2 = jnp.array([[1.1, 2.1, 2.9], [5.0, 6.0, 7.0]])
      >>> similar = jnp.array([True, False])
      >>> jaxloss.contrastive_loss(e1, e2, similar, reduction="none").round(4)
      Array([0.015, 0.   ], dtype=float32)
    """
    fn = "contrastive_loss"
    checks.check_bool_option(fn, "squared", squared)
    (a, b), _ = _vectors(fn, ("x1", "x2"), (x1, x2), where)
    s = _row_values(fn, "similar", similar, a.shape[:-1])
    checks.require(fn, "similar", (s == 0) | (s == 1), s, "True/False (or 1/0)")
    s = jnp.where((s == 0) | (s == 1), s, jnp.nan).astype(a.dtype)
    d = safe_norm(a - b, axis=-1)
    gap = jax.nn.relu(margin - d)
    loss = 0.5 * (s * d * d + (1.0 - s) * gap * gap) if squared else s * d + (1.0 - s) * gap
    return reduce_loss(
        fn=fn, loss=loss, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )


def cosine_embedding_loss(
    x1: Array,
    x2: Array,
    y: Array,
    *,
    margin: float = 0.0,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Cosine embedding loss: pairs labelled +1 should align, -1 should not.

    .. math::
        \ell = \begin{cases} 1 - \cos(x_1, x_2) & y = 1 \\
                             \max(0, \cos(x_1, x_2) - m) & y = -1 \end{cases}

    Args:
      x1, x2: ``[..., D]``.
      y: ``[...]`` in {1, -1}; any other value gives NaN (torch silently gives 0).
      margin: m, in [-1, 1].

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.cosine_embedding_loss`` (1e-12 added to each
    squared norm, so zero vectors are finite).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x1, x2 = jnp.array([[1.0, 0.0]]), jnp.array([[1.0, 1.0]])
      >>> round(float(jaxloss.cosine_embedding_loss(x1, x2, jnp.array([1]))), 4)
      0.2929
    """
    fn = "cosine_embedding_loss"
    (a, b), _ = _vectors(fn, ("x1", "x2"), (x1, x2), where)
    y = _row_values(fn, "y", y, a.shape[:-1])
    ok = (y == 1) | (y == -1)
    checks.require(fn, "y", ok, y, "1 or -1")
    cos = cosine_similarity_squared_eps(a, b)
    loss = jnp.where(y == 1, 1.0 - cos, jax.nn.relu(cos - margin))
    loss = jnp.where(ok, loss, jnp.nan)
    return reduce_loss(
        fn=fn, loss=loss, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )


def margin_ranking_loss(
    x1: Array,
    x2: Array,
    y: Array,
    *,
    margin: float = 0.0,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Margin ranking loss: :math:`\max(0, -y (x_1 - x_2) + m)`.

    Args:
      x1, x2: ``[...]`` scores. y: ``[...]``, 1 where x1 should rank higher, -1
        where x2 should.

    Matches ``torch.nn.functional.margin_ranking_loss``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.margin_ranking_loss(jnp.array([1.0]), jnp.array([2.0]), jnp.array([1.0])))
      1.0
    """
    fn = "margin_ranking_loss"
    a, b = (jnp.asarray(v) for v in (x1, x2))
    for name, v in (("x1", a), ("x2", b)):
        checks.check_floating(fn, name, v)
    checks.check_same_shape(fn, "x1", a, "x2", b)
    y = _row_values(fn, "y", y, a.shape)
    a, b, y = upcast(a, b, y)
    mask = mask_of(fn, where, a.shape)
    a, b = fill_masked(mask, a, 0.0), fill_masked(mask, b, 0.0)
    loss = jax.nn.relu(-y * (a - b) + margin)
    return reduce_loss(
        fn=fn, loss=loss, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )


def cosine_similarity_loss(
    x1: Array,
    x2: Array,
    scores: Array,
    *,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Squared error between the cosine similarity of a pair and its target score.

    .. math:: \ell = (\cos(x_1, x_2) - s)^2

    Args:
      x1, x2: ``[..., D]``. scores: ``[...]`` target similarities (e.g. in [-1, 1]).

    Matches sentence-transformers ``CosineSimilarityLoss`` (MSE of
    ``torch.cosine_similarity``, eps 1e-8 on each norm).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x1, x2 = jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 1.0]])
      >>> float(jaxloss.cosine_similarity_loss(x1, x2, jnp.array([1.0])))
      1.0
    """
    fn = "cosine_similarity_loss"
    (a, b), _ = _vectors(fn, ("x1", "x2"), (x1, x2), where)
    target = _row_values(fn, "scores", scores, a.shape[:-1]).astype(a.dtype)
    cos = cosine_similarity(a, b, eps=1e-8)
    return reduce_loss(
        fn=fn,
        loss=(cos - target) ** 2,
        weight=weight,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


# ------------------------------------------------------------------ in-batch candidates


def _batch(fn: str, names: tuple[str, ...], arrays, where, axis_name):
    """``[B, D]`` rows, their mask and every device's rows (the candidates)."""
    arrays, mask = _vectors(fn, names, arrays, where, rank=2)
    batch = arrays[0].shape[0]
    every = [gather(a, axis_name) for a in arrays]
    ones = jnp.ones((batch,), bool)
    every_mask = gather(ones if mask is None else mask, axis_name)
    return arrays, every, mask, every_mask, row_offset(batch, axis_name)


def _cross_entropy_rows(scores: Array, target: Array, candidates: Array) -> Array:
    """-log softmax(scores)[target] per row over the valid candidate columns."""
    picked = jnp.take_along_axis(scores, target[:, None], axis=1)[:, 0]
    return masked_logsumexp(scores, candidates[None, :]) - picked


def multiple_negatives_ranking_loss(
    anchors: Array,
    positives: Array,
    *,
    negatives: Array | None = None,
    scale: float = 20.0,
    weight: Array | None = None,
    where: Array | None = None,
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
      scale: s, the inverse temperature (sentence-transformers' default 20).
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
    (a, _), (_, every_p), mask, every_mask, offset = _batch(
        fn, ("anchors", "positives"), (anchors, positives), where, axis_name
    )
    candidates, valid = normalize(every_p), every_mask
    if negatives is not None:
        n = jnp.asarray(negatives)
        checks.check_floating(fn, "negatives", n)
        if n.ndim == 2:
            n = n[:, None]
        if n.ndim != 3 or n.shape[0] != a.shape[0] or n.shape[-1] != a.shape[-1]:
            checks.fail(
                fn,
                f"negatives must be [B, D] or [B, K, D] with B = {a.shape[0]} "
                f"and D = {a.shape[1]}; got shape {jnp.shape(negatives)}",
            )
        (n,) = upcast(n)
        n = fill_masked(None if mask is None else mask[:, None, None], n, 0.0)
        k = n.shape[1]
        candidates = jnp.concatenate(
            [candidates, normalize(gather(n, axis_name)).reshape(-1, a.shape[1])]
        )
        valid = jnp.concatenate([valid, jnp.repeat(every_mask, k)])
    scores = scale * normalize(a) @ candidates.T
    loss = _cross_entropy_rows(scores, offset + jnp.arange(a.shape[0]), valid)
    return reduce_loss(
        loss, fn=fn, reduction=reduction, weight=weight, where=mask, axis_name=axis_name
    )


def info_nce_loss(
    query: Array,
    positive_key: Array,
    *,
    negative_keys: Array | None = None,
    temperature: float = 0.1,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""InfoNCE: find the positive key among negatives by cosine similarity.

    .. math:: \ell_i = -\log \frac{e^{\cos(q_i, k_i^+)/\tau}}
                              {e^{\cos(q_i, k_i^+)/\tau} + \sum_j e^{\cos(q_i, k_j^-)/\tau}}

    Args:
      query, positive_key: ``[B, D]``.
      negative_keys: None (the other rows' positive keys are the negatives, gathered
        from every device with ``axis_name``), ``[M, D]`` negatives shared by every
        query, or ``[B, M, D]`` negatives per query.
      temperature: tau > 0.

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
    if negative_keys is None:
        (q, k), (_, every_k), mask, every_mask, offset = _batch(
            fn, ("query", "positive_key"), (query, positive_key), where, axis_name
        )
        scores = normalize(q) @ normalize(every_k).T / temperature
        loss = _cross_entropy_rows(scores, offset + jnp.arange(q.shape[0]), every_mask)
    else:
        (q, k), mask = _vectors(fn, ("query", "positive_key"), (query, positive_key), where, rank=2)
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
        negative = jnp.einsum("bd,bmd->bm", qn, neg) if paired else qn @ neg.T
        scores = jnp.concatenate([positive, negative], axis=1) / temperature
        loss = jax.nn.logsumexp(scores, axis=1) - scores[:, 0]
    return reduce_loss(
        loss, fn=fn, reduction=reduction, weight=weight, where=mask, axis_name=axis_name
    )


def clip_loss(
    image_embeddings: Array,
    text_embeddings: Array,
    *,
    logit_scale: float | Array = 1 / 0.07,
    weight: Array | None = None,
    where: Array | None = None,
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
        differentiable.
      axis_name: every device's pairs are negatives for every other device's
        (the distributed loss of open_clip's ``gather_with_grad``).

    Returns:
      A scalar (the mean of the image-to-text and text-to-image cross-entropies),
      or ``[B]`` for ``reduction="none"``.

    References: Radford et al. (2021), "Learning Transferable Visual Models From
    Natural Language Supervision".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> u = jnp.eye(2)
      >>> round(float(jaxloss.clip_loss(u, u, logit_scale=1.0)), 4)
      0.3133
    """
    fn = "clip_loss"
    (u, v), (every_u, every_v), mask, every_mask, offset = _batch(
        fn,
        ("image_embeddings", "text_embeddings"),
        (image_embeddings, text_embeddings),
        where,
        axis_name,
    )
    u, v, every_u, every_v = (normalize(x) for x in (u, v, every_u, every_v))
    target = offset + jnp.arange(u.shape[0])
    to_text = _cross_entropy_rows(logit_scale * u @ every_v.T, target, every_mask)
    to_image = _cross_entropy_rows(logit_scale * v @ every_u.T, target, every_mask)
    return reduce_loss(
        0.5 * (to_text + to_image),
        fn=fn,
        reduction=reduction,
        weight=weight,
        where=mask,
        axis_name=axis_name,
    )


# ------------------------------------------------------------------ labelled batches


def _labelled(fn: str, embeddings: Array, labels: Array, where, axis_name):
    (x,), (every,), mask, every_mask, offset = _batch(
        fn, ("embeddings",), (embeddings,), where, axis_name
    )
    labels = _row_values(fn, "labels", labels, x.shape[:1])
    every_labels = gather(labels, axis_name)
    n = every.shape[0]
    same = labels[:, None] == every_labels[None, :]
    itself = (offset + jnp.arange(x.shape[0]))[:, None] == jnp.arange(n)[None, :]
    positive = same & ~itself & every_mask[None, :]
    negative = ~same & every_mask[None, :]
    return x, every, mask, positive, negative


def ntxent_loss(
    embeddings: Array,
    labels: Array,
    *,
    temperature: float = 0.07,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""NT-Xent (SimCLR): each positive pair against the anchor's negatives.

    .. math::
        \ell_{ij} = -\log \frac{e^{s_{ij}}}{e^{s_{ij}} + \sum_{k:\,y_k \ne y_i} e^{s_{ik}}},
        \qquad s_{ij} = \cos(z_i, z_j)/\tau

    for every pair i != j with :math:`y_i = y_j`; the mean is over those pairs.

    Args:
      embeddings: ``[B, D]``. labels: ``[B]`` integers; equal labels mark positive
        pairs (e.g. the two views of an image).
      temperature: tau > 0.

    Returns:
      A scalar, or ``[B]`` (each anchor's summed pair losses) for ``reduction="none"``.

    Matches optax ``ntxent`` and pytorch-metric-learning ``NTXentLoss``.
    References: Chen et al. (2020), "A Simple Framework for Contrastive Learning".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> z = jnp.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
      >>> round(float(jaxloss.ntxent_loss(z, jnp.array([0, 0, 1, 1]), temperature=1.0)), 4)
      0.5978
    """
    fn = "ntxent_loss"
    checks.check_range(fn, "temperature", temperature, low=0.0, low_open=True)
    x, every, mask, positive, negative = _labelled(fn, embeddings, labels, where, axis_name)
    s = normalize(x) @ normalize(every).T / temperature
    rest = masked_logsumexp(s, negative)[:, None]
    pair = jnp.where(positive, jnp.logaddexp(s, rest) - s, 0.0)
    loss = jnp.sum(pair, axis=1)
    if mask is not None:
        positive = positive & mask[:, None]
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        where=mask,
        axis_name=axis_name,
        normalizer=jnp.sum(positive),
    )


def supervised_contrastive_loss(
    embeddings: Array,
    labels: Array,
    *,
    temperature: float = 0.1,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Supervised contrastive loss (SupCon): every same-label row is a positive.

    .. math::
        \ell_i = -\frac{1}{|P(i)|}\sum_{p \in P(i)}
                 \Big(s_{ip} - \log\sum_{a \ne i} e^{s_{ia}}\Big),
        \qquad s_{ij} = \cos(z_i, z_j)/\tau

    averaged over anchors that have a positive.

    Args:
      embeddings: ``[B, D]``. labels: ``[B]`` integers.
      temperature: tau > 0.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"`` (0 for anchors without a positive).

    Matches pytorch-metric-learning ``SupConLoss``.
    References: Khosla et al. (2020), "Supervised Contrastive Learning".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> z = jnp.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
      >>> loss = jaxloss.supervised_contrastive_loss(z, jnp.array([0, 0, 1, 1]), temperature=1.0)
      >>> round(float(loss), 4)
      0.5978
    """
    fn = "supervised_contrastive_loss"
    checks.check_range(fn, "temperature", temperature, low=0.0, low_open=True)
    x, every, mask, positive, negative = _labelled(fn, embeddings, labels, where, axis_name)
    s = normalize(x) @ normalize(every).T / temperature
    log_prob = s - masked_logsumexp(s, positive | negative)[:, None]
    count = jnp.sum(positive, axis=1)
    loss = -jnp.sum(jnp.where(positive, log_prob, 0.0), axis=1) / jnp.maximum(count, 1)
    anchors = count > 0 if mask is None else (count > 0) & mask
    return reduce_loss(
        loss, fn=fn, reduction=reduction, weight=weight, where=anchors, axis_name=axis_name
    )


def batch_triplet_loss(
    embeddings: Array,
    labels: Array,
    *,
    margin: float = 1.0,
    mining: str = "batch_hard",
    squared: bool = False,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Triplet loss with the triplets mined from a labelled batch.

    .. math:: \ell(a, p, n) = \max(0,\ D_{ap} - D_{an} + m)

    with :math:`D` the Euclidean distance (squared with ``squared=True``) from one
    matrix product. ``mining``:

    - ``"batch_hard"``: the farthest positive and nearest negative per anchor;
      the mean is over anchors that have both (Hermans et al.).
    - ``"batch_all"``: every valid triplet; the mean is over triplets with a
      positive loss (FaceNet as used by pytorch-metric-learning and Moindrot).
    - ``"semi_hard"``: per (anchor, positive), the nearest negative farther than
      the positive, else the farthest negative; the mean is over
      (anchor, positive) pairs (FaceNet; TensorFlow Addons'
      ``triplet_semihard_loss``).

    Args:
      embeddings: ``[B, D]``. labels: ``[B]`` integers.
      margin: m. squared: use squared distances.
      axis_name: positives and negatives come from every device.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"`` (each anchor's summed
      triplet losses; 0 for anchors without a positive or a negative).

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
    checks.check_option(fn, "mining", mining, MINING)
    checks.check_bool_option(fn, "squared", squared)
    x, every, mask, positive, negative = _labelled(fn, embeddings, labels, where, axis_name)
    sq = jnp.sum(x * x, -1)[:, None] + jnp.sum(every * every, -1)[None, :] - 2.0 * x @ every.T
    d = jnp.maximum(sq, 0.0) if squared else safe_sqrt(jnp.maximum(sq, 0.0))
    has_neg = jnp.any(negative, axis=1)
    if mining == "batch_hard":
        hardest_pos = jnp.max(jnp.where(positive, d, -jnp.inf), axis=1)
        nearest_neg = jnp.min(jnp.where(negative, d, jnp.inf), axis=1)
        anchors = jnp.any(positive, axis=1) & has_neg
        gap = jnp.where(anchors, hardest_pos - nearest_neg, 0.0)
        loss = jnp.where(anchors, jax.nn.relu(gap + margin), 0.0)
        anchors = anchors if mask is None else anchors & mask
        return reduce_loss(
            loss, fn=fn, reduction=reduction, weight=weight, where=anchors, axis_name=axis_name
        )
    # each anchor's negative distances in increasing order (inf past the last)
    neg_sorted = jnp.sort(jnp.where(negative, d, jnp.inf), axis=1)
    n_neg = jnp.sum(negative, axis=1)
    pairs = positive & has_neg[:, None]
    if mining == "semi_hard":
        beyond = jax.vmap(functools.partial(jnp.searchsorted, side="right"))(neg_sorted, d)
        pick = jnp.where(beyond < n_neg[:, None], beyond, jnp.maximum(n_neg - 1, 0)[:, None])
        chosen = jnp.take_along_axis(neg_sorted, pick, axis=1)
        pair_loss = jax.nn.relu(d - jnp.where(pairs, chosen, 0.0) + margin)
        count = pairs
    else:
        # sum over negatives n with D_an < D_ap + m of (D_ap + m - D_an)
        threshold = d + margin
        below = jax.vmap(jnp.searchsorted)(neg_sorted, threshold)
        finite = jnp.where(jnp.isinf(neg_sorted), 0.0, neg_sorted)
        prefix = jnp.concatenate([jnp.zeros_like(d[:, :1]), jnp.cumsum(finite, axis=1)], axis=1)
        pair_loss = below * threshold - jnp.take_along_axis(prefix, below, axis=1)
        count = jnp.where(pairs, below, 0)
    loss = jnp.sum(jnp.where(pairs, pair_loss, 0.0), axis=1)
    if mask is not None:
        count = jnp.where(mask[:, None], count, 0)
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        where=mask,
        axis_name=axis_name,
        normalizer=jnp.sum(count),
    )


def cosent_loss(
    x1: Array,
    x2: Array,
    scores: Array,
    *,
    scale: float = 20.0,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""CoSENT: every pair ranked above another by its score must also be more similar.

    .. math::
        \mathcal{L} = \log\Big(1 + \sum_{(i, j):\, y_i > y_j} e^{\lambda(\cos_j - \cos_i)}\Big)

    with :math:`\cos_i = \cos(x_{1i}, x_{2i})` and :math:`\lambda` = ``scale``.

    Args:
      x1, x2: ``[B, D]`` sentence pairs. scores: ``[B]`` gold similarities.
      scale: lambda (sentence-transformers' default 20).
      where: ``[B]`` rows to use.
      reduction: ``"mean"`` or ``"sum"``, the same value: the loss is one
        statistic over all pairs of rows of the batch (there is no per-row loss).
      axis_name: pairs across every device's rows.

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
    (a, b), mask = _vectors(fn, ("x1", "x2"), (x1, x2), where, rank=2)
    y = _row_values(fn, "scores", scores, a.shape[:1]).astype(a.dtype)
    s = scale * jnp.sum(normalize(a) * normalize(b), -1)
    valid = jnp.ones(s.shape, s.dtype) if mask is None else mask.astype(s.dtype)
    s, y, valid = (gather_invariant(v, axis_name) for v in (s, y, valid))
    valid = valid > 0
    ordered = (y[:, None] > y[None, :]) & valid[:, None] & valid[None, :]
    diff = s[None, :] - s[:, None]
    return jnp.logaddexp(0.0, masked_logsumexp(diff.ravel(), ordered.ravel()))


# ------------------------------------------------------------------ registry entries


def _embedding_example(key: Array, batch: int, extreme: bool = False, *, kind: str) -> Example:
    """``[batch, 16]`` embeddings for each kind of loss; labels put 4 rows in each
    class. Extreme inputs: identical rows (zero distances), zero vectors, entries
    of 1e3, and temperature 0.01 where there is one."""
    ks = jax.random.split(key, 4)
    dim = 16

    def rows(k):
        if not extreme:
            return jax.random.normal(k, (batch, dim))
        x = jnp.broadcast_to(jax.random.normal(ks[0], (dim,)), (batch, dim))
        return x.at[1::4].set(0.0).at[2::4].multiply(1e3)

    labels = jnp.arange(batch) % max(batch // 4, 1)
    sign = jnp.where(jax.random.bernoulli(ks[3], 0.5, (batch,)), 1, -1)
    cold = {"temperature": 0.01 if extreme else 0.2}
    if kind == "triplet":
        return Example(tuple(rows(k) for k in ks[:3]), diff_argnums=(0, 1, 2))
    if kind == "contrastive":
        return Example((rows(ks[0]), rows(ks[1]), sign > 0), diff_argnums=(0, 1))
    if kind == "cosine_embedding":
        return Example((rows(ks[0]), rows(ks[1]), sign), {"margin": 0.2}, diff_argnums=(0, 1))
    if kind == "ranking":
        x = jax.random.normal(ks[0], (2, batch)) * (1e4 if extreme else 1.0)
        return Example((x[0], x[1], sign.astype(jnp.float32)), diff_argnums=(0, 1))
    if kind == "scores":
        scores = jax.random.uniform(ks[2], (batch,), minval=-1.0, maxval=1.0)
        return Example((rows(ks[0]), rows(ks[1]), scores), diff_argnums=(0, 1))
    if kind == "pairs":
        return Example((rows(ks[0]), rows(ks[1])), diff_argnums=(0, 1))
    if kind == "info_nce":
        return Example((rows(ks[0]), rows(ks[1])), cold, diff_argnums=(0, 1))
    return Example((rows(ks[0]), labels), cold if kind == "labelled_t" else {})


def _register(fn, kind, matches, tasks, *, batch_coupled=True, **fields):
    register(
        LossSpec(
            name=fn.__name__,
            fn=fn,
            family="embedding",
            tasks=("metric learning", *tasks),
            input_kind=", ".join(list(fn.__annotations__)[: 3 if kind in ("triplet",) else 2]),
            example=functools.partial(_embedding_example, kind=kind),
            matches=matches,
            batch_coupled=batch_coupled,
            **fields,
        )
    )


_register(
    triplet_margin_loss,
    "triplet",
    "torch F.triplet_margin_loss",
    ("triplets", "faces"),
    batch_coupled=False,
)
_register(
    triplet_margin_with_distance_loss,
    "triplet",
    "torch F.triplet_margin_with_distance_loss",
    ("triplets",),
    batch_coupled=False,
)
_register(
    contrastive_loss,
    "contrastive",
    "seeds 001/002 (Hadsell et al.)",
    ("pairs", "siamese"),
    batch_coupled=False,
)
_register(
    cosine_embedding_loss,
    "cosine_embedding",
    "torch F.cosine_embedding_loss",
    ("pairs",),
    batch_coupled=False,
)
_register(
    margin_ranking_loss, "ranking", "torch F.margin_ranking_loss", ("ranking",), batch_coupled=False
)
_register(
    cosine_similarity_loss,
    "scores",
    "sentence-transformers CosineSimilarityLoss",
    ("sentence embeddings",),
    batch_coupled=False,
)
_register(
    multiple_negatives_ranking_loss,
    "pairs",
    "sentence-transformers MultipleNegativesRankingLoss",
    ("in-batch negatives", "sentence embeddings"),
)
_register(info_nce_loss, "info_nce", "InfoNCE (info-nce-pytorch)", ("in-batch negatives",))
_register(clip_loss, "pairs", "CLIP / open_clip ClipLoss", ("in-batch negatives", "multimodal"))
_register(
    ntxent_loss,
    "labelled_t",
    "optax ntxent, PML NTXentLoss",
    ("in-batch negatives",),
    linear_reduction=False,
)
_register(supervised_contrastive_loss, "labelled_t", "PML SupConLoss", ("in-batch negatives",))
_register(
    batch_triplet_loss,
    "labelled",
    "PML TripletMarginLoss + miners, FaceNet",
    ("triplets", "mining", "faces"),
)
_register(
    cosent_loss,
    "scores",
    "sentence-transformers CoSENTLoss",
    ("sentence embeddings",),
    weight_kind="none",
    unreduced=False,
    where_like=2,
)
