"""Example inputs and registrations of the detection losses: boxes and dense scores."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core.types import Array
from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.detection import (
    box_iou_loss,
    complete_box_iou_loss,
    distance_box_iou_loss,
    distribution_focal_loss,
    generalized_box_iou_loss,
    quality_focal_loss,
    varifocal_loss,
)


def boxes_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """``[batch, 4]`` predicted and target boxes around the unit square; extreme
    boxes are identical, disjoint, zero-area (a point and a line) or far apart."""
    k1, k2, k3 = jax.random.split(key, 3)
    corner = jax.random.uniform(k1, (batch, 2), maxval=10.0)
    size = jax.random.uniform(k2, (batch, 2), minval=0.5, maxval=5.0)
    target = jnp.concatenate([corner, corner + size], axis=-1)
    jitter = jax.random.normal(k3, (batch, 4)) * jnp.concatenate([size, size], -1) * 0.3
    pred = target + jitter
    pred = jnp.concatenate(
        [jnp.minimum(pred[:, :2], pred[:, 2:]), jnp.maximum(pred[:, :2], pred[:, 2:])], -1
    )
    if extreme:
        special = jnp.array(
            [
                [0.0, 0.0, 1.0, 1.0],  # identical to its target
                [5.0, 5.0, 5.0, 5.0],  # a point
                [2.0, 3.0, 9.0, 3.0],  # a line (zero height)
                [1e4, 1e4, 1e4 + 1.0, 1e4 + 1.0],  # far away
            ]
        )
        pred = pred.at[: len(special)].set(special)
        target = target.at[0].set(special[0]).at[1].set(special[1])
    return Example((pred, target), diff_argnums=(0, 1))


register(
    box_iou_loss,
    family="detection",
    tasks=("detection", "boxes"),
    input_kind="boxes1, boxes2",
    example=boxes_example,
    matches="1 - IoU",
)
register(
    generalized_box_iou_loss,
    family="detection",
    tasks=("detection", "boxes"),
    input_kind="boxes1, boxes2",
    example=boxes_example,
    matches="torchvision ops.generalized_box_iou_loss",
)
register(
    distance_box_iou_loss,
    family="detection",
    tasks=("detection", "boxes"),
    input_kind="boxes1, boxes2",
    example=boxes_example,
    matches="torchvision ops.distance_box_iou_loss",
)
register(
    complete_box_iou_loss,
    family="detection",
    tasks=("detection", "boxes"),
    input_kind="boxes1, boxes2",
    example=boxes_example,
    matches="torchvision ops.complete_box_iou_loss",
    # alpha is held constant, as the paper and torchvision do
    true_gradient=False,
)


_HOSTILE = jnp.array([1e4, -1e4, 30.0, -30.0, 0.0])


def quality_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """``[batch, 8]`` class logits and IoU-aware targets: a third of the rows are
    positives, with the IoU (in [0.2, 1]) at one class and 0 elsewhere; the rest
    are background (all 0). Extreme logits are +-1e4, +-30 and 0, with IoUs of
    exactly 1."""
    kx, kp, kc, kq = jax.random.split(key, 4)
    shape = (batch, 8)
    x = 2.0 * jax.random.normal(kx, shape)
    if extreme:
        x = jnp.resize(_HOSTILE, shape)
    positive = jax.random.bernoulli(kp, 1 / 3, (batch,))
    cls = jax.random.randint(kc, (batch,), 0, shape[1])
    iou = jax.random.uniform(kq, (batch,), minval=0.2, maxval=1.0)
    if extreme:
        iou = jnp.ones_like(iou)
    y = jnp.where(positive[:, None] & (jnp.arange(shape[1]) == cls[:, None]), iou[:, None], 0.0)
    return Example((x, y))


def distribution_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """``[batch, 4, 8]`` logits over 8 bins for the four sides of a box and
    continuous targets in [0, 7]; extreme logits are +-1e4, +-30 and 0, with
    targets exactly 0, 7 and whole numbers."""
    kx, kt = jax.random.split(key)
    x = jax.random.normal(kx, (batch, 4, 8))
    t = jax.random.uniform(kt, (batch, 4), maxval=7.0)
    if extreme:
        x = jnp.resize(_HOSTILE, x.shape)
        t = jnp.resize(jnp.array([0.0, 7.0, 3.0, 6.5, 0.25]), t.shape)
    return Example((x, t))


register(
    varifocal_loss,
    family="detection",
    tasks=("detection", "dense", "imbalance"),
    input_kind="logits, targets",
    example=quality_example,
    matches="mmdet varifocal_loss (iou_weighted=True)",
)
register(
    quality_focal_loss,
    family="detection",
    tasks=("detection", "dense", "imbalance"),
    input_kind="logits, targets",
    example=quality_example,
    matches="mmdet quality_focal_loss_tensor_target (elementwise)",
)
register(
    distribution_focal_loss,
    family="detection",
    tasks=("detection", "dense", "boxes"),
    input_kind="logits, targets",
    example=distribution_example,
    matches="mmdet distribution_focal_loss",
)
