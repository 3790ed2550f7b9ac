"""Softmax multi-class losses: ``[..., C]`` logits (or log-probabilities) against
integer class ids ``[...]`` or, where documented, probabilities ``[..., C]``.

The class axis is last by default, with any number of leading axes (``[B, C]``,
tokens ``[B, T, C]``, pixels ``[B, H, W, C]``); ``axis=1`` takes PyTorch's
channel-first ``[N, C, ...]``. Integer targets equal to ``ignore_index`` are left
out, and a label that is neither a class nor ``ignore_index`` gives NaN for its
row (:func:`jaxloss.checked` names it).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import (
    integer_cross_entropy,
    logits_and_labels,
    move_class_axis,
    pick,
    probability_rows,
    probability_targets,
    reduce_classwise,
    smoothing_rows,
    soft_cross_entropy,
    softmax_cross_entropy_rows,
    weigh_by_target_class,
)
from jaxloss._core.numerics import power, shifted_logsumexp, upcast
from jaxloss._core.reduce import reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = [
    "cross_entropy",
    "nll_loss",
    "poly1_cross_entropy",
    "smooth_labels",
    "softmax_focal_loss",
]


def _no_ignore_index(fn: str, ignore_index: int) -> None:
    """Probability targets have no ignored class: an explicit ``ignore_index``
    would be silently dropped."""
    if ignore_index != -100:
        checks.fail(
            fn,
            f"ignore_index={ignore_index} applies to integer targets only; these targets "
            "are probabilities: leave rows out with where= instead",
        )


def cross_entropy(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    axis: int = -1,
    weight: ArrayLike | None = None,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
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
      logits: ``[..., C]`` (or the class axis at ``axis``).
      targets: integer ``[...]`` (no class axis), or float probabilities in
        [0, 1] laid out like ``logits``.
      ignore_index: integer targets equal to it contribute nothing; integer
        targets only (probability targets with another value raise: leave rows
        out with ``where``).
      label_smoothing: in [0, 1].
      axis: the class axis of ``logits`` (and of probability targets); ``axis=1``
        is PyTorch's ``[N, C, d1, ...]``.
      weight: ``[C]`` class weights :math:`w` (PyTorch's name for ``class_weights``).
      class_weights: ``[C]``, one weight per class; the same as ``weight``
        (PyTorch's name; pass one of the two), with torch's meaning: the mean
        divides by the summed weights of the targets.
      sample_weights: a leading prefix of the unreduced loss's shape (``[...]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; extra rows to leave out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"`` (0 where ignored).

    Matches ``torch.nn.functional.cross_entropy`` (``axis=1``). Where every target
    is ignored the mean is 0 with zero gradient (torch gives NaN). ``-inf`` logits
    (a masked vocabulary) are fine where the target puts no mass (integer targets:
    any class but the label); label smoothing skips those classes. Target mass on
    a ``-inf`` logit gives ``inf``, as torch; a NaN or ``+inf`` logit gives NaN. A
    label outside [0, C) that is not ``ignore_index``, or a probability outside
    [0, 1], gives NaN for its row (:func:`jaxloss.checked` names it). References:
    Szegedy et al. (2016), "Rethinking the Inception Architecture for Computer
    Vision" (label smoothing).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.cross_entropy(jnp.zeros((2, 4)), jnp.array([1, -100]))), 4)
      1.3863
    """
    fn = "cross_entropy"
    checks.check_integer(fn, "ignore_index", ignore_index)
    smoothing_ok = checks.option_in_range(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    targets = jnp.asarray(targets)
    if not jnp.issubdtype(targets.dtype, jnp.floating):
        (logits,) = move_class_axis(fn, axis, logits)
        loss = integer_cross_entropy(
            fn,
            logits,
            targets,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            class_weights=checks.either_class_weights(fn, weight, class_weights, logits.shape[-1]),
            sample_weights=sample_weights,
            where=where,
            reduction=reduction,
            axis_name=axis_name,
        )
        return checks.nan_unless(smoothing_ok, loss)
    _no_ignore_index(fn, ignore_index)
    logits, targets = move_class_axis(fn, axis, logits, targets)
    x, q, mask = probability_targets(fn, "logits", logits, targets, where)
    class_w = checks.either_class_weights(fn, weight, class_weights, x.shape[-1])
    valid = probability_rows(fn, "targets", q)
    ce, _ = soft_cross_entropy(x, q, class_w)
    if checks.may_be_nonzero(label_smoothing):
        # the smoothed targets' uniform part, as the integer form computes it: the
        # same skip of masked (-inf) classes, so integer and one-hot targets agree
        shifted, lse = shifted_logsumexp(x)
        smooth = smoothing_rows(shifted, lse, class_w) / x.shape[-1]
        ce = (1.0 - label_smoothing) * ce + label_smoothing * smooth
    ce = checks.nan_unless(smoothing_ok, jnp.where(valid, ce, jnp.nan))
    return reduce_loss(
        ce,
        fn=fn,
        reduction=reduction,
        sample_weights=sample_weights,
        where=mask,
        axis_name=axis_name,
    )


def nll_loss(
    log_probs: ArrayLike,
    targets: ArrayLike,
    *,
    ignore_index: int = -100,
    axis: int = -1,
    weight: ArrayLike | None = None,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Negative log-likelihood of integer targets under given log-probabilities.

    .. math::
        \ell_i = -w_{y_i} \log p_{i y_i}, \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_i w_{y_i}}

    Args:
      log_probs: ``[..., C]`` log-probabilities, every entry <= 0 (e.g. from
        ``jax.nn.log_softmax``; ``-inf`` allowed).
      targets: integer ``[...]``; ``ignore_index`` entries are left out.
      ignore_index: integer targets equal to it contribute nothing.
      axis: the class axis of ``log_probs``; ``axis=1`` is PyTorch's ``[N, C, d1, ...]``.
      weight: ``[C]`` class weights :math:`w` (PyTorch's name for ``class_weights``).
      class_weights: ``[C]``, one weight per class; the same as ``weight``
        (PyTorch's name; pass one of the two), with torch's meaning: the mean
        divides by the summed weights of the targets.
      sample_weights: a leading prefix of the unreduced loss's shape (``[...]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; extra rows to leave out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"`` (0 where ignored).

    Matches ``torch.nn.functional.nll_loss`` (``axis=1``); all-ignored gives 0, not
    NaN. A counted row holding a positive entry (raw logits passed by mistake) or
    a NaN anywhere gives NaN, as does a label outside [0, C); :func:`jaxloss.checked`
    names them.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.nll_loss(jnp.log(jnp.array([[0.5, 0.5]])), jnp.array([0])))
      0.6931471824645996
    """
    fn = "nll_loss"
    (log_probs,) = move_class_axis(fn, axis, log_probs)
    x, rows = logits_and_labels(fn, "log_probs", log_probs, targets, where, ignore_index)
    labels = rows.labels
    class_w = checks.either_class_weights(fn, weight, class_weights, x.shape[-1])
    positive = x > 0
    checks.require(
        fn, "log_probs", ~positive | ~rows.counted[..., None], x, "log-probabilities (<= 0)"
    )
    # the loss reads one entry per row, but a row that is not log-probabilities
    # (logits, a NaN) has no likelihood: NaN, never the picked entry
    broken = jnp.any(positive | jnp.isnan(x), axis=-1)
    loss = -pick(x, labels)
    if class_w is not None:
        loss = class_w[labels] * loss
    return reduce_classwise(
        jnp.where(broken, jnp.nan, loss),
        rows,
        fn=fn,
        reduction=reduction,
        axis_name=axis_name,
        class_weights=class_w,
        sample_weights=sample_weights,
    )


def softmax_focal_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: float | ArrayLike | None = None,
    gamma: float = 2.0,
    label_smoothing: float | Array = 0.0,
    ignore_index: int = -100,
    axis: int = -1,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Multi-class focal loss: cross-entropy scaled by :math:`\alpha_{y}(1 - p_t)^\gamma`.

    .. math:: \ell_i = \alpha_{y_i}\,(1 - p_{i y_i})^\gamma\,(-\log p_{i y_i})

    With label smoothing :math:`\varepsilon` each class c enters with its smoothed
    target :math:`q_c = (1 - \varepsilon)[c = y_i] + \varepsilon / C`:

    .. math:: \ell_i = \sum_c \alpha_c\, q_c\,(1 - p_{ic})^\gamma\,(-\log p_{ic})

    Args:
      logits: ``[..., C]``.
      targets: integer ``[...]``; ``ignore_index`` entries are left out.
      alpha: ``None`` (1), a scalar, or a ``[C]`` vector of per-class factors, >= 0.
      gamma: focusing exponent >= 0; 0 is cross-entropy.
      label_smoothing: :math:`\varepsilon` in [0, 1], as Keras
        ``CategoricalFocalCrossentropy(label_smoothing=)``; classes with a
        ``-inf`` logit (a masked vocabulary) are skipped, as in :func:`cross_entropy`.
      ignore_index: integer targets equal to it contribute nothing.
      axis: the class axis of ``logits``; ``axis=1`` is PyTorch's ``[N, C, d1, ...]``.
      class_weights: ``[C]``, one weight per class; rescales each example's loss by
        its target class's weight (a factor :math:`w_{y_i}` on the whole row, label
        smoothing included, independent of ``alpha``).
      sample_weights: a leading prefix of the unreduced loss's shape (``[...]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; extra rows to leave out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      The mean over counted targets (neither ``alpha`` nor ``class_weights`` enters
      the denominator), the sum, or ``[...]``.

    The common tutorial ``FocalLoss`` (``alpha * (1 - exp(-CE)) ** gamma * CE``),
    generalised to per-class alpha and ``ignore_index``; Keras
    ``CategoricalFocalCrossentropy`` (one-hot targets, ``from_logits=True``) is
    this loss with its default ``alpha=0.25``. :math:`1 - p_t` is computed as
    ``-expm1(-CE)`` so it stays exact for confident predictions, and gradients are
    finite there for every gamma >= 0. A traced ``alpha``, ``gamma`` or
    ``label_smoothing`` out of its range gives NaN (:func:`jaxloss.checked` names
    it). References: Lin et al. (2017).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.softmax_focal_loss(jnp.zeros((1, 2)), jnp.array([0]))), 4)
      0.1733
    """
    fn = "softmax_focal_loss"
    gamma_ok = checks.option_in_range(fn, "gamma", gamma, low=0.0)
    alpha_ok = None
    if alpha is not None:
        if isinstance(alpha, list | tuple):
            alpha = jnp.asarray(alpha)
        alpha_ok = checks.option_in_range(fn, "alpha", alpha, low=0.0)
    (logits,) = move_class_axis(fn, axis, logits)
    smoothing_ok = checks.option_in_range(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    x, rows = logits_and_labels(fn, "logits", logits, targets, where, ignore_index)
    class_w = checks.class_weights_of(fn, class_weights, x.shape[-1], "class_weights")
    labels = rows.labels
    ce = softmax_cross_entropy_rows(x, labels)
    loss = power(-jnp.expm1(-ce), gamma) * ce
    class_alpha = None
    if alpha is not None:
        class_alpha = jnp.asarray(alpha, x.dtype)
        if class_alpha.ndim == 1:
            checks.class_weights_of(fn, class_alpha, x.shape[-1], "alpha")
            loss = class_alpha[labels] * loss
        elif class_alpha.ndim > 1:
            checks.fail(
                fn, f"alpha must be a scalar or a [C] vector; got shape {class_alpha.shape}"
            )
        else:
            loss = class_alpha * loss
    if checks.may_be_nonzero(label_smoothing):
        smooth = _focal_smoothing_rows(x, gamma, class_alpha)
        loss = (1.0 - label_smoothing) * loss + label_smoothing * smooth
    loss = checks.nan_unless(smoothing_ok, loss)
    loss = checks.nan_unless(alpha_ok, checks.nan_unless(gamma_ok, loss))
    loss = weigh_by_target_class(loss, class_w, labels)
    return reduce_classwise(
        loss,
        rows,
        fn=fn,
        reduction=reduction,
        axis_name=axis_name,
        sample_weights=sample_weights,
    )


def _focal_smoothing_rows(x: Array, gamma: float, alpha: Array | None) -> Array:
    r"""Per row, :math:`\frac1C \sum_c \alpha_c (1 - p_c)^\gamma (-\log p_c)` over
    the classes whose logit is not ``-inf``."""
    shifted, lse = shifted_logsumexp(x)
    live = x > -jnp.inf
    # double where: a skipped class's -inf log-probability never reaches a gradient
    log_probs = jnp.where(live, shifted - lse[..., None], 0.0)
    terms = power(-jnp.expm1(log_probs), gamma) * -log_probs
    if alpha is not None:
        terms = alpha * terms
    return jnp.sum(jnp.where(live, terms, 0.0), axis=-1) / x.shape[-1]


def poly1_cross_entropy(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: float = 1.0,
    ignore_index: int = -100,
    axis: int = -1,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Poly-1 loss: cross-entropy plus :math:`\epsilon (1 - p_t)`.

    .. math:: \ell_i = -\log p_{t} + \epsilon\,(1 - p_{t}), \qquad p_t = \textstyle\sum_c q_c p_c

    Args:
      logits: ``[..., C]``.
      targets: integer ``[...]`` (no class axis), or probabilities in [0, 1] laid
        out like ``logits``.
      epsilon: the Poly-1 coefficient, any real number (the paper's default 1;
        optax's is 2).
      ignore_index: integer targets equal to it contribute nothing; integer
        targets only (probability targets with another value raise).
      axis: the class axis of ``logits`` (and of probability targets).
      class_weights: ``[C]``, one weight per class; rescales each example's loss by
        its target class's weight (:math:`\sum_c q_c w_c` for probability targets).
      sample_weights: a leading prefix of the unreduced loss's shape (``[...]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; extra rows to leave out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"`` (0 where ignored); the mean
      divides by the number of counted rows, whatever the weights.

    Matches optax ``poly_loss_cross_entropy``. As :func:`cross_entropy`, probability
    targets skip only the classes they put no mass on: mass on a ``-inf`` logit gives
    ``inf``, a NaN or ``+inf`` logit NaN. References: Leng et al. (2022),
    "PolyLoss: A Polynomial Expansion Perspective of Classification Loss Functions".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.poly1_cross_entropy(jnp.zeros((1, 2)), jnp.array([0]))), 4)
      1.1931
    """
    fn = "poly1_cross_entropy"
    checks.check_number(fn, "epsilon", epsilon)
    checks.check_integer(fn, "ignore_index", ignore_index)
    targets = jnp.asarray(targets)
    if jnp.issubdtype(targets.dtype, jnp.floating):
        _no_ignore_index(fn, ignore_index)
        logits, targets = move_class_axis(fn, axis, logits, targets)
        x, q, mask = probability_targets(fn, "logits", logits, targets, where)
        class_w = checks.class_weights_of(fn, class_weights, x.shape[-1], "class_weights")
        valid = probability_rows(fn, "targets", q)
        ce, log_probs = soft_cross_entropy(x, q, None)
        one_minus_pt = jnp.sum(q * -jnp.expm1(log_probs), axis=-1)
        loss = jnp.where(valid, ce + epsilon * one_minus_pt, jnp.nan)
        loss = weigh_by_target_class(loss, class_w, q)
        return reduce_loss(
            loss,
            fn=fn,
            reduction=reduction,
            sample_weights=sample_weights,
            where=mask,
            axis_name=axis_name,
        )
    (logits,) = move_class_axis(fn, axis, logits)
    x, rows = logits_and_labels(fn, "logits", logits, targets, where, ignore_index)
    class_w = checks.class_weights_of(fn, class_weights, x.shape[-1], "class_weights")
    ce = softmax_cross_entropy_rows(x, rows.labels)
    loss = ce - epsilon * jnp.expm1(-ce)
    loss = weigh_by_target_class(loss, class_w, rows.labels)
    return reduce_classwise(
        loss,
        rows,
        fn=fn,
        reduction=reduction,
        axis_name=axis_name,
        sample_weights=sample_weights,
    )


def smooth_labels(
    targets: ArrayLike, alpha: float, num_classes: int | None = None, *, axis: int = -1
) -> Array:
    r"""Label smoothing: :math:`(1 - \alpha)\,\text{one\_hot}(y) + \alpha / C`.

    Args:
      targets: integer ``[...]`` in [0, ``num_classes``) (then ``num_classes`` is
        required) or one-hot / probability ``[..., C]`` in [0, 1].
      alpha: in [0, 1].
      num_classes: C, for integer targets.
      axis: the class axis: of the probability targets, and where the result of
        integer targets puts it (``axis=1``: PyTorch's ``[N, C, d1, ...]``).

    Returns:
      ``[..., C]`` float targets (the class axis at ``axis``). A label outside
      [0, C) or a probability outside [0, 1] gives NaN there
      (:func:`jaxloss.checked` names it).

    Matches optax ``smooth_labels``. References: Szegedy et al. (2016),
    "Rethinking the Inception Architecture for Computer Vision".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.smooth_labels(jnp.array([1]), 0.1, num_classes=2).tolist()
      [[0.05000000074505806, 0.949999988079071]]
    """
    fn = "smooth_labels"
    alpha_ok = checks.option_in_range(fn, "alpha", alpha, low=0.0, high=1.0)
    checks.check_integer(fn, "axis", axis)
    targets = jnp.asarray(targets)
    if num_classes is not None:
        checks.check_integer(fn, "num_classes", num_classes)
        if num_classes < 1:
            checks.fail(fn, f"num_classes must be at least 1; got {num_classes}")
    if jnp.issubdtype(targets.dtype, jnp.integer):
        if num_classes is None:
            checks.fail(fn, "num_classes is required for integer targets")
        ndim = targets.ndim + 1
        if not -ndim <= axis < ndim:
            checks.fail(fn, f"axis={axis} is out of range for the {ndim}-d smoothed targets")
        valid = (targets >= 0) & (targets < num_classes)
        checks.require(fn, "targets", valid, targets, f"a class index in [0, {num_classes})")
        one_hot = jax.nn.one_hot(targets, num_classes, dtype=jnp.float32)
        q = jnp.where(valid[..., None], one_hot, jnp.nan)
    else:
        checks.check_numeric(fn, "targets", targets)
        (q,) = upcast(*move_class_axis(fn, axis, targets))
        if num_classes is not None and q.shape[-1:] != (num_classes,):
            checks.fail(fn, f"targets has {q.shape[-1:]} classes but num_classes is {num_classes}")
        in_range = (q >= 0) & (q <= 1)
        checks.require(fn, "targets", in_range, q, "probabilities in [0, 1]")
        q = jnp.where(in_range, q, jnp.nan)
    smoothed = checks.nan_unless(alpha_ok, (1.0 - alpha) * q + alpha / q.shape[-1])
    return jnp.moveaxis(smoothed, -1, axis)
