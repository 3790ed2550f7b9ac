"""Example inputs and registrations of the bounding-box losses."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core.types import Array
from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.detection import (
    box_iou_loss,
    complete_box_iou_loss,
    distance_box_iou_loss,
    generalized_box_iou_loss,
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
