"""Losses on pairs and triplets of embeddings: each row is a loss of its own.

Embeddings are ``[..., D]``; ``where`` masks rows (every axis but the last).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import (
    abs_,
    cosine_similarity,
    cosine_similarity_squared_eps,
    p_norm,
    power,
    safe_norm,
    upcast,
)
from jaxloss._core.reduce import fill_masked, mask_of, prepare_arrays, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = [
    "contrastive_loss",
    "cosine_embedding_loss",
    "cosine_similarity_loss",
    "margin_ranking_loss",
    "pairwise_distance",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


def pairwise_distance(x1: ArrayLike, x2: ArrayLike, *, p: float = 2.0, eps: float = 1e-6) -> Array:
    r"""p-norm distance of rows, with ``eps`` inside the difference as torch.

    .. math:: d(x_1, x_2) = \|x_1 - x_2 + \epsilon\|_p

    Args:
      x1, x2: ``[..., D]`` (broadcastable); the feature axis is the last.
      p: the norm's order, in (0, inf]; ``float("inf")`` is the max norm. It may
        be traced.
      eps: added to the difference, so the gradient is finite when the rows coincide.

    Returns:
      ``[...]`` distances.

    Matches ``torch.nn.functional.pairwise_distance``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.pairwise_distance(jnp.array([3.0, 0.0]), jnp.zeros(2), eps=0.0))
      3.0
    """
    return _distance("pairwise_distance", x1, x2, p=p, eps=eps)


def _distance(fn: str, x1: ArrayLike, x2: ArrayLike, *, p: float, eps: float) -> Array:
    """:func:`pairwise_distance`, its options checked in the name of ``fn``."""
    checks.check_range(fn, "p", p, low=0.0, low_open=True)
    checks.check_number(fn, "eps", eps)
    diff = jnp.asarray(x1) - jnp.asarray(x2) + eps
    if checks.is_traced(p):
        # a traced order cannot pick a code path: the general form, NaN kept NaN
        return power(jnp.sum(power(abs_(diff), p), axis=-1), 1.0 / p)
    if p == float("inf"):
        return jnp.max(abs_(diff), axis=-1)
    return p_norm(diff, p)


def triplet_margin_loss(
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike,
    *,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Triplet margin loss: the anchor nearer its positive than its negative by a margin.

    .. math:: \ell = \max(0,\ d(a, p) - d(a, n) + m), \qquad d(x, y) = \|x - y + \epsilon\|_p

    Args:
      anchors, positives, negatives: ``[..., D]``.
      margin: m > 0 (torch refuses m <= 0). p: the norm's order, in (0, inf].
      eps: inside the difference, as torch.
      swap: use :math:`\min(d(a, n), d(p, n))` as the negative distance (Balntas et al.).
      weight, where: aligned with the leading axes of ``[...]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[...]``); rescales each
        example's loss without changing the mean's denominator.

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
    checks.check_number(fn, "eps", eps)
    return _triplet(
        fn,
        anchors,
        positives,
        negatives,
        distance=functools.partial(_distance, fn, p=p, eps=eps),
        margin=margin,
        swap=swap,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def triplet_margin_with_distance_loss(
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike,
    *,
    distance_function: Callable[[Array, Array], Array] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Triplet margin loss with any distance.

    .. math:: \ell = \max(0,\ d(a, p) - d(a, n) + m)

    Args:
      anchors, positives, negatives: ``[..., D]``.
      distance_function: maps two ``[..., D]`` arrays to ``[...]`` distances; the
        default is :func:`pairwise_distance` (p = 2, eps = 1e-6), e.g.
        ``lambda x, y: 1 - cosine`` for a cosine distance.
      margin: m > 0 (torch refuses m <= 0).
      swap: use :math:`\min(d(a, n), d(p, n))` as the negative distance.
      weight, where: aligned with the leading axes of ``[...]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[...]``); rescales each
        example's loss without changing the mean's denominator.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.triplet_margin_with_distance_loss``.
    References: Schroff et al. (2015), "FaceNet".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> a, p, n = jnp.zeros(2), jnp.array([1.0, 0.0]), jnp.array([0.0, 1.5])
      >>> l1 = lambda x, y: jnp.sum(jnp.abs(x - y), axis=-1)
      >>> float(jaxloss.triplet_margin_with_distance_loss(a, p, n, distance_function=l1))
      0.5
    """
    fn = "triplet_margin_with_distance_loss"
    if distance_function is not None and not callable(distance_function):
        checks.fail(
            fn,
            f"distance_function must be a callable or None; got {distance_function!r}",
            TypeError,
        )
    return _triplet(
        fn,
        anchors,
        positives,
        negatives,
        distance=distance_function or functools.partial(_distance, fn, p=2.0, eps=1e-6),
        margin=margin,
        swap=swap,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def _triplet(
    fn: str,
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike,
    *,
    distance: Callable[[Array, Array], Array],
    margin: float,
    swap: bool,
    weight: ArrayLike | None,
    sample_weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
    axis_name: AxisName,
) -> Array:
    checks.check_range(fn, "margin", margin, low=0.0, low_open=True)
    checks.check_bool_option(fn, "swap", swap)
    (a, pos, neg), _ = prepare_arrays(
        fn,
        ("anchors", "positives", "negatives"),
        (anchors, positives, negatives),
        where,
        mask_axes=-1,
    )
    d_neg = distance(a, neg)
    if swap:
        d_neg = jnp.minimum(d_neg, distance(pos, neg))
    loss = jax.nn.relu(distance(a, pos) - d_neg + margin)
    return reduce_loss(
        fn=fn,
        loss=loss,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def contrastive_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    similar: ArrayLike,
    *,
    margin: float = 1.0,
    squared: bool = True,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Contrastive loss on pairs: pull similar pairs together, push others past a margin.

    .. math::
        \ell = \tfrac12\big(s\,D^2 + (1 - s)\max(0, m - D)^2\big), \qquad D = \|x_1 - x_2\|_2

    (``squared=True``, Hadsell et al. 2006), or
    :math:`s\,D + (1 - s)\max(0, m - D)` with ``squared=False``.

    Args:
      x1, x2: ``[..., D]`` embeddings of the pairs.
      similar: ``[...]`` boolean (or 0/1), True for pairs to pull together. The
        tutorials disagree on the 0/1 convention (some use label 0 for similar);
        the name settles it. That form is twice ours with ``~similar``.
      margin: m >= 0, the distance beyond which dissimilar pairs cost nothing.
      squared: the squared form above, else the plain one.
      weight, where: aligned with the leading axes of ``[...]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[...]``); rescales each
        example's loss without changing the mean's denominator.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches the textbook form of Hadsell et al. The gradient at D = 0 (identical embeddings) is 0,
    not NaN.
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
    checks.check_range(fn, "margin", margin, low=0.0)
    checks.check_bool_option(fn, "squared", squared)
    (a, b), mask = prepare_arrays(fn, ("x1", "x2"), (x1, x2), where, mask_axes=-1)
    s = checks.row_values(fn, "similar", similar, a.shape[:-1])
    ok = (s == 0) | (s == 1)
    checks.require(fn, "similar", _unmasked(ok, mask), s, "True/False (or 1/0)")
    s = jnp.where(ok, s, jnp.nan).astype(a.dtype)
    d = safe_norm(a - b, axis=-1)
    gap = jax.nn.relu(margin - d)
    loss = 0.5 * (s * d * d + (1.0 - s) * gap * gap) if squared else s * d + (1.0 - s) * gap
    return reduce_loss(
        fn=fn,
        loss=loss,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def cosine_embedding_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    targets: ArrayLike,
    *,
    margin: float = 0.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Cosine embedding loss: pairs labelled +1 should align, -1 should not.

    .. math::
        \ell = \begin{cases} 1 - \cos(x_1, x_2) & y = 1 \\
                             \max(0, \cos(x_1, x_2) - m) & y = -1 \end{cases}

    Args:
      x1, x2: ``[..., D]``.
      targets: y, ``[...]`` in {1, -1}; any other value gives NaN (torch silently
        gives 0).
      margin: m, in [-1, 1] (the range of a cosine; outside it the hinge is
        constant, so it raises).
      weight, where: aligned with the leading axes of ``[...]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[...]``); rescales each
        example's loss without changing the mean's denominator.

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
    checks.check_range(fn, "margin", margin, low=-1.0, high=1.0)
    (a, b), mask = prepare_arrays(fn, ("x1", "x2"), (x1, x2), where, mask_axes=-1)
    y = checks.row_values(fn, "targets", targets, a.shape[:-1])
    ok = (y == 1) | (y == -1)
    checks.require(fn, "targets", _unmasked(ok, mask), y, "1 or -1")
    cos = cosine_similarity_squared_eps(a, b)
    loss = jnp.where(y == 1, 1.0 - cos, jax.nn.relu(cos - margin))
    loss = jnp.where(ok, loss, jnp.nan)
    return reduce_loss(
        fn=fn,
        loss=loss,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def margin_ranking_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    targets: ArrayLike,
    *,
    margin: float = 0.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Margin ranking loss: the score that should rank higher must, by a margin.

    .. math:: \ell = \max(0,\ -y\,(x_1 - x_2) + m)

    Args:
      x1, x2: ``[...]`` scores.
      targets: y, ``[...]``: 1 where x1 should rank higher, -1 where x2 should;
        any other value gives NaN (torch silently uses it as a coefficient).
      margin: m, any real number.
      weight, where: aligned with the leading axes of ``[...]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[...]``); rescales each
        example's loss without changing the mean's denominator.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.margin_ranking_loss``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.margin_ranking_loss(jnp.array([1.0]), jnp.array([2.0]), jnp.array([1.0])))
      1.0
    """
    fn = "margin_ranking_loss"
    checks.check_number(fn, "margin", margin)
    a, b = jnp.asarray(x1), jnp.asarray(x2)
    checks.check_floating(fn, "x1", a)
    checks.check_floating(fn, "x2", b)
    checks.check_same_shape(fn, "x1", a, "x2", b)
    y = checks.row_values(fn, "targets", targets, a.shape)
    a, b, y = upcast(a, b, y)
    mask = mask_of(fn, where, a.shape)
    a, b = fill_masked(mask, a, 0.0), fill_masked(mask, b, 0.0)
    ok = (y == 1) | (y == -1)
    checks.require(fn, "targets", _unmasked(ok, mask), y, "1 or -1")
    loss = jnp.where(ok, jax.nn.relu(-y * (a - b) + margin), jnp.nan)
    return reduce_loss(
        fn=fn,
        loss=loss,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def cosine_similarity_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Squared error between the cosine similarity of a pair and its target score.

    .. math:: \ell = (\cos(x_1, x_2) - y)^2

    Args:
      x1, x2: ``[..., D]``.
      targets: y, ``[...]`` target similarities (e.g. in [-1, 1]).
      weight, where: aligned with the leading axes of ``[...]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[...]``); rescales each
        example's loss without changing the mean's denominator.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches sentence-transformers ``CosineSimilarityLoss`` (MSE of
    ``torch.cosine_similarity``, eps 1e-8 on each norm).
    References: Reimers & Gurevych (2019), "Sentence-BERT".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x1, x2 = jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 1.0]])
      >>> float(jaxloss.cosine_similarity_loss(x1, x2, jnp.array([1.0])))
      1.0
    """
    fn = "cosine_similarity_loss"
    (a, b), _ = prepare_arrays(fn, ("x1", "x2"), (x1, x2), where, mask_axes=-1)
    y = checks.row_values(fn, "targets", targets, a.shape[:-1]).astype(a.dtype)
    loss = (cosine_similarity(a, b, eps=1e-8) - y) ** 2
    return reduce_loss(
        fn=fn,
        loss=loss,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def _unmasked(ok: Array, mask: Array | None) -> Array:
    """``ok`` where the row counts; masked rows (padding) may hold anything."""
    return ok if mask is None else ok | ~jnp.broadcast_to(mask, ok.shape)
