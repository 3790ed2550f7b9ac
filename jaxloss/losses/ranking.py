"""Learning-to-rank losses over lists of scored items (optax's and rax's).

Lists lie on the last axis: ``scores`` and ``relevance`` are ``[..., L]``, one
list per leading index (``[B, L]`` for a batch of queries). ``where [..., L]``
masks list items (padding): a masked item takes part in no softmax, no pair and
no ordering, whatever its score holds. A list with no valid item counts nowhere.
Higher relevance means the item should rank higher.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import masked_logsumexp, softplus_neg, upcast
from jaxloss._core.reduce import fill_masked, mask_of, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["listmle_loss", "pairwise_hinge_loss", "pairwise_logistic_loss", "ranking_softmax_loss"]


def _lists(
    fn: str, scores: ArrayLike, relevance: ArrayLike, where: ArrayLike | None
) -> tuple[Array, Array, Array | None]:
    """Validated ``[..., L]`` scores and relevance in the compute dtype, masked
    items filled with 0, and the item mask broadcast to their shape."""
    scores, relevance = jnp.asarray(scores), jnp.asarray(relevance)
    checks.check_floating(fn, "scores", scores)
    checks.check_numeric(fn, "relevance", relevance)
    if scores.ndim == 0:
        checks.fail(fn, "scores must hold lists [..., L]; got shape ()")
    checks.check_same_shape(fn, "scores", scores, "relevance", relevance)
    s, y = upcast(scores, relevance)
    mask = mask_of(fn, where, s.shape)
    return fill_masked(mask, s, 0.0), fill_masked(mask, y, 0.0), mask


def _list_mask(mask: Array | None) -> Array | None:
    """``[...]``: the lists that hold at least one valid item."""
    return None if mask is None else jnp.any(mask, axis=-1)


def ranking_softmax_loss(
    scores: ArrayLike,
    relevance: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Listwise softmax cross-entropy of each list's scores against its relevance.

    .. math::
        \ell(s, y) = -\sum_{i} y_i \log \frac{e^{s_i}}{\sum_{j} e^{s_j}},

    both sums over the list's valid items. Relevance is used as given, not
    normalised (optax's and rax's default); pass ``relevance / relevance.sum(-1,
    keepdims=True)`` for the normalised form.

    Matches optax ``ranking_softmax_loss`` and rax ``softmax_loss``. Their per-item
    ``weights`` multiply the relevance: pass ``relevance * weights``; jaxloss's
    ``weight`` rescales whole lists, like every jaxloss loss's per-sample weight.

    Args:
      scores: ``[..., L]`` item scores.
      relevance: ``[..., L]`` non-negative relevance of each item.
      weight: per-list weights aligned with the leading axes (``[...]``).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: ``[..., L]`` boolean item mask (or a leading prefix of it); False
        items count nowhere, and lists with no valid item are left out of the mean.
      reduction: ``"mean"`` (over lists), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum under ``shard_map``/``pmap``.

    Returns:
      ``[...]`` (one loss per list) for ``"none"``, else a scalar.

    References:
      Cao et al. Learning to Rank: From Pairwise Approach to Listwise Approach. ICML 2007.
      https://github.com/google/rax/blob/main/rax/_src/losses.py ;
      https://github.com/google-deepmind/optax/blob/main/optax/losses/_ranking.py

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> s, y = jnp.array([[2.0, 1.0, 3.0]]), jnp.array([[1.0, 0.0, 0.0]])
      >>> print(f"{float(jaxloss.ranking_softmax_loss(s, y)):.4f}")  # log(e^2 + e + e^3) - 2
      1.4076
    """
    fn = "ranking_softmax_loss"
    s, y, mask = _lists(fn, scores, relevance, where)
    if mask is None:
        lse = jax.nn.logsumexp(s, axis=-1)
        loss = -jnp.sum(y * (s - lse[..., None]), axis=-1)
    else:
        lse = masked_logsumexp(s, mask)
        lse = jnp.where(jnp.any(mask, axis=-1), lse, 0.0)
        loss = -jnp.sum(jnp.where(mask, y * (s - lse[..., None]), 0.0), axis=-1)
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=_list_mask(mask),
        axis_name=axis_name,
    )


def listmle_loss(
    scores: ArrayLike,
    relevance: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""ListMLE: the negative Plackett-Luce log-likelihood of the relevance order.

    With :math:`\pi` the valid items sorted by decreasing relevance,

    .. math::
        \ell(s, y) = -\sum_{k} \Bigl(s_{\pi_k} - \log \sum_{m \ge k} e^{s_{\pi_m}}\Bigr).

    Ties in relevance keep the items' order in the list (a stable sort), as rax's
    ``listmle_loss`` without a ``key``; shuffle tied items beforehand for rax's
    random tie-breaking. The order is found by comparing every pair of items, so
    the cost is :math:`O(L^2)` per list.

    Args:
      scores: ``[..., L]`` item scores.
      relevance: ``[..., L]`` relevance of each item (only its order matters).
      weight: per-list weights aligned with the leading axes (``[...]``).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: ``[..., L]`` boolean item mask (or a leading prefix of it); False
        items count nowhere, and lists with no valid item are left out of the mean.
      reduction: ``"mean"`` (over lists), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum under ``shard_map``/``pmap``.

    Returns:
      ``[...]`` (one loss per list) for ``"none"``, else a scalar.

    References:
      Xia et al. Listwise Approach to Learning to Rank: Theory and Algorithm. ICML 2008.
      https://github.com/google/rax/blob/main/rax/_src/losses.py

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> s, y = jnp.array([[2.0, 1.0, 3.0]]), jnp.array([[1.0, 0.0, 0.0]])
      >>> print(f"{float(jaxloss.listmle_loss(s, y)):.4f}")  # order 0, 1, 2
      3.5345
    """
    fn = "listmle_loss"
    s, y, mask = _lists(fn, scores, relevance, where)
    size = s.shape[-1]
    index = jnp.arange(size)
    y_i, y_j = y[..., :, None], y[..., None, :]
    # item j stays in the softmax at item i's place in the order: it ranks below i,
    # or ties with i and comes at or after it in the list
    later = (y_j < y_i) | ((y_j == y_i) & (index[None, :] >= index[:, None]))
    if mask is not None:
        later = later & mask[..., None, :]
    # left-out entries hold -inf, whose exp (0) cannot overflow into a NaN gradient
    lse = masked_logsumexp(s[..., None, :], later)
    terms = s - lse
    if mask is not None:
        terms = jnp.where(mask, terms, 0.0)
    return reduce_loss(
        -jnp.sum(terms, axis=-1),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=_list_mask(mask),
        axis_name=axis_name,
    )


def _pairwise(
    fn: str,
    pair_loss: str,
    scores: ArrayLike,
    relevance: ArrayLike,
    weight: ArrayLike | None,
    sample_weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
    axis_name: AxisName,
) -> Array:
    s, y, mask = _lists(fn, scores, relevance, where)
    diff = s[..., :, None] - s[..., None, :]
    valid = y[..., :, None] > y[..., None, :]
    if mask is not None:
        valid = valid & mask[..., :, None] & mask[..., None, :]
    loss = softplus_neg(diff) if pair_loss == "logistic" else jax.nn.relu(1.0 - diff)
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=valid,
        axis_name=axis_name,
    )


def pairwise_logistic_loss(
    scores: ArrayLike,
    relevance: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Pairwise logistic (RankNet) loss over the correctly ordered pairs of each list.

    .. math::
        \ell_{ij} = \log\bigl(1 + e^{-(s_i - s_j)}\bigr) \quad \text{for } y_i > y_j.

    Matches rax ``pairwise_logistic_loss``.

    Every ordered pair :math:`(i, j)` of valid items of a list with
    :math:`y_i > y_j` counts, as in rax; pairs of equal relevance do not.
    ``"mean"`` is rax's: the sum over valid pairs divided by the number of valid
    pairs in the whole batch (over all devices under ``axis_name``), 0 when there
    are none.

    Args:
      scores: ``[..., L]`` item scores.
      relevance: ``[..., L]`` relevance of each item.
      weight: aligned with the leading axes of the ``[..., L, L]`` pair losses:
        ``[...]`` per list, ``[..., L]`` per first item :math:`i` of a pair
        (rax's per-item ``weights``) or ``[..., L, L]`` per pair.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: ``[..., L]`` boolean item mask (or a leading prefix of it); a pair
        counts only if both items are valid.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum under ``shard_map``/``pmap``.

    Returns:
      ``[..., L, L]`` pair losses (0 for pairs that do not count) for ``"none"``,
      else a scalar.

    References:
      Burges et al. Learning to Rank using Gradient Descent. ICML 2005.
      https://github.com/google/rax/blob/main/rax/_src/losses.py

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> s, y = jnp.array([[2.0, 1.0, 3.0]]), jnp.array([[1.0, 0.0, 0.0]])
      >>> print(f"{float(jaxloss.pairwise_logistic_loss(s, y)):.4f}")  # two pairs
      0.8133
    """
    return _pairwise(
        "pairwise_logistic_loss",
        "logistic",
        scores,
        relevance,
        weight,
        sample_weights,
        where,
        reduction,
        axis_name,
    )


def pairwise_hinge_loss(
    scores: ArrayLike,
    relevance: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Pairwise hinge loss over the correctly ordered pairs of each list.

    .. math::
        \ell_{ij} = \max\bigl(0, 1 - (s_i - s_j)\bigr) \quad \text{for } y_i > y_j.

    Matches rax ``pairwise_hinge_loss``.

    Every ordered pair :math:`(i, j)` of valid items of a list with
    :math:`y_i > y_j` counts, as in rax; pairs of equal relevance do not.
    ``"mean"`` is rax's: the sum over valid pairs divided by the number of valid
    pairs in the whole batch (over all devices under ``axis_name``), 0 when there
    are none.

    Args:
      scores: ``[..., L]`` item scores.
      relevance: ``[..., L]`` relevance of each item.
      weight: aligned with the leading axes of the ``[..., L, L]`` pair losses:
        ``[...]`` per list, ``[..., L]`` per first item :math:`i` of a pair
        (rax's per-item ``weights``) or ``[..., L, L]`` per pair.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: ``[..., L]`` boolean item mask (or a leading prefix of it); a pair
        counts only if both items are valid.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum under ``shard_map``/``pmap``.

    Returns:
      ``[..., L, L]`` pair losses (0 for pairs that do not count) for ``"none"``,
      else a scalar.

    References:
      Joachims. Optimizing Search Engines using Clickthrough Data. KDD 2002.
      https://github.com/google/rax/blob/main/rax/_src/losses.py

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> s, y = jnp.array([[2.0, 1.0, 3.0]]), jnp.array([[1.0, 0.0, 0.0]])
      >>> print(f"{float(jaxloss.pairwise_hinge_loss(s, y)):.4f}")  # (0 + 2) / 2
      1.0000
    """
    return _pairwise(
        "pairwise_hinge_loss",
        "hinge",
        scores,
        relevance,
        weight,
        sample_weights,
        where,
        reduction,
        axis_name,
    )
