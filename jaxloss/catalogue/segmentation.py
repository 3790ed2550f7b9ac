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
    boundary_loss,
    cldice_loss,
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
    scores_classes=True,
)
register(
    tversky_loss,
    family="segmentation",
    tasks=("segmentation", "imbalance", "recall"),
    input_kind="predictions, targets",
    example=functools.partial(segmentation_example, layout="multilabel", mode="multilabel"),
    matches="MONAI TverskyLoss, optax dice_loss(alpha, beta)",
    where_like=1,
    scores_classes=True,
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
    scores_classes=True,
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
    scores_classes=True,
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
    scores_classes=True,
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
    scores_classes=True,
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


def distance_map_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """Binary ``[batch, 16, 16]`` logits and the signed distance maps of a disc per
    image (negative inside, the pixel's distance to the circle). Extreme logits
    are ±1e4, ±30 and 0, with maps of ±1e3."""
    kx, kc, kr = jax.random.split(key, 3)
    shape = (batch, 16, 16)
    x = 3.0 * jax.random.normal(kx, shape)
    if extreme:
        x = jnp.resize(jnp.array([1e4, -1e4, 30.0, -30.0, 0.0]), shape)
    centre = jax.random.uniform(kc, (batch, 1, 1, 2), minval=4.0, maxval=12.0)
    radius = jax.random.uniform(kr, (batch, 1, 1), minval=2.0, maxval=5.0)
    grid = jnp.stack(jnp.meshgrid(jnp.arange(16.0), jnp.arange(16.0), indexing="ij"), -1)
    d = jnp.sqrt(jnp.sum((grid - centre) ** 2, -1)) - radius
    if extreme:
        d = 1e3 * jnp.sign(d)
    return Example((x, d))


def thin_structure_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """Binary ``[batch, 12, 12]`` logits and targets made of one-pixel-wide lines
    (a random row and a random column per image). Extreme logits are ±1e4, ±30
    and 0, with an empty target, an empty prediction and a full target."""
    kx, kr, kc = jax.random.split(key, 3)
    shape = (batch, 12, 12)
    x = 2.0 * jax.random.normal(kx, shape)
    row = jax.random.randint(kr, (batch, 1, 1), 0, 12)
    col = jax.random.randint(kc, (batch, 1, 1), 0, 12)
    index = jnp.arange(12)
    y = ((index[None, :, None] == row) | (index[None, None, :] == col)).astype(jnp.float32)
    if extreme:
        x = jnp.resize(jnp.array([1e4, -1e4, 30.0, -30.0, 0.0]), shape)
        y = y.at[0].set(0.0).at[1].set(0.0).at[2].set(1.0)
        x = x.at[1].set(-1e4)
    return Example((x, y))


register(
    boundary_loss,
    family="segmentation",
    tasks=("segmentation", "imbalance", "boundaries"),
    input_kind="logits, distance_maps",
    example=distance_map_example,
    matches="Kervadec et al. SurfaceLoss",
    where_like=1,
)
register(
    cldice_loss,
    family="segmentation",
    tasks=("segmentation", "thin-structures", "topology"),
    input_kind="logits, targets",
    example=thin_structure_example,
    matches="official soft clDice (per image)",
    where_like=1,
    # a row alone, one [H, W] image, has no batch axis: the loss takes 3-d or 4-d input
    batch_coupled=True,
)
