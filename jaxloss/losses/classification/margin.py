"""Margin losses on scores: binary hinges on {-1, +1} (or {0, 1}) targets, the
multi-class SVM losses on ``[..., C]`` scores with integer targets, and the
multi-label margin loss on lists of target classes.

Scores are not passed through a sigmoid or softmax; a target outside the accepted
values gives NaN (:func:`jaxloss.checked` names it).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import (
    logits_and_labels,
    move_class_axis,
    pick,
    reduce_classwise,
    signed_targets,
    weigh_by_target_class,
)
from jaxloss._core.numerics import upcast
from jaxloss._core.reduce import fill_masked, mask_of, prepare_pair, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = [
    "hinge_embedding_loss",
    "hinge_loss",
    "multi_margin_loss",
    "multiclass_hinge_loss",
    "multilabel_margin_loss",
    "squared_hinge_loss",
]


def hinge_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Binary hinge loss, :math:`\ell_i = \max(0, 1 - y_i s_i)` with :math:`y_i \in \{-1, +1\}`.

    Args:
      scores: ``[...]``.
      targets: same shape, in {-1, +1} or {0, 1} (0 is read as -1); any other
        value gives NaN.
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches optax ``hinge_loss``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.hinge_loss(jnp.array([0.5, -2.0]), jnp.array([1, 0])))
      0.25
    """
    return _hinge(
        "hinge_loss",
        scores,
        targets,
        exponent=1,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def squared_hinge_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Squared hinge loss, :math:`\ell_i = \max(0, 1 - y_i s_i)^2`.

    Args:
      scores: ``[...]``.
      targets: same shape, as :func:`hinge_loss`'s.
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches Keras ``SquaredHinge``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.squared_hinge_loss(jnp.array([0.5, -2.0]), jnp.array([1, 0])))
      0.125
    """
    return _hinge(
        "squared_hinge_loss",
        scores,
        targets,
        exponent=2,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def _hinge(
    fn: str,
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    exponent: int,
    weight: ArrayLike | None,
    sample_weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
    axis_name: AxisName,
) -> Array:
    s, t, _ = prepare_pair(
        fn, "scores", jnp.asarray(scores), jnp.asarray(targets), where, target_fill=1.0
    )
    signs, valid = signed_targets(fn, t)
    loss = jnp.maximum(0.0, 1.0 - signs * s) ** exponent
    return reduce_loss(
        jnp.where(valid, loss, jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def hinge_embedding_loss(
    distances: ArrayLike,
    targets: ArrayLike,
    *,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Pulls similar pairs' distances down and pushes dissimilar ones past ``margin``.

    .. math:: \ell_i = \begin{cases} d_i & y_i = 1 \\ \max(0, m - d_i) & y_i = -1 \end{cases}

    Args:
      distances: ``[...]`` non-negative distances of pairs; a negative one gives NaN.
      targets: same shape, in {-1, +1}; other values give NaN.
      margin: m, a real number.
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.hinge_embedding_loss`` on non-negative distances.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.hinge_embedding_loss(jnp.array([0.3, 0.4]), jnp.array([1, -1]))), 4)
      0.45
    """
    fn = "hinge_embedding_loss"
    checks.check_number(fn, "margin", margin)
    d, t, _ = prepare_pair(
        fn, "distances", jnp.asarray(distances), jnp.asarray(targets), where, target_fill=1.0
    )
    valid = (t == 1) | (t == -1)
    checks.require(fn, "targets", valid, t, "in {-1, +1}")
    # a negative distance (scores passed by mistake) would lower a similar pair's loss
    # below 0; NaN (not d < 0) lets a NaN distance through to the loss as NaN
    non_negative = ~(d < 0)
    checks.require(fn, "distances", non_negative, d, "non-negative")
    valid = valid & non_negative
    loss = jnp.where(t == 1, d, jnp.maximum(0.0, margin - d))
    return reduce_loss(
        jnp.where(valid, loss, jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def multi_margin_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    p: int = 1,
    margin: float = 1.0,
    axis: int = -1,
    weight: ArrayLike | None = None,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Multi-class margin (Weston-Watkins SVM) loss.

    .. math:: \ell_i = \frac{1}{C}\sum_{j \ne y_i} w_{y_i} \max(0, m - s_{i y_i} + s_{ij})^p

    Args:
      scores: ``[..., C]``.
      targets: integer ``[...]`` in [0, C); others give NaN.
      p: 1 or 2 (a Python int).
      margin: m, a real number.
      axis: the class axis of ``scores``; ``axis=1`` is PyTorch's ``[N, C, d1, ...]``.
      weight: ``[C]`` class weights (the mean still divides by the row count, as torch).
      class_weights: ``[C]``, one weight per class; rescales each example's loss by its
        target class's weight: ``weight`` under its shared name (pass one of the two).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False rows are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.multi_margin_loss`` (``axis=1``).
    References: Weston and Watkins (1999), "Support Vector Machines for
    Multi-Class Pattern Recognition".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.multi_margin_loss(jnp.array([[0.1, 0.2, 0.4, 0.8]]), jnp.array([3])))
      0.32499998807907104
    """
    fn = "multi_margin_loss"
    checks.check_integer(fn, "p", p)
    checks.check_option(fn, "p", p, (1, 2))
    checks.check_number(fn, "margin", margin)
    (scores,) = move_class_axis(fn, axis, scores)
    x, rows = logits_and_labels(fn, "scores", scores, targets, where, None)
    labels = rows.labels
    class_w = checks.either_class_weights(fn, weight, class_weights, x.shape[-1])
    target_score = pick(x, labels)
    hinge = jnp.maximum(0.0, margin - target_score[..., None] + x) ** p
    not_target = jnp.arange(x.shape[-1]) != labels[..., None]
    loss = jnp.sum(jnp.where(not_target, hinge, 0.0), axis=-1) / x.shape[-1]
    if class_w is not None:
        loss = class_w[labels] * loss
    return reduce_classwise(
        loss,
        rows,
        fn=fn,
        reduction=reduction,
        axis_name=axis_name,
        sample_weights=sample_weights,
    )


def multiclass_hinge_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Crammer-Singer multi-class hinge loss.

    .. math:: \ell_i = \max_j\big(s_{ij} + 1 - [j = y_i]\big) - s_{i y_i}

    Args:
      scores: ``[..., C]``.
      targets: integer ``[...]`` in [0, C); others give NaN.
      axis: the class axis of ``scores``; ``axis=1`` is PyTorch's ``[N, C, d1, ...]``.
      class_weights: ``[C]``, one weight per class; rescales each example's loss by its
        target class's weight.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False rows are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches optax ``multiclass_hinge_loss``. References: Crammer and Singer
    (2001), "On the Algorithmic Implementation of Multiclass Kernel-based Vector
    Machines".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.multiclass_hinge_loss(jnp.array([[2.0, 1.5, 0.0]]), jnp.array([0])))
      0.5
    """
    fn = "multiclass_hinge_loss"
    (scores,) = move_class_axis(fn, axis, scores)
    x, rows = logits_and_labels(fn, "scores", scores, targets, where, None)
    labels = rows.labels
    one_hot = jax.nn.one_hot(labels, x.shape[-1], dtype=x.dtype)
    loss = jnp.max(x + 1.0 - one_hot, axis=-1) - pick(x, labels)
    class_w = checks.class_weights_of(fn, class_weights, x.shape[-1], "class_weights")
    loss = weigh_by_target_class(loss, class_w, labels)
    return reduce_classwise(
        loss,
        rows,
        fn=fn,
        reduction=reduction,
        axis_name=axis_name,
        sample_weights=sample_weights,
    )


def multilabel_margin_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Multi-label margin loss: every target class must outscore every other class by 1.

    .. math:: \ell_i = \frac{1}{C}\sum_{k < K_i}\;\sum_{j \notin Y_i}
              \max\big(0, 1 - (s_{i\,y_{ik}} - s_{ij})\big)

    where :math:`y_{i0}, y_{i1}, \dots` are the target classes of row i up to its
    first -1 (:math:`K_i` of them) and :math:`Y_i` their set.

    Args:
      scores: ``[..., C]``.
      targets: integer class ids, the shape of ``scores``: each row lists its
        target classes, ended by the first -1 (what follows is ignored; a row
        without targets costs 0). An id outside [0, C) before the end gives NaN.
      axis: the class axis of ``scores`` and ``targets``; ``axis=1`` is
        PyTorch's ``[N, C, ...]``.
      weight: aligned with the leading axes of ``[...]``; rescales each row.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False rows are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.multilabel_margin_loss``, including a class
    listed twice counting twice and a zero gradient where a margin is met exactly.
    References: Crammer & Singer (2003), "A Family of Additive Online Algorithms
    for Category Ranking"; PyTorch ``aten/src/ATen/native/LossMultiLabelMargin.cpp``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[0.1, 0.2, 0.4, 0.8]])
      >>> round(float(jaxloss.multilabel_margin_loss(s, jnp.array([[3, 0, -1, 1]]))), 4)
      0.85
    """
    fn = "multilabel_margin_loss"
    s, t = jnp.asarray(scores), jnp.asarray(targets)
    checks.check_floating(fn, "scores", s)
    if not jnp.issubdtype(t.dtype, jnp.integer):
        checks.fail(fn, f"targets must be integer class ids; got dtype {t.dtype}", TypeError)
    checks.check_same_shape(fn, "scores", s, "targets", t)
    if s.ndim == 0:
        checks.fail(fn, "scores must have a class axis [..., C]; got shape ()")
    s, t = move_class_axis(fn, axis, s, t)
    num_classes = s.shape[-1]
    mask = mask_of(fn, where, s.shape[:-1])
    (x,) = upcast(s)
    if mask is not None:
        x, t = fill_masked(mask[..., None], x, 0.0), fill_masked(mask[..., None], t, -1)
    listed = jnp.cumsum(t == -1, axis=-1) == 0  # before the first -1
    in_range = (t >= 0) & (t < num_classes)
    checks.require(fn, "targets", ~listed | in_range, t, f"a class id in [0, {num_classes}) or -1")
    bad = jnp.any(listed & ~in_range, axis=-1)
    hits = jax.nn.one_hot(jnp.where(listed & in_range, t, -1), num_classes, dtype=x.dtype)
    counts = jnp.sum(hits, axis=-2)  # how often each class is listed
    others = (counts == 0).astype(x.dtype)
    margin = 1.0 - x[..., :, None] + x[..., None, :]  # [..., target class, other class]
    # 0 * margin keeps a NaN score NaN; the gradient is 0 where the margin is met
    hinge = jnp.where(margin > 0, margin, 0.0 * margin)
    loss = jnp.einsum("...c,...cj,...j->...", counts, hinge, others) / num_classes
    return reduce_loss(
        jnp.where(bad, jnp.nan, loss),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=mask,
        axis_name=axis_name,
    )
