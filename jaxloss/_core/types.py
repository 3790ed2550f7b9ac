"""The types every jaxloss signature uses, written once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

import jax
import numpy as np

Array: TypeAlias = jax.Array
"""What a loss returns: a JAX array."""

ArrayLike: TypeAlias = jax.Array | np.ndarray | np.bool_ | np.number | bool | int | float
"""What a loss accepts: anything ``jnp.asarray`` turns into an array."""

Scalar: TypeAlias = float | int | jax.Array
"""A hyperparameter: a Python number, or an array (traced under ``jit`` or ``grad``)."""

AxisName: TypeAlias = str | Sequence[str] | None
"""The ``shard_map``/``pmap`` axis (or axes) a batch statistic is taken over."""

Reduction: TypeAlias = Literal["mean", "sum", "none"]
"""How the unreduced loss is reduced."""

REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")

__all__ = ["REDUCTIONS", "Array", "ArrayLike", "AxisName", "Reduction", "Scalar"]
