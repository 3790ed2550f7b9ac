"""Registrations of the segmentation losses.

Every segmentation loss masks pixels, not its per-image output, so each entry
says ``where_like=1``: ``where`` has the shape of argument 1, the targets.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from jaxloss._core.types import Array
from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.segmentation import (
    bce_dice_loss,
    dice_loss,
    focal_and_tversky_loss,
    focal_tversky_loss,
    generalized_dice_loss,
    jaccard_loss,
    lovasz_hinge_loss,
    lovasz_softmax_loss,
    tversky_loss,
)


def segmentation_example(
    key: Array,
    batch: int,
    extreme: bool = False,
    *,
    layout: str = "binary",
    ignore: bool = False,
    channel_first: bool = False,
    **kwargs: Any,
) -> Example:
    """Binary ``[batch, 16, 16]`` logits with ~10% positive pixels, or ``[batch, 8, 8, 4]``
    logits with class indices (``layout="multiclass"``; 10% void pixels with
    ``ignore``) or 0/1 targets (``"multilabel"``). Extreme logits are ±1e4, ±30 and
    0, with an image whose target is empty, one whose target and prediction are
    both empty and one whose target is full. ``channel_first`` lays the logits
    (and float targets) out as ``[batch, 4, 8, 8]`` and passes ``axis=-3``, which
    names the class axis of one image too. ``kwargs`` are the loss's options."""
    kx, kt, ki = jax.random.split(key, 3)
    shape = (batch, 16, 16) if layout == "binary" else (batch, 8, 8, 4)
    if extreme:
        x = jnp.resize(jnp.array([1e4, -1e4, 30.0, -30.0, 0.0]), shape)
    else:
        x = 3.0 * jax.random.normal(kx, shape)
    if layout == "multiclass":
        y = jax.random.randint(kt, shape[:-1], 0, shape[-1])
        if ignore:  # the first pixel stays valid, so every image counts
            void = jax.random.bernoulli(ki, 0.1, y.shape).at[:, 0, 0].set(False)
            y = jnp.where(void, -100, y)
        if extreme:
            y = y.at[0].set(0).at[1].set(shape[-1] - 1)
        if channel_first:
            return Example((jnp.moveaxis(x, -1, 1), y), {**kwargs, "axis": -3})
        return Example((x, y), kwargs)
    y = jax.random.bernoulli(kt, 0.1 if layout == "binary" else 0.3, shape).astype(jnp.float32)
    if extreme:
        y = y.at[0].set(0.0).at[1].set(0.0).at[2].set(1.0)
        x = x.at[1].set(-1e4)
    return Example((x, y), kwargs)


register(
    dice_loss,
    family="segmentation",
    tasks=("segmentation", "imbalance"),
    input_kind="predictions, targets",
    example=segmentation_example,
    matches="MONAI DiceLoss, optax dice_loss",
    where_like=1,
)
register(
    tversky_loss,
    family="segmentation",
    tasks=("segmentation", "imbalance", "recall"),
    input_kind="predictions, targets",
    example=functools.partial(segmentation_example, layout="multilabel", mode="multilabel"),
    matches="MONAI TverskyLoss, optax dice_loss(alpha, beta)",
    where_like=1,
)
register(
    focal_tversky_loss,
    family="segmentation",
    tasks=("segmentation", "imbalance", "recall"),
    input_kind="predictions, targets",
    example=functools.partial(
        segmentation_example, layout="multiclass", ignore=True, mode="multiclass"
    ),
    matches="Abraham & Khan (2019)",
    where_like=1,
)
register(
    jaccard_loss,
    family="segmentation",
    tasks=("segmentation",),
    input_kind="predictions, targets",
    example=functools.partial(
        segmentation_example,
        layout="multiclass",
        ignore=True,
        mode="multiclass",
        include_background=False,
    ),
    matches="smp JaccardLoss",
    where_like=1,
)
register(
    generalized_dice_loss,
    family="segmentation",
    tasks=("segmentation", "imbalance"),
    input_kind="predictions, targets",
    example=functools.partial(
        segmentation_example, layout="multiclass", ignore=True, channel_first=True
    ),
    matches="MONAI GeneralizedDiceLoss",
    where_like=1,
)
register(
    lovasz_hinge_loss,
    family="segmentation",
    tasks=("segmentation", "boundaries"),
    input_kind="logits, targets",
    example=segmentation_example,
    matches="smp LovaszLoss (binary)",
    where_like=1,
)
register(
    lovasz_softmax_loss,
    family="segmentation",
    tasks=("segmentation", "boundaries"),
    input_kind="predictions, targets",
    example=functools.partial(segmentation_example, layout="multiclass", ignore=True),
    matches="smp LovaszLoss (multiclass)",
    where_like=1,
)
register(
    bce_dice_loss,
    family="segmentation",
    tasks=("segmentation", "imbalance"),
    input_kind="logits, targets",
    example=segmentation_example,
    matches="BCE + Dice (smp/MONAI DiceCELoss style)",
    weight_kind="none",
    where_like=1,
    where_drops_rows=False,
)
register(
    focal_and_tversky_loss,
    family="segmentation",
    tasks=("segmentation", "imbalance"),
    input_kind="logits, targets",
    example=segmentation_example,
    matches="focal + Tversky (Abraham & Khan 2019)",
    weight_kind="none",
    where_like=1,
    where_drops_rows=False,
)
