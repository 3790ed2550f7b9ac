"""Classification losses: binary, multi-label and multi-class.

The class axis is last (``logits: [..., C]``), with any number of leading axes
(``[B, C]``, tokens ``[B, T, C]``, pixels ``[B, H, W, C]``). Logit inputs are
handled in log-space; integer targets equal to ``ignore_index`` are left out, and
a label that is neither a class nor ``ignore_index`` gives NaN for its element
(:func:`jaxloss.checked` names it) instead of being read as some class.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import (
    bce_logits,
    bce_logits_pos_weight,
    bce_probs,
    log_sigmoid_pair,
    power,
    shifted_logsumexp,
    sigmoid_pair,
    softplus,
    upcast,
)
from jaxloss._core.reduce import fill_masked, mask_of, prepare_pair, reduce_loss
from jaxloss._core.types import Array, AxisName
from jaxloss.catalogue.registry import Example, LossSpec
from jaxloss.catalogue.registry import add_spec as register

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_embedding_loss",
    "hinge_loss",
    "multi_margin_loss",
    "multiclass_hinge_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poly1_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "soft_margin_loss",
    "softmax_focal_loss",
    "squared_hinge_loss",
]


# ------------------------------------------------------------------ shared helpers


class _Rows(NamedTuple):
    """Integer targets made safe to index with, and which rows count or are invalid."""

    labels: Array
    counted: Array
    bad: Array


def _logits_and_labels(
    fn: str, output_name: str, output: Array, targets: Array, where, ignore_index
):
    """Validates ``output [..., C]`` with integer ``targets [...]``.

    Returns the upcast output (masked rows zeroed) and its :class:`_Rows`: rows
    count when not ignored and not masked by ``where``.
    """
    output, targets = jnp.asarray(output), jnp.asarray(targets)
    checks.check_floating(fn, output_name, output)
    if output.ndim < 1:
        checks.fail(fn, f"{output_name} must have a class axis [..., C]; got shape {output.shape}")
    if not jnp.issubdtype(targets.dtype, jnp.integer):
        checks.fail(
            fn,
            f"targets must be integer class indices; got dtype {targets.dtype} "
            "(float targets are probabilities, accepted only where documented)",
            TypeError,
        )
    if targets.shape != output.shape[:-1]:
        checks.fail(
            fn,
            f"targets has shape {targets.shape} but {output_name} has shape {output.shape}; "
            f"integer targets must have shape {output.shape[:-1]}",
        )
    num_classes = output.shape[-1]
    ignored = jnp.zeros(targets.shape, bool) if ignore_index is None else targets == ignore_index
    in_range = (targets >= 0) & (targets < num_classes)
    bad = ~ignored & ~in_range
    checks.require(
        fn, "targets", ~bad, targets, f"a class index in [0, {num_classes}) or ignore_index"
    )
    counted = ~ignored
    user_mask = mask_of(fn, where, targets.shape)
    if user_mask is not None:
        counted = counted & user_mask
    (x,) = upcast(output)
    if user_mask is not None:
        # rows masked by `where` may hold anything (padding); ignored rows are only
        # left out, so their logits must be finite, as in torch
        x = fill_masked(user_mask[..., None], x, 0.0)
    labels = jnp.where(in_range & counted, targets, 0)
    return x, _Rows(labels, counted, bad & counted)


def _class_axis_pair(fn: str, output_name: str, output: Array, targets: Array, where):
    """Validates ``output [..., C]`` with same-shape float ``targets``, upcasts both
    and fills the rows masked out by ``where [...]``. Returns them and the mask."""
    x, t, _ = prepare_pair(fn, output_name, output, targets, None)
    if x.ndim < 1:
        checks.fail(fn, f"{output_name} must have a class axis [..., C]; got shape {x.shape}")
    mask = mask_of(fn, where, x.shape[:-1])
    if mask is not None:
        x, t = fill_masked(mask[..., None], x, 0.0), fill_masked(mask[..., None], t, 0.0)
    return x, t, mask


def _pick(x: Array, labels: Array) -> Array:
    return jnp.take_along_axis(x, labels[..., None], axis=-1)[..., 0]


def _reduce_classwise(loss, rows: _Rows, *, fn, reduction, axis_name, class_w=None):
    """Reduces a per-row loss over counted rows; invalid labels give NaN; with class
    weights the mean divides by the weights of the counted labels."""
    loss = jnp.where(rows.bad, jnp.nan, loss)
    normalizer = None
    if class_w is not None:
        normalizer = jnp.sum(jnp.where(rows.counted, class_w[rows.labels], 0.0))
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        where=rows.counted,
        axis_name=axis_name,
        normalizer=normalizer,
    )


def _signed_targets(fn: str, t: Array) -> tuple[Array, Array]:
    """Maps {0, 1} or {-1, +1} targets to {-1, +1}; other values are invalid."""
    valid = (t == 1) | (t == -1) | (t == 0)
    checks.require(fn, "targets", valid, t, "in {-1, +1} or {0, 1}")
    return jnp.where(t == 0, -1.0, t), valid


# ------------------------------------------------------------------ binary and multi-label


def binary_cross_entropy(
    probs: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Binary cross-entropy on probabilities.

    .. math:: \ell_i = -w_i\big(y_i \max(\log p_i, -100) + (1 - y_i)\max(\log(1 - p_i), -100)\big)

    Args:
      probs: ``[...]`` probabilities in [0, 1] (exact 0 and 1 allowed).
      targets: same shape, in [0, 1].
      weight: broadcastable to ``[...]``; rescales each element.

    Matches ``torch.nn.functional.binary_cross_entropy``, including its log clamp
    at -100 and its gradient :math:`(p - y) / \max(p(1-p), 10^{-12})`, finite at
    p = 0 and 1. Prefer :func:`binary_cross_entropy_with_logits` when logits exist.
    Probabilities outside [0, 1] give NaN; :func:`jaxloss.checked` reports them.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.binary_cross_entropy(jnp.array([1.0, 0.0]), jnp.array([0.0, 0.0])))
      50.0
    """
    fn = "binary_cross_entropy"
    p, t, _ = prepare_pair(fn, "probs", probs, targets, where)
    checks.require(fn, "probs", (p >= 0) & (p <= 1), p, "probabilities in [0, 1]")
    return reduce_loss(
        bce_probs(p, t),
        fn=fn,
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def _bce_logits_elementwise(fn: str, x: Array, t: Array, pos_weight: Array | None) -> Array:
    if pos_weight is None:
        return bce_logits(x, t)
    pos_weight = jnp.asarray(pos_weight)
    checks.check_numeric(fn, "pos_weight", pos_weight)
    checks.check_broadcastable(fn, "pos_weight", pos_weight, x.shape)
    return bce_logits_pos_weight(x, t, pos_weight.astype(x.dtype))


def binary_cross_entropy_with_logits(
    logits: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    pos_weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Binary (and multi-label) cross-entropy on logits.

    .. math:: \ell_i = -w_i\big(p_w\, y_i \log\sigma(x_i) + (1 - y_i)\log\sigma(-x_i)\big)

    Args:
      logits: ``[...]``; multi-label is the same call on ``[B, L]``.
      targets: same shape, in [0, 1] (soft targets allowed).
      weight: broadcastable to ``[...]``; rescales each element.
      pos_weight: broadcastable to ``[...]`` (e.g. ``[L]`` for the last axis);
        weights positives, e.g. ``num_negatives / num_positives`` for imbalance.

    Matches ``torch.nn.functional.binary_cross_entropy_with_logits`` and optax
    ``sigmoid_binary_cross_entropy``. Both log-sigmoids share one ``exp(-|x|)``,
    so value and gradient cost two transcendentals per element; finite for any
    finite logit.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.binary_cross_entropy_with_logits(jnp.array([0.0]), jnp.array([1.0]))
      >>> round(float(loss), 4)
      0.6931
    """
    fn = "binary_cross_entropy_with_logits"
    x, t, _ = prepare_pair(fn, "logits", logits, targets, where)
    return reduce_loss(
        _bce_logits_elementwise(fn, x, t, pos_weight),
        fn=fn,
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def sigmoid_focal_loss(
    logits: Array,
    targets: Array,
    *,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Focal loss on logits (RetinaNet): BCE down-weighted on easy examples.

    .. math::
        \ell_i = \alpha_t\,(1 - p_t)^\gamma\,\mathrm{BCE}(x_i, y_i), \quad
        1 - p_t = y\,\sigma(-x) + (1 - y)\,\sigma(x), \quad
        \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    Args:
      alpha: balance of positives in [0, 1]; ``None`` or a negative value
        disables it (torchvision's convention).
      gamma: focusing exponent >= 0; 0 is BCE (times alpha).

    Matches ``torchvision.ops.sigmoid_focal_loss`` and optax ``sigmoid_focal_loss``;
    unlike torchvision the default reduction is ``"mean"``. Gradients are finite
    at confident logits for every gamma >= 0 (and Hessians for gamma >= 2).
    References: Lin et al. (2017), "Focal Loss for Dense Object Detection".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.sigmoid_focal_loss(jnp.array([0.0]), jnp.array([1.0]))), 5)
      0.04332
    """
    fn = "sigmoid_focal_loss"
    checks.check_range(fn, "gamma", gamma, low=0.0)
    x, t, _ = prepare_pair(fn, "logits", logits, targets, where)
    log_p, log_not_p = log_sigmoid_pair(x)
    ce = -(t * log_p + (1.0 - t) * log_not_p)
    p, not_p = sigmoid_pair(x)
    one_minus_pt = t * not_p + (1.0 - t) * p
    loss = ce * power(one_minus_pt, gamma)
    if alpha is not None and (checks.is_traced(alpha) or alpha >= 0):
        loss = (alpha * t + (1.0 - alpha) * (1.0 - t)) * loss
    return reduce_loss(
        loss, fn=fn, reduction=reduction, weight=weight, where=where, axis_name=axis_name
    )


def hinge_loss(
    scores: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Binary hinge loss, :math:`\ell_i = \max(0, 1 - y_i s_i)` with :math:`y_i \in \{-1, +1\}`.

    ``targets`` may be {-1, +1} or {0, 1} (0 is read as -1); any other value gives
    NaN. Matches optax ``hinge_loss``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.hinge_loss(jnp.array([0.5, -2.0]), jnp.array([1, 0])))
      0.25
    """
    return _hinge("hinge_loss", scores, targets, 1, weight, where, reduction, axis_name)


def squared_hinge_loss(
    scores: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Squared hinge loss, :math:`\ell_i = \max(0, 1 - y_i s_i)^2`.

    Targets as :func:`hinge_loss`. Matches Keras ``SquaredHinge``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.squared_hinge_loss(jnp.array([0.5, -2.0]), jnp.array([1, 0])))
      0.125
    """
    return _hinge("squared_hinge_loss", scores, targets, 2, weight, where, reduction, axis_name)


def _hinge(fn, scores, targets, exponent, weight, where, reduction, axis_name):
    s, t, _ = prepare_pair(fn, "scores", scores, targets, where, target_fill=1.0)
    signs, valid = _signed_targets(fn, t)
    loss = jnp.maximum(0.0, 1.0 - signs * s) ** exponent
    return reduce_loss(
        jnp.where(valid, loss, jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def soft_margin_loss(
    scores: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Logistic loss on {-1, +1} targets, :math:`\ell_i = \log(1 + e^{-y_i s_i})`.

    Matches ``torch.nn.functional.soft_margin_loss`` (which, like jaxloss, applies
    the formula to any target value).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.soft_margin_loss(jnp.array([0.0]), jnp.array([1.0]))), 4)
      0.6931
    """
    fn = "soft_margin_loss"
    s, t, _ = prepare_pair(fn, "scores", scores, targets, where)
    return reduce_loss(
        softplus(-t * s),
        fn=fn,
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def multilabel_soft_margin_loss(
    logits: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Multi-label one-versus-all logistic loss, averaged over the C labels of a sample.

    .. math::
        \ell_n = -\frac1C \sum_c w_c\big(y_{nc}\log\sigma(x_{nc})
                  + (1 - y_{nc})\log\sigma(-x_{nc})\big)

    Args:
      logits: ``[..., C]``.
      targets: same shape, in {0, 1}.
      weight: per-label weights broadcastable to ``[..., C]`` (torch's ``weight``).
      where: broadcastable to ``[...]`` (one flag per sample).

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.multilabel_soft_margin_loss``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.multilabel_soft_margin_loss(jnp.zeros((1, 2)), jnp.array([[1.0, 0.0]]))
      >>> round(float(loss), 4)
      0.6931
    """
    fn = "multilabel_soft_margin_loss"
    x, t, mask = _class_axis_pair(fn, "logits", logits, targets, where)
    per_label = _bce_logits_elementwise(fn, x, t, None)
    if weight is not None:
        weight = jnp.asarray(weight)
        checks.check_numeric(fn, "weight", weight)
        checks.check_broadcastable(fn, "weight", weight, x.shape)
        per_label = weight.astype(x.dtype) * per_label
    return reduce_loss(
        jnp.mean(per_label, axis=-1), fn=fn, reduction=reduction, where=mask, axis_name=axis_name
    )


def hinge_embedding_loss(
    distances: Array,
    targets: Array,
    *,
    margin: float = 1.0,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Pulls similar pairs' distances down and pushes dissimilar ones past ``margin``.

    .. math:: \ell_i = \begin{cases} d_i & y_i = 1 \\ \max(0, m - d_i) & y_i = -1 \end{cases}

    ``targets`` in {-1, +1}; other values give NaN. Matches
    ``torch.nn.functional.hinge_embedding_loss``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.hinge_embedding_loss(jnp.array([0.3, 0.4]), jnp.array([1, -1]))), 4)
      0.45
    """
    fn = "hinge_embedding_loss"
    d, t, _ = prepare_pair(fn, "distances", distances, targets, where, target_fill=1.0)
    valid = (t == 1) | (t == -1)
    checks.require(fn, "targets", valid, t, "in {-1, +1}")
    loss = jnp.where(t == 1, d, jnp.maximum(0.0, margin - d))
    return reduce_loss(
        jnp.where(valid, loss, jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


# ------------------------------------------------------------------ multi-class


def _nll_rows(x: Array, labels: Array) -> Array:
    """Unweighted, unsmoothed per-row cross-entropy, -log p_y."""
    shifted, lse = shifted_logsumexp(x)
    return lse - _pick(shifted, labels)


def _smoothing_rows(shifted: Array, lse: Array, class_w: Array | None) -> Array:
    r"""Per row, :math:`\sum_c w_c (-\log p_c)` over the classes with finite logits.

    Written from the logits (no [N, C] log-probabilities kept) and without a select
    in the common case: only when some row holds a -inf logit (a masked vocabulary)
    does ``lax.cond`` switch to the masked sum, which XLA CPU fuses far worse.
    """
    if class_w is None:
        plain = shifted.shape[-1] * lse - jnp.sum(shifted, axis=-1)
    else:
        plain = jnp.sum(class_w) * lse - shifted @ class_w

    def masked(_):
        finite = jnp.isfinite(shifted)
        w = jnp.ones(shifted.shape[-1], shifted.dtype) if class_w is None else class_w
        w_finite = jnp.where(finite, w, 0.0)
        return jnp.sum(w_finite, axis=-1) * lse - jnp.sum(jnp.where(finite, w * shifted, 0.0), -1)

    return jax.lax.cond(jnp.all(jnp.isfinite(plain)), lambda _: plain, masked, None)


def _finite_or_zero(log_probs: Array) -> Array:
    # -inf log-probabilities are classes masked out of the vocabulary: smoothing
    # puts no mass on them rather than an infinite loss
    return jnp.where(jnp.isfinite(log_probs), log_probs, 0.0)


def _probability_targets(fn: str, output_name: str, output: Array, targets: Array, where):
    """:func:`_class_axis_pair` with a message that names both target forms."""
    output_shape, target_shape = jnp.shape(output), jnp.shape(targets)
    if target_shape != output_shape:
        checks.fail(
            fn,
            f"targets has shape {target_shape} but {output_name} has shape {output_shape}; "
            f"probability targets must have shape {output_shape} "
            f"(or integer class indices of shape {output_shape[:-1]})",
        )
    return _class_axis_pair(fn, output_name, output, targets, where)


def _soft_cross_entropy(x: Array, q: Array, class_w: Array | None) -> tuple[Array, Array]:
    """Per-row -sum_c w_c q_c log p_c (0 log 0 = 0, -inf classes skipped) and log p."""
    log_probs = jax.nn.log_softmax(x, axis=-1)
    terms = jnp.where(q == 0, 0.0, q * _finite_or_zero(log_probs))
    if class_w is not None:
        terms = class_w * terms
    return -jnp.sum(terms, axis=-1), log_probs


def cross_entropy(
    logits: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Softmax cross-entropy with integer or probability targets.

    Integer targets (sparse CCE), with class weights :math:`w` and smoothing :math:`\varepsilon`:

    .. math::
        \ell_i = (1 - \varepsilon)\,w_{y_i}(-\log p_{i y_i})
                 + \frac{\varepsilon}{C}\sum_c w_c(-\log p_{ic}), \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_i w_{y_i}}

    over targets that are not ``ignore_index``. Probability (or one-hot) targets
    ``q`` (CCE): :math:`\ell_i = -\sum_c w_c\, \tilde q_{ic} \log p_{ic}` with
    :math:`\tilde q = (1 - \varepsilon) q + \varepsilon / C`, and the mean divides
    by the number of rows.

    Args:
      logits: ``[..., C]``.
      targets: integer ``[...]`` or float probabilities ``[..., C]``.
      weight: ``[C]`` class weights.
      ignore_index: integer targets equal to it contribute nothing.
      label_smoothing: in [0, 1].
      where: broadcastable to ``[...]``; extra rows to leave out.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"`` (0 where ignored).

    Matches ``torch.nn.functional.cross_entropy`` with the class axis last. Where
    every target is ignored the mean is 0 with zero gradient (torch gives NaN).
    ``-inf`` logits (a masked vocabulary) are fine as long as the target's is
    finite; label smoothing skips those classes. A label outside [0, C) that is
    not ``ignore_index`` gives NaN.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.cross_entropy(jnp.zeros((2, 4)), jnp.array([1, -100]))), 4)
      1.3863
    """
    return _cross_entropy(
        "cross_entropy",
        logits,
        targets,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def _cross_entropy(
    fn: str,
    logits: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    """:func:`cross_entropy` whose errors name ``fn`` (the loss built on it)."""
    checks.check_range(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    targets = jnp.asarray(targets)
    if jnp.issubdtype(targets.dtype, jnp.floating):
        return _cross_entropy_soft(
            fn, "logits", logits, targets, weight, label_smoothing, where, reduction, axis_name
        )
    x, rows = _logits_and_labels(fn, "logits", logits, targets, where, ignore_index)
    labels = rows.labels
    class_w = checks.class_weights(fn, weight, x.shape[-1])
    shifted, lse = shifted_logsumexp(x)
    loss = lse - _pick(shifted, labels)
    if class_w is not None:
        loss = class_w[labels] * loss
    if checks.may_be_nonzero(label_smoothing):
        smooth = _smoothing_rows(shifted, lse, class_w) / x.shape[-1]
        loss = (1.0 - label_smoothing) * loss + label_smoothing * smooth
    return _reduce_classwise(
        loss, rows, fn=fn, reduction=reduction, axis_name=axis_name, class_w=class_w
    )


def _cross_entropy_soft(
    fn, output_name, logits, targets, weight, label_smoothing, where, reduction, axis_name
):
    x, q, mask = _probability_targets(fn, output_name, logits, targets, where)
    class_w = checks.class_weights(fn, weight, x.shape[-1])
    q = (1.0 - label_smoothing) * q + label_smoothing / x.shape[-1]
    ce, _ = _soft_cross_entropy(x, q, class_w)
    return reduce_loss(ce, fn=fn, reduction=reduction, where=mask, axis_name=axis_name)


def nll_loss(
    log_probs: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    ignore_index: int = -100,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Negative log-likelihood of integer targets under given log-probabilities.

    .. math::
        \ell_i = -w_{y_i} \log p_{i y_i}, \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_i w_{y_i}}

    Args:
      log_probs: ``[..., C]`` (e.g. from ``jax.nn.log_softmax``).
      targets: integer ``[...]``; ``ignore_index`` entries are left out.
      weight: ``[C]`` class weights.

    Matches ``torch.nn.functional.nll_loss`` with the class axis last; all-ignored
    gives 0, not NaN.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.nll_loss(jnp.log(jnp.array([[0.5, 0.5]])), jnp.array([0])))
      0.6931471824645996
    """
    fn = "nll_loss"
    x, rows = _logits_and_labels(fn, "log_probs", log_probs, targets, where, ignore_index)
    labels = rows.labels
    class_w = checks.class_weights(fn, weight, x.shape[-1])
    loss = -_pick(x, labels)
    if class_w is not None:
        loss = class_w[labels] * loss
    return _reduce_classwise(
        loss, rows, fn=fn, reduction=reduction, axis_name=axis_name, class_w=class_w
    )


def softmax_focal_loss(
    logits: Array,
    targets: Array,
    *,
    alpha: float | Array | None = None,
    gamma: float = 2.0,
    ignore_index: int = -100,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Multi-class focal loss: cross-entropy scaled by :math:`\alpha_{y}(1 - p_t)^\gamma`.

    .. math:: \ell_i = \alpha_{y_i}\,(1 - p_{i y_i})^\gamma\,(-\log p_{i y_i})

    Args:
      logits: ``[..., C]``.
      targets: integer ``[...]``; ``ignore_index`` entries are left out.
      alpha: ``None`` (1), a scalar, or a ``[C]`` vector of per-class factors.
      gamma: focusing exponent >= 0; 0 is cross-entropy.

    Returns:
      The mean over counted targets (``alpha`` does not enter the denominator), the
      sum, or ``[...]``.

    Seed 002's ``FocalLoss`` (``alpha * (1 - exp(-CE)) ** gamma * CE``), generalised
    to per-class alpha and ``ignore_index``. :math:`1 - p_t` is computed as
    ``-expm1(-CE)`` so it stays exact for confident predictions, and gradients are
    finite there for every gamma >= 0. References: Lin et al. (2017).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.softmax_focal_loss(jnp.zeros((1, 2)), jnp.array([0]))), 4)
      0.1733
    """
    fn = "softmax_focal_loss"
    checks.check_range(fn, "gamma", gamma, low=0.0)
    x, rows = _logits_and_labels(fn, "logits", logits, targets, where, ignore_index)
    labels = rows.labels
    ce = _nll_rows(x, labels)
    loss = power(-jnp.expm1(-ce), gamma) * ce
    if alpha is not None:
        alpha = jnp.asarray(alpha, x.dtype)
        if alpha.ndim == 1:
            alpha = checks.class_weights(fn, alpha, x.shape[-1], "alpha")[labels]
        elif alpha.ndim > 1:
            checks.fail(fn, f"alpha must be a scalar or a [C] vector; got shape {alpha.shape}")
        loss = alpha * loss
    return _reduce_classwise(loss, rows, fn=fn, reduction=reduction, axis_name=axis_name)


def multi_margin_loss(
    scores: Array,
    targets: Array,
    *,
    p: int = 1,
    margin: float = 1.0,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Multi-class margin (Weston-Watkins SVM) loss.

    .. math:: \ell_i = \frac{1}{C}\sum_{j \ne y_i} w_{y_i} \max(0, m - s_{i y_i} + s_{ij})^p

    Args:
      scores: ``[..., C]``.
      targets: integer ``[...]`` in [0, C).
      p: 1 or 2.
      weight: ``[C]`` class weights (the mean still divides by the row count, as torch).

    Matches ``torch.nn.functional.multi_margin_loss`` with the class axis last.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.multi_margin_loss(jnp.array([[0.1, 0.2, 0.4, 0.8]]), jnp.array([3])))
      0.32499998807907104
    """
    fn = "multi_margin_loss"
    checks.check_option(fn, "p", p, (1, 2))
    x, rows = _logits_and_labels(fn, "scores", scores, targets, where, None)
    labels = rows.labels
    class_w = checks.class_weights(fn, weight, x.shape[-1])
    target_score = _pick(x, labels)
    hinge = jnp.maximum(0.0, margin - target_score[..., None] + x) ** p
    not_target = jnp.arange(x.shape[-1]) != labels[..., None]
    loss = jnp.sum(jnp.where(not_target, hinge, 0.0), axis=-1) / x.shape[-1]
    if class_w is not None:
        loss = class_w[labels] * loss
    return _reduce_classwise(loss, rows, fn=fn, reduction=reduction, axis_name=axis_name)


def multiclass_hinge_loss(
    scores: Array,
    targets: Array,
    *,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Crammer-Singer multi-class hinge loss.

    .. math:: \ell_i = \max_j\big(s_{ij} + 1 - [j = y_i]\big) - s_{i y_i}

    Args:
      scores: ``[..., C]``.
      targets: integer ``[...]`` in [0, C).

    Matches optax ``multiclass_hinge_loss``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.multiclass_hinge_loss(jnp.array([[2.0, 1.5, 0.0]]), jnp.array([0])))
      0.5
    """
    fn = "multiclass_hinge_loss"
    x, rows = _logits_and_labels(fn, "scores", scores, targets, where, None)
    labels = rows.labels
    one_hot = jax.nn.one_hot(labels, x.shape[-1], dtype=x.dtype)
    loss = jnp.max(x + 1.0 - one_hot, axis=-1) - _pick(x, labels)
    return _reduce_classwise(loss, rows, fn=fn, reduction=reduction, axis_name=axis_name)


def poly1_cross_entropy(
    logits: Array,
    targets: Array,
    *,
    epsilon: float = 1.0,
    ignore_index: int = -100,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Poly-1 loss: cross-entropy plus :math:`\epsilon (1 - p_t)`.

    .. math:: \ell_i = -\log p_{t} + \epsilon\,(1 - p_{t}), \qquad p_t = \textstyle\sum_c q_c p_c

    Args:
      targets: integer ``[...]`` or probabilities ``[..., C]``.
      epsilon: the Poly-1 coefficient (the paper's default 1; optax's is 2).

    Matches optax ``poly_loss_cross_entropy``. References: Leng et al. (2022),
    "PolyLoss: A Polynomial Expansion Perspective of Classification Loss Functions".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.poly1_cross_entropy(jnp.zeros((1, 2)), jnp.array([0]))), 4)
      1.1931
    """
    fn = "poly1_cross_entropy"
    targets = jnp.asarray(targets)
    if jnp.issubdtype(targets.dtype, jnp.floating):
        x, q, mask = _probability_targets(fn, "logits", logits, targets, where)
        ce, log_probs = _soft_cross_entropy(x, q, None)
        one_minus_pt = jnp.sum(q * -jnp.expm1(log_probs), axis=-1)
        return reduce_loss(
            ce + epsilon * one_minus_pt, fn=fn, reduction=reduction, where=mask, axis_name=axis_name
        )
    x, rows = _logits_and_labels(fn, "logits", logits, targets, where, ignore_index)
    labels = rows.labels
    ce = _nll_rows(x, labels)
    return _reduce_classwise(
        ce - epsilon * jnp.expm1(-ce), rows, fn=fn, reduction=reduction, axis_name=axis_name
    )


def smooth_labels(targets: Array, alpha: float, num_classes: int | None = None) -> Array:
    r"""Label smoothing: :math:`(1 - \alpha)\,\text{one\_hot}(y) + \alpha / C`.

    Args:
      targets: integer ``[...]`` (then ``num_classes`` is required) or one-hot /
        probability ``[..., C]``.
      alpha: in [0, 1].

    Returns:
      ``[..., C]`` float targets. Matches optax ``smooth_labels``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.smooth_labels(jnp.array([1]), 0.1, num_classes=2).tolist()
      [[0.05000000074505806, 0.949999988079071]]
    """
    fn = "smooth_labels"
    checks.check_range(fn, "alpha", alpha, low=0.0, high=1.0)
    targets = jnp.asarray(targets)
    if jnp.issubdtype(targets.dtype, jnp.integer):
        if num_classes is None:
            checks.fail(fn, "num_classes is required for integer targets")
        targets = jax.nn.one_hot(targets, num_classes, dtype=jnp.float32)
    elif num_classes is not None and targets.shape[-1:] != (num_classes,):
        checks.fail(
            fn, f"targets has {targets.shape[-1:]} classes but num_classes is {num_classes}"
        )
    (targets,) = upcast(targets)
    return (1.0 - alpha) * targets + alpha / targets.shape[-1]


# ------------------------------------------------------------------ registry entries


def _binary_example(key: Array, batch: int, extreme: bool = False, *, kind: str = "logits"):
    """``[batch, 8]`` outputs of the given kind with {0, 1} targets (±1 for "signed");
    extreme logits are ±1e4, ±100 and 0, extreme probabilities exactly 0 and 1."""
    kx, kt = jax.random.split(key)
    shape = (batch, 8)
    t = jax.random.bernoulli(kt, 0.3, shape).astype(jnp.float32)
    if extreme:
        x = jnp.resize(jnp.array([1e4, -1e4, 100.0, -100.0, 0.0, 30.0, -30.0]), shape)
    else:
        x = 3.0 * jax.random.normal(kx, shape)
    if kind == "probs":
        x = (
            jnp.resize(jnp.array([0.0, 1.0, 0.5, 1e-30]), shape)
            if extreme
            else jax.nn.sigmoid(x / 3)
        )
    elif kind == "distances":
        x = jnp.abs(x)
    if kind in ("signed", "distances"):
        t = 2.0 * t - 1.0
    return Example((x, t))


def _multiclass_example(
    key: Array,
    batch: int,
    extreme: bool = False,
    *,
    classes: int = 256,
    ignore: bool = True,
    log_probs: bool = False,
    class_alpha: bool = False,
    **kwargs,
):
    """``[batch, classes]`` logits and integer targets, every 8th row ignored; extreme
    logits are ±1e4 with a -inf (masked) class per row and a row offset by 1e8."""
    kx, ky = jax.random.split(key)
    y = jax.random.randint(ky, (batch,), 0, classes)
    if extreme:
        x = jnp.resize(jnp.array([1e4, -1e4, 0.0, 3.0]), (batch, classes))
        x = x.at[jnp.arange(batch), (y + 1) % classes].set(-jnp.inf)
        x = x.at[1].set(1e8)
    else:
        x = 3.0 * jax.random.normal(kx, (batch, classes))
    if log_probs:
        x = jax.nn.log_softmax(x, axis=-1)
    if class_alpha:
        kwargs["alpha"] = jnp.linspace(0.5, 1.5, classes)
    if not ignore:
        return Example((x, y), kwargs)
    y = y.at[::8].set(-100)
    return Example((x, y), kwargs, counted=batch - len(range(0, batch, 8)))


def _register(fn, example, matches, tasks, input_kind, weight_kind="elementwise", family=None):
    register(
        LossSpec(
            name=fn.__name__,
            fn=fn,
            family=family or "classification",
            tasks=tasks,
            input_kind=input_kind,
            example=example,
            matches=matches,
            weight_kind=weight_kind,
        )
    )


_binary = ("classification", "binary", "multi-label")
_register(
    binary_cross_entropy,
    functools.partial(_binary_example, kind="probs"),
    "torch F.binary_cross_entropy",
    _binary,
    "probs, targets",
)
_register(
    binary_cross_entropy_with_logits,
    _binary_example,
    "torch F.binary_cross_entropy_with_logits, optax sigmoid_binary_cross_entropy",
    (*_binary, "imbalance"),
    "logits, targets",
)
_register(
    sigmoid_focal_loss,
    _binary_example,
    "torchvision ops.sigmoid_focal_loss, optax",
    (*_binary, "imbalance", "detection"),
    "logits, targets",
)
_register(
    hinge_loss, _binary_example, "optax hinge_loss", ("classification", "binary"), "scores, targets"
)
_register(
    squared_hinge_loss,
    _binary_example,
    "Keras SquaredHinge",
    ("classification", "binary"),
    "scores, targets",
)
_register(
    soft_margin_loss,
    functools.partial(_binary_example, kind="signed"),
    "torch F.soft_margin_loss",
    ("classification", "binary"),
    "scores, targets",
)
_register(
    multilabel_soft_margin_loss,
    _binary_example,
    "torch F.multilabel_soft_margin_loss",
    ("classification", "multi-label"),
    "logits, targets",
    weight_kind="class",
)
_register(
    hinge_embedding_loss,
    functools.partial(_binary_example, kind="distances"),
    "torch F.hinge_embedding_loss",
    ("classification", "metric-learning"),
    "distances, targets",
)
_multi = ("classification", "multi-class", "tokens", "segmentation")
_register(
    cross_entropy,
    functools.partial(_multiclass_example, label_smoothing=0.1),
    "torch F.cross_entropy",
    (*_multi, "overconfidence"),
    "logits, int or prob targets",
    weight_kind="class",
)
_register(
    nll_loss,
    functools.partial(_multiclass_example, log_probs=True),
    "torch F.nll_loss",
    _multi,
    "log_probs, int targets",
    weight_kind="class",
)
_register(
    softmax_focal_loss,
    functools.partial(_multiclass_example, class_alpha=True),
    "seed 002 FocalLoss",
    (*_multi, "imbalance"),
    "logits, int targets",
    weight_kind="none",
)
_register(
    multi_margin_loss,
    functools.partial(_multiclass_example, ignore=False, p=2, margin=0.5),
    "torch F.multi_margin_loss",
    ("classification", "multi-class"),
    "scores, int targets",
    weight_kind="class",
)
_register(
    multiclass_hinge_loss,
    functools.partial(_multiclass_example, ignore=False),
    "optax multiclass_hinge_loss",
    ("classification", "multi-class"),
    "scores, int targets",
    weight_kind="none",
)
_register(
    poly1_cross_entropy,
    _multiclass_example,
    "optax poly_loss_cross_entropy",
    ("classification", "multi-class"),
    "logits, int or prob targets",
    weight_kind="none",
)
