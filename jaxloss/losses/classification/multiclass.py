"""Softmax multi-class losses: ``[..., C]`` logits (or log-probabilities) against
integer class ids ``[...]`` or, where documented, probabilities ``[..., C]``.

The class axis is last, with any number of leading axes (``[B, C]``, tokens
``[B, T, C]``, pixels ``[B, H, W, C]``). Integer targets equal to
``ignore_index`` are left out, and a label that is neither a class nor
``ignore_index`` gives NaN for its row (:func:`jaxloss.checked` names it).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import (
    integer_cross_entropy,
    logits_and_labels,
    pick,
    probability_targets,
    reduce_classwise,
    soft_cross_entropy,
    softmax_cross_entropy_rows,
)
from jaxloss._core.numerics import power, upcast
from jaxloss._core.reduce import reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = [
    "cross_entropy",
    "nll_loss",
    "poly1_cross_entropy",
    "smooth_labels",
    "softmax_focal_loss",
]


def cross_entropy(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    where: ArrayLike | None = None,
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
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"`` (0 where ignored).

    Matches ``torch.nn.functional.cross_entropy`` with the class axis last. Where
    every target is ignored the mean is 0 with zero gradient (torch gives NaN).
    ``-inf`` logits (a masked vocabulary) are fine as long as the target's is
    finite; label smoothing skips those classes. A label outside [0, C) that is
    not ``ignore_index`` gives NaN. References: Szegedy et al. (2016),
    "Rethinking the Inception Architecture for Computer Vision" (label smoothing).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.cross_entropy(jnp.zeros((2, 4)), jnp.array([1, -100]))), 4)
      1.3863
    """
    fn = "cross_entropy"
    checks.check_range(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    targets = jnp.asarray(targets)
    if not jnp.issubdtype(targets.dtype, jnp.floating):
        return integer_cross_entropy(
            fn,
            logits,
            targets,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            weight=weight,
            where=where,
            reduction=reduction,
            axis_name=axis_name,
        )
    x, q, mask = probability_targets(fn, "logits", logits, targets, where)
    class_w = checks.class_weights(fn, weight, x.shape[-1])
    q = (1.0 - label_smoothing) * q + label_smoothing / x.shape[-1]
    ce, _ = soft_cross_entropy(x, q, class_w)
    return reduce_loss(ce, fn=fn, reduction=reduction, where=mask, axis_name=axis_name)


def nll_loss(
    log_probs: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    where: ArrayLike | None = None,
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
      ignore_index: integer targets equal to it contribute nothing.
      where: broadcastable to ``[...]``; extra rows to leave out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"`` (0 where ignored).

    Matches ``torch.nn.functional.nll_loss`` with the class axis last; all-ignored
    gives 0, not NaN.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.nll_loss(jnp.log(jnp.array([[0.5, 0.5]])), jnp.array([0])))
      0.6931471824645996
    """
    fn = "nll_loss"
    x, rows = logits_and_labels(fn, "log_probs", log_probs, targets, where, ignore_index)
    labels = rows.labels
    class_w = checks.class_weights(fn, weight, x.shape[-1])
    loss = -pick(x, labels)
    if class_w is not None:
        loss = class_w[labels] * loss
    return reduce_classwise(
        loss, rows, fn=fn, reduction=reduction, axis_name=axis_name, class_weights=class_w
    )


def softmax_focal_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: float | ArrayLike | None = None,
    gamma: float = 2.0,
    ignore_index: int = -100,
    where: ArrayLike | None = None,
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
      ignore_index: integer targets equal to it contribute nothing.
      where: broadcastable to ``[...]``; extra rows to leave out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

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
    x, rows = logits_and_labels(fn, "logits", logits, targets, where, ignore_index)
    labels = rows.labels
    ce = softmax_cross_entropy_rows(x, labels)
    loss = power(-jnp.expm1(-ce), gamma) * ce
    if alpha is not None:
        alpha = jnp.asarray(alpha, x.dtype)
        if alpha.ndim == 1:
            checks.class_weights(fn, alpha, x.shape[-1], "alpha")
            alpha = alpha[labels]
        elif alpha.ndim > 1:
            checks.fail(fn, f"alpha must be a scalar or a [C] vector; got shape {alpha.shape}")
        loss = alpha * loss
    return reduce_classwise(loss, rows, fn=fn, reduction=reduction, axis_name=axis_name)


def poly1_cross_entropy(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: float = 1.0,
    ignore_index: int = -100,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Poly-1 loss: cross-entropy plus :math:`\epsilon (1 - p_t)`.

    .. math:: \ell_i = -\log p_{t} + \epsilon\,(1 - p_{t}), \qquad p_t = \textstyle\sum_c q_c p_c

    Args:
      logits: ``[..., C]``.
      targets: integer ``[...]`` or probabilities ``[..., C]``.
      epsilon: the Poly-1 coefficient (the paper's default 1; optax's is 2).
      ignore_index: integer targets equal to it contribute nothing.
      where: broadcastable to ``[...]``; extra rows to leave out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"`` (0 where ignored).

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
        x, q, mask = probability_targets(fn, "logits", logits, targets, where)
        ce, log_probs = soft_cross_entropy(x, q, None)
        one_minus_pt = jnp.sum(q * -jnp.expm1(log_probs), axis=-1)
        return reduce_loss(
            ce + epsilon * one_minus_pt, fn=fn, reduction=reduction, where=mask, axis_name=axis_name
        )
    x, rows = logits_and_labels(fn, "logits", logits, targets, where, ignore_index)
    ce = softmax_cross_entropy_rows(x, rows.labels)
    return reduce_classwise(
        ce - epsilon * jnp.expm1(-ce), rows, fn=fn, reduction=reduction, axis_name=axis_name
    )


def smooth_labels(targets: ArrayLike, alpha: float, num_classes: int | None = None) -> Array:
    r"""Label smoothing: :math:`(1 - \alpha)\,\text{one\_hot}(y) + \alpha / C`.

    Args:
      targets: integer ``[...]`` (then ``num_classes`` is required) or one-hot /
        probability ``[..., C]``.
      alpha: in [0, 1].
      num_classes: C, for integer targets.

    Returns:
      ``[..., C]`` float targets.

    Matches optax ``smooth_labels``. References: Szegedy et al. (2016),
    "Rethinking the Inception Architecture for Computer Vision".

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
