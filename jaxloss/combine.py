"""Composing losses: weighted sums that report each term, and per-example losses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.types import Array

__all__ = ["combine", "per_sample"]


def combine(
    terms: Mapping[str, tuple[Callable[..., Array], float | Array]],
) -> Callable[..., tuple[Array, dict[str, Array]]]:
    r"""A weighted sum of losses that also returns each term, for logging.

    .. math:: \mathcal L = \sum_k w_k\,\mathcal L_k(\text{args})

    Args:
      terms: ``{"name": (loss_fn, weight)}``. Every loss is called with the same
        arguments; wrap one in ``functools.partial`` or a lambda to give it its
        own options or to pick its inputs.

    Returns:
      ``f(*args, **kwargs) -> (total, {"name": unweighted term})``, ready for
      ``jax.value_and_grad(..., has_aux=True)`` in a training step.

    Seed 002's ``CombinedLoss`` (0.7 MSE + 0.3 L1) is
    ``combine({"mse": (mse_loss, 0.7), "l1": (l1_loss, 0.3)})``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.combine({"mse": (jaxloss.mse_loss, 0.7), "l1": (jaxloss.l1_loss, 0.3)})
      >>> total, parts = loss(jnp.array([2.0]), jnp.array([0.0]))
      >>> float(total), {k: float(v) for k, v in parts.items()}
      (3.4000000953674316, {'mse': 4.0, 'l1': 2.0})
    """
    if not terms:
        checks.fail("combine", "terms is empty; give at least one (loss_fn, weight)")
    for name, term in terms.items():
        if not (isinstance(term, tuple) and len(term) == 2 and callable(term[0])):
            checks.fail(
                "combine",
                f"terms[{name!r}] must be a (loss_fn, weight) pair; got {term!r}",
                TypeError,
            )
    terms = dict(terms)

    def total(*args: Any, **kwargs: Any) -> tuple[Array, dict[str, Array]]:
        values = {name: fn(*args, **kwargs) for name, (fn, _) in terms.items()}
        for name, value in values.items():
            if jnp.shape(value) != ():
                checks.fail(
                    "combine",
                    f"term {name!r} returned shape {jnp.shape(value)}; "
                    "each term must reduce to a scalar",
                )
        # asarray: sum() starts from the int 0
        result = jnp.asarray(sum(weight * values[name] for name, (_, weight) in terms.items()))
        return result, values

    return total


def per_sample(loss_fn: Callable[..., Array]) -> Callable[..., Array]:
    """One loss per example: ``loss_fn`` mapped over axis 0 of every array argument.

    Each example is passed to ``loss_fn`` on its own (without the leading axis) and
    reduced by ``loss_fn``'s own reduction, so ``per_sample(mse_loss)(p, t)`` is the
    mean squared error of each row, ``[B]``. Keyword arguments are shared by all
    examples. For DP-SGD (per-example gradients: ``jax.vmap(jax.grad(...))``) and
    importance weighting.

    Args:
      loss_fn: a loss that reduces one example to a scalar.

    Returns:
      ``f(*args, **kwargs) -> [B]``: array arguments share the leading axis ``B``;
      scalars and non-array arguments are passed to every example unchanged.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, t = jnp.array([[1.0, 1.0], [0.0, 2.0]]), jnp.zeros((2, 2))
      >>> jaxloss.per_sample(jaxloss.mse_loss)(p, t)
      Array([1., 2.], dtype=float32)
    """

    def mapped(*args: Any, **kwargs: Any) -> Array:
        arrays = [hasattr(a, "shape") for a in args]
        if not any(arrays):
            checks.fail("per_sample", "needs at least one array argument to map over")
        sizes = {
            jnp.shape(a)[0]
            for a, is_array in zip(args, arrays, strict=True)
            if is_array and jnp.ndim(a)
        }
        if len(sizes) > 1:
            checks.fail(
                "per_sample", f"array arguments disagree on the batch size: {sorted(sizes)}"
            )
        axes = tuple(
            0 if is_array and jnp.ndim(a) else None
            for a, is_array in zip(args, arrays, strict=True)
        )
        return jax.vmap(lambda *row: loss_fn(*row, **kwargs), in_axes=axes)(*args)

    return mapped
