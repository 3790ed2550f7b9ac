"""Calibration: the reliability diagram and the expected calibration error."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import move_class_axis
from jaxloss._core.numerics import safe_div, safe_sqrt, upcast
from jaxloss._core.sharding import psum
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.metrics._common import class_ids, keep_of, positive_int

__all__ = ["ReliabilityDiagram", "expected_calibration_error", "reliability_diagram"]

NORMS = ("l1", "l2", "max")


class ReliabilityDiagram(NamedTuple):
    """Per-bin statistics of a reliability diagram (``[num_bins]`` each)."""

    edges: Array  # [num_bins + 1] bin edges in [0, 1]
    confidence: Array  # mean confidence in the bin (0 where empty)
    accuracy: Array  # accuracy (or positive frequency) in the bin (0 where empty)
    # samples in the bin; the public field name shadows tuple.count on purpose
    count: Array  # pyright: ignore[reportIncompatibleMethodOverride]


def reliability_diagram(
    probs: ArrayLike,
    targets: ArrayLike,
    *,
    num_bins: int = 10,
    axis: int = -1,
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> ReliabilityDiagram:
    """Confidence against accuracy in equal-width bins.

    Two forms, by the shape of ``probs``:

    - ``[N, C]`` class probabilities with integer ``targets [N]``: the top-label
      confidence max_c p against whether the top label is right, in bins
      ``(lo, hi]`` (Guo et al. 2017; confidence 0 goes in the first bin).
    - ``[N]`` positive-class probabilities with 0/1 ``targets [N]``: p against
      the frequency of positives, in bins ``[lo, hi)``,
      except that p = 1 goes in the last bin (a loop over half-open bins (lo, hi] would drop it).

    Args:
      probs: ``[N, C]`` or ``[N]`` probabilities in [0, 1], as above.
      targets: ``[N]`` class ids in [0, C) (``[N, C]`` form) or 0/1 outcomes
        (``[N]`` form).
      num_bins: number of equal-width bins, a positive int (static).
      axis: the class axis of ``[N, C]`` probabilities (``axis=0`` takes them as
        ``[C, N]``); only -1 or 0 for the ``[N]`` form.
      where: boolean ``[N]``; False samples are left out (and may hold anything).
      axis_name: counts and sums are taken across devices.

    Returns:
      A :class:`ReliabilityDiagram`. A sample with a NaN probability, a probability
      outside [0, 1] or a target that is not a class counts in the first bin and
      makes its confidence and accuracy NaN.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> d = jaxloss.reliability_diagram(jnp.array([0.1, 0.9]), jnp.array([0, 1]), num_bins=2)
      >>> d.count.tolist(), d.accuracy.tolist()
      ([1.0, 1.0], [0.0, 1.0])
    """
    return _reliability(
        "reliability_diagram", probs, targets, num_bins, axis, where=where, axis_name=axis_name
    )


def _reliability(
    fn: str,
    probs: ArrayLike,
    targets: ArrayLike,
    num_bins: int,
    axis: int,
    *,
    where: ArrayLike | None,
    axis_name: AxisName,
) -> ReliabilityDiagram:
    """:func:`reliability_diagram`, whose errors name ``fn``."""
    positive_int(fn, "num_bins", num_bins)
    p = jnp.asarray(probs)
    checks.check_floating(fn, "probs", p)
    checks.check_rank(fn, "probs", p, {1, 2})
    checks.check_integer(fn, "axis", axis)
    if p.ndim == 2:
        (p,) = move_class_axis(fn, axis, p)
    elif axis not in (-1, 0):
        checks.fail(fn, f"axis={axis} is out of range for probs of shape {p.shape}")
    y = checks.row_values(fn, "targets", targets, p.shape[:1])
    (p,) = upcast(p)
    keep = keep_of(fn, where, p.shape[:1])
    in_unit = (p >= 0) & (p <= 1)  # False for NaN
    checks.require(
        fn, "probs", in_unit | ~keep.reshape(keep.shape + (1,) * (p.ndim - 1)), p, "in [0, 1]"
    )
    if p.ndim == 2:
        valid = jnp.all(in_unit, axis=-1) & class_ids(fn, "targets", y, keep, p.shape[-1])
        confidence = jnp.max(p, axis=-1)
        hit = (jnp.argmax(p, axis=-1) == y).astype(p.dtype)
        index = jnp.ceil(confidence * num_bins).astype(jnp.int32) - 1
    else:
        valid = in_unit & class_ids(fn, "targets", y, keep, None)
        confidence, hit = p, y.astype(p.dtype)
        index = jnp.floor(confidence * num_bins).astype(jnp.int32)
    # an invalid sample counts in bin 0 and poisons its statistics (NaN, not a number)
    index = jnp.where(valid, jnp.clip(index, 0, num_bins - 1), 0)
    confidence = jnp.where(valid, confidence, jnp.nan)
    hit = jnp.where(valid, hit, jnp.nan)

    def binned(values: Array) -> Array:
        # a select, not a product: masked samples may hold NaN padding
        return jax.ops.segment_sum(jnp.where(keep, values, 0.0), index, num_bins)

    count, conf_sum, hit_sum = psum(
        (binned(jnp.ones_like(confidence)), binned(confidence), binned(hit)),
        axis_name,
    )
    return ReliabilityDiagram(
        jnp.linspace(0.0, 1.0, num_bins + 1),
        safe_div(conf_sum, count),
        safe_div(hit_sum, count),
        count,
    )


def expected_calibration_error(
    probs: ArrayLike,
    targets: ArrayLike,
    *,
    num_bins: int = 10,
    norm: str = "l1",
    axis: int = -1,
    where: ArrayLike | None = None,
    axis_name: AxisName = None,
) -> Array:
    r"""Expected calibration error: the count-weighted gap between confidence and
    accuracy over equal-width bins.

    .. math::
        \mathrm{ECE} = \sum_b \frac{n_b}{N}\,\big|\mathrm{acc}_b - \mathrm{conf}_b\big|,
        \quad
        \mathrm{RMSCE} = \Big(\sum_b \frac{n_b}{N}\,
            (\mathrm{acc}_b - \mathrm{conf}_b)^2\Big)^{1/2},
        \quad
        \mathrm{MCE} = \max_b \big|\mathrm{acc}_b - \mathrm{conf}_b\big|

    Args:
      probs: ``[N, C]`` class probabilities (top-label ECE) or ``[N]``
        positive-class probabilities, in [0, 1]; see
        :func:`reliability_diagram`.
      targets: ``[N]`` class ids (``[N, C]`` form) or 0/1 outcomes (``[N]`` form).
      num_bins: number of equal-width bins, a positive int (static).
      norm: ``"l1"`` (ECE), ``"l2"`` (RMSCE, the square root of the count-weighted
        mean squared gap) or ``"max"`` (MCE, the largest gap of a bin), as
        torchmetrics ``CalibrationError(norm=)``.
      axis: the class axis of ``[N, C]`` probabilities.
      where: boolean ``[N]``; False samples are left out.
      axis_name: counts and sums are taken across devices.

    Returns:
      A scalar in [0, 1]; empty bins contribute 0 (their gap counts as 0 for
      ``"max"``), and so does an empty input. NaN
      when a sample ``where`` keeps has a NaN probability, a probability outside
      [0, 1] or a target that is not a class.

    The ``[N, C]`` form matches torchmetrics ``multiclass_calibration_error`` with
    ``n_bins=num_bins`` (its default is 15) up to the bin a confidence exactly on
    an edge falls in (torchmetrics' bins are [lo, hi)).
    References: Guo et al. (2017), "On Calibration of Modern Neural Networks";
    Naeini et al. (2015), "Obtaining Well Calibrated Probabilities Using Bayesian
    Binning" (MCE); torchmetrics ``functional/classification/calibration_error.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([0.9, 0.9, 0.2, 0.2])
      >>> y = jnp.array([1, 0, 0, 0])
      >>> round(float(jaxloss.expected_calibration_error(p, y)), 4)
      0.3
    """
    fn = "expected_calibration_error"
    checks.check_option(fn, "norm", norm, NORMS)
    d = _reliability(
        fn,
        probs,
        targets,
        num_bins,
        axis,
        where=where,
        axis_name=axis_name,
    )
    gap = jnp.abs(d.accuracy - d.confidence)
    if norm == "max":  # an empty bin's gap is 0; NaN statistics stay NaN
        return jnp.max(gap)
    total = jnp.sum(d.count)
    if norm == "l2":
        return safe_sqrt(safe_div(jnp.sum(d.count * jnp.square(gap)), total))
    return safe_div(jnp.sum(d.count * gap), total)
