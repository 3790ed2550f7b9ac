"""Bounding-box regression losses: IoU, GIoU, DIoU and CIoU.

Boxes are ``[..., 4]`` as ``(x1, y1, x2, y2)`` with any leading shape; the loss is
per box (``reduction="none"`` gives ``[...]``). The formulas, and where ``eps``
enters them, follow torchvision 0.29's ``ops`` losses.

A degenerate box (zero width or height) gives finite values and gradients. An
invalid box (inverted, x2 < x1 or y2 < y1, or with a NaN or infinite coordinate)
has no IoU: its pair's loss is NaN, never the finite but meaningless number the
formulas would give for a negative width, and ``jaxloss.checked`` reports it.
Boxes that ``where`` masks out may hold anything.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.backend import by_platform
from jaxloss._core.numerics import safe_div, upcast
from jaxloss._core.reduce import mask_of, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = [
    "box_iou_loss",
    "complete_box_iou_loss",
    "distance_box_iou_loss",
    "generalized_box_iou_loss",
]


class _Pair(NamedTuple):
    a: tuple[Array, Array, Array, Array]  # x1, y1, x2, y2 of boxes1
    b: tuple[Array, Array, Array, Array]
    inter: Array
    union: Array
    iou: Array
    valid: Array  # both boxes finite with x1 <= x2 and y1 <= y2


def _pair(
    fn: str, boxes1: ArrayLike, boxes2: ArrayLike, where: ArrayLike | None, eps: float
) -> _Pair:
    boxes1, boxes2 = jnp.asarray(boxes1), jnp.asarray(boxes2)
    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        checks.check_floating(fn, name, boxes)
        if boxes.ndim == 0 or boxes.shape[-1] != 4:
            checks.fail(
                fn, f"{name} must be [..., 4] boxes (x1, y1, x2, y2); got shape {boxes.shape}"
            )
    checks.check_same_shape(fn, "boxes1", boxes1, "boxes2", boxes2)
    checks.check_range(fn, "eps", eps, low=0.0)
    b1, b2 = upcast(boxes1, boxes2)
    mask = mask_of(fn, where, b1.shape[:-1])
    if mask is not None:  # masked boxes may hold NaN padding: a unit box stands in
        unit = jnp.array([0.0, 0.0, 1.0, 1.0], b1.dtype)
        b1, b2 = (jnp.where(mask[..., None], b, unit) for b in (b1, b2))
    valid = jnp.ones(b1.shape[:-1], bool)
    for name, b in (("boxes1", b1), ("boxes2", b2)):
        ok = (b[..., 2] >= b[..., 0]) & (b[..., 3] >= b[..., 1])
        ok = ok & jnp.all(jnp.isfinite(b), axis=-1)
        checks.require(fn, name, ok[..., None], b, "finite boxes with x1 <= x2 and y1 <= y2")
        valid = valid & ok
    a, g = by_platform(b1, b2, cpu=coordinates_first, accelerator=coordinate_slices)
    iw = jnp.minimum(a[2], g[2]) - jnp.maximum(a[0], g[0])
    ih = jnp.minimum(a[3], g[3]) - jnp.maximum(a[1], g[1])
    inter = jnp.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (g[2] - g[0]) * (g[3] - g[1]) - inter
    return _Pair(a, g, inter, union, safe_div(inter, union + eps), valid)


def coordinates_first(b1: Array, b2: Array) -> tuple[tuple[Array, ...], tuple[Array, ...]]:
    """The four coordinates of each box set as ``[4, ...]`` rows: XLA:CPU reads and
    writes them far faster than strided columns of ``[..., 4]`` (about 3x on the
    gradient)."""
    return tuple(jnp.moveaxis(b1, -1, 0)), tuple(jnp.moveaxis(b2, -1, 0))


def coordinate_slices(b1: Array, b2: Array) -> tuple[tuple[Array, ...], tuple[Array, ...]]:
    """The same coordinates as slices of ``[..., 4]``: accelerators fuse the slices
    into their consumers instead of copying a transposed array."""
    return tuple(b1[..., k] for k in range(4)), tuple(b2[..., k] for k in range(4))


def _reduce(
    fn: str,
    p: _Pair,
    loss: Array,
    weight: ArrayLike | None,
    sample_weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
    axis_name: AxisName,
) -> Array:
    """Reduces the per-box ``loss``, NaN for the pairs holding an invalid box."""
    return reduce_loss(
        fn=fn,
        loss=jnp.where(p.valid, loss, jnp.nan),
        where=where,
        weight=weight,
        sample_weights=sample_weights,
        reduction=reduction,
        axis_name=axis_name,
    )


def _enclosing(p: _Pair) -> tuple[Array, Array]:
    """Width and height of the smallest box enclosing both."""
    a, g = p.a, p.b
    width = jnp.maximum(a[2], g[2]) - jnp.minimum(a[0], g[0])
    height = jnp.maximum(a[3], g[3]) - jnp.minimum(a[1], g[1])
    return width, height


def _center_penalty(p: _Pair, eps: float) -> Array:
    """Squared centre distance over the squared diagonal of the enclosing box."""
    a, g = p.a, p.b
    cw, ch = _enclosing(p)
    dx = (a[0] + a[2] - g[0] - g[2]) / 2
    dy = (a[1] + a[3] - g[1] - g[3]) / 2
    return safe_div(dx * dx + dy * dy, cw * cw + ch * ch + eps)


def box_iou_loss(
    boxes1: ArrayLike,
    boxes2: ArrayLike,
    *,
    eps: float = 1e-7,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""IoU loss: one minus the intersection over union of two boxes.

    .. math:: \ell = 1 - \frac{|A \cap B|}{|A \cup B| + \epsilon}

    Args:
      boxes1, boxes2: ``[..., 4]`` boxes ``(x1, y1, x2, y2)``, e.g. predicted and
        target, finite with x1 <= x2 and y1 <= y2 (an invalid box gives NaN).
      eps: keeps two empty boxes finite; a number >= 0.
      weight, where: broadcastable to ``[...]`` (one entry per box).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Symmetric in its arguments. Its gradient is zero when the boxes do not
    overlap; GIoU, DIoU and CIoU add terms that are not.
    References: Yu et al. (2016), "UnitBox: An Advanced Object Detection Network".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([0.0, 0.0, 2.0, 2.0])
      >>> b = jnp.array([1.0, 0.0, 3.0, 2.0])
      >>> round(float(jaxloss.box_iou_loss(a, b)), 4)
      0.6667
    """
    fn = "box_iou_loss"
    p = _pair(fn, boxes1, boxes2, where, eps)
    return _reduce(fn, p, 1.0 - p.iou, weight, sample_weights, where, reduction, axis_name)


def generalized_box_iou_loss(
    boxes1: ArrayLike,
    boxes2: ArrayLike,
    *,
    eps: float = 1e-7,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Generalized IoU loss: IoU plus the empty share of the enclosing box.

    .. math:: \ell = 1 - \mathrm{IoU} + \frac{|C| - |A \cup B|}{|C| + \epsilon}

    with :math:`C` the smallest box enclosing both.

    Args:
      boxes1, boxes2: ``[..., 4]`` boxes ``(x1, y1, x2, y2)``, finite with
        x1 <= x2 and y1 <= y2 (an invalid box gives NaN).
      eps: in both denominators, as torchvision; a number >= 0.
      weight, where: broadcastable to ``[...]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torchvision.ops.generalized_box_iou_loss`` (whose default reduction
    is ``"none"``; here it is ``"mean"``).
    References: Rezatofighi et al. (2019), "Generalized Intersection over Union".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([0.0, 0.0, 1.0, 1.0])
      >>> b = jnp.array([2.0, 0.0, 3.0, 1.0])
      >>> round(float(jaxloss.generalized_box_iou_loss(a, b)), 4)
      1.3333
    """
    fn = "generalized_box_iou_loss"
    p = _pair(fn, boxes1, boxes2, where, eps)
    cw, ch = _enclosing(p)
    area_c = cw * ch
    loss = 1.0 - p.iou + safe_div(area_c - p.union, area_c + eps)
    return _reduce(fn, p, loss, weight, sample_weights, where, reduction, axis_name)


def distance_box_iou_loss(
    boxes1: ArrayLike,
    boxes2: ArrayLike,
    *,
    eps: float = 1e-7,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Distance IoU loss: IoU plus the normalised distance between box centres.

    .. math:: \ell = 1 - \mathrm{IoU} + \frac{\rho^2(b_A, b_B)}{c^2 + \epsilon}

    with :math:`\rho` the distance between the centres and :math:`c` the diagonal
    of the enclosing box.

    Args:
      boxes1, boxes2: ``[..., 4]`` boxes ``(x1, y1, x2, y2)``, finite with
        x1 <= x2 and y1 <= y2 (an invalid box gives NaN).
      eps: in the IoU and the diagonal, as torchvision; a number >= 0.
      weight, where: broadcastable to ``[...]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torchvision.ops.distance_box_iou_loss``.
    References: Zheng et al. (2020), "Distance-IoU Loss".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([0.0, 0.0, 1.0, 1.0])
      >>> b = jnp.array([2.0, 0.0, 3.0, 1.0])
      >>> round(float(jaxloss.distance_box_iou_loss(a, b)), 4)
      1.4
    """
    fn = "distance_box_iou_loss"
    p = _pair(fn, boxes1, boxes2, where, eps)
    loss = 1.0 - p.iou + _center_penalty(p, eps)
    return _reduce(fn, p, loss, weight, sample_weights, where, reduction, axis_name)


def _aspect_angle(w: Array, h: Array) -> Array:
    """atan(w / h) for w, h >= 0, finite with a finite gradient when h or both are 0
    (torch's w / h gives inf and a NaN gradient at h = 0)."""
    both_zero = (w == 0) & (h == 0)
    return jnp.arctan2(w, jnp.where(both_zero, 1.0, h))


def complete_box_iou_loss(
    boxes1: ArrayLike,
    boxes2: ArrayLike,
    *,
    eps: float = 1e-7,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Complete IoU loss: DIoU plus an aspect-ratio consistency term.

    .. math::
        \ell = \mathrm{DIoU} + \alpha v, \quad
        v = \frac{4}{\pi^2}\Big(\arctan\frac{w_B}{h_B} - \arctan\frac{w_A}{h_A}\Big)^2, \quad
        \alpha = \frac{v}{1 - \mathrm{IoU} + v + \epsilon}

    with no gradient through :math:`\alpha` (as the paper and torchvision).

    Args:
      boxes1: ``[..., 4]`` predicted boxes; boxes2: ``[..., 4]`` target boxes (the
        aspect term is symmetric, so the order only matters for naming); finite
        with x1 <= x2 and y1 <= y2 (an invalid box gives NaN).
      eps: in the IoU, the diagonal and alpha, as torchvision; a number >= 0.
      weight, where: broadcastable to ``[...]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torchvision.ops.complete_box_iou_loss``. For zero-height boxes the
    angle is taken as ``atan2(w, h)`` (pi/2), and 0 for an empty box, where
    torchvision gives NaN gradients.
    References: Zheng et al. (2020), "Distance-IoU Loss".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([0.0, 0.0, 1.0, 1.0])
      >>> b = jnp.array([0.0, 0.0, 1.0, 2.0])
      >>> round(float(jaxloss.complete_box_iou_loss(a, b)), 4)
      0.5532
    """
    fn = "complete_box_iou_loss"
    p = _pair(fn, boxes1, boxes2, where, eps)
    a, g = p.a, p.b
    delta = _aspect_angle(g[2] - g[0], g[3] - g[1]) - _aspect_angle(a[2] - a[0], a[3] - a[1])
    v = (4.0 / math.pi**2) * delta * delta
    alpha = jax.lax.stop_gradient(safe_div(v, 1.0 - p.iou + v + eps))
    loss = 1.0 - p.iou + _center_penalty(p, eps) + alpha * v
    return _reduce(fn, p, loss, weight, sample_weights, where, reduction, axis_name)
