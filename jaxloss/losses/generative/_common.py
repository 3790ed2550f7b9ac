"""Helpers shared by the generative losses."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core.types import Array


def sum_per_sample(x: Array) -> Array:  # spine-candidate
    """``[B, ...]`` -> ``[B]``: the sum over every non-batch axis."""
    return jnp.sum(x, tuple(range(1, x.ndim)))


def mean_per_sample(x: Array) -> Array:  # spine-candidate
    """``[B, ...]`` -> ``[B]``: the mean over every non-batch axis."""
    return jnp.mean(x, tuple(range(1, x.ndim)))
