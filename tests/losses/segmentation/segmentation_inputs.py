"""Inputs shared by the segmentation tests: logits, targets and valid-pixel masks
for each mode, and a float32 jitted value-and-gradient."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss

OVERLAP = {
    "dice": jaxloss.dice_loss,
    "tversky": jaxloss.tversky_loss,
    "focal_tversky": jaxloss.focal_tversky_loss,
    "jaccard": jaxloss.jaccard_loss,
    "generalized_dice": jaxloss.generalized_dice_loss,
}
MODES = ("binary", "multiclass", "multiclass_soft", "multilabel")
K = 4  # classes


def jax_value_grad(fn, x, *args, **kwargs):
    x = jnp.asarray(x, jnp.float32)
    return jax.jit(jax.value_and_grad(lambda a: fn(a, *args, **kwargs)))(x)


def inputs(mode, rng, shape=(3, 5, 4), void=True):
    """Logits, targets and a valid-pixel mask for ``mode``; one image has only a
    few valid pixels, and (multi-class) a few void labels."""
    b = shape[0]
    if mode == "binary":
        x = 3 * rng.standard_normal(shape)
        t = (rng.random(shape) < 0.2).astype(np.float32)
    else:
        x = 3 * rng.standard_normal((*shape, K))
        if mode == "multilabel":
            t = (rng.random((*shape, K)) < 0.3).astype(np.float32)
        elif mode == "multiclass_soft":
            t = rng.dirichlet(np.ones(K), size=shape).astype(np.float32)
        else:
            t = rng.integers(0, K, size=shape)
    mask = rng.random(shape) < 0.7
    mask[b - 1] = False
    mask[b - 1, 0, :2] = True
    if mode == "multilabel":
        mask = np.broadcast_to(mask[..., None], (*shape, K)).copy()
        mask[0, ..., 1] = False  # a whole class void in one image
    if mode == "multiclass" and void:
        t = np.where(rng.random(shape) < 0.1, -100, t)
    return x, t, mask


def base_mode(mode):
    return "multiclass" if mode.startswith("multiclass") else mode
