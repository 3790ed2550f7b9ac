"""Composing losses: weighted sums that report each term, and per-example losses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.reduce import interacts
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

    A common ``CombinedLoss`` (0.7 MSE + 0.3 L1) is
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
    """One loss per example: entry ``i`` is ``loss_fn`` on example ``i`` as a batch of one.

    ``per_sample(fn)(x, t)[i]`` equals ``fn(x[i:i+1], t[i:i+1])``, computed for every
    ``i`` at once with ``jax.vmap``. So it equals ``reduction="none"`` wherever that
    gives one value per example, and it is right for losses defined per image or
    per sample (segmentation overlap, VAE, diffusion), where a bare ``jax.vmap``
    would hand the loss an image without its batch axis. For DP-SGD (per-example
    gradients) and importance weighting.

    Args:
      loss_fn: a loss whose examples are independent. Losses whose examples
        interact (in-batch negatives, mining, ranking over the batch) have no
        per-example loss and are refused.

    Returns:
      ``f(*args, **kwargs) -> [B]``: positional array arguments share the leading
      axis ``B`` and are split into examples; scalars, non-array arguments and
      keyword arguments are passed to every example unchanged.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, t = jnp.array([[1.0, 1.0], [0.0, 2.0]]), jnp.zeros((2, 2))
      >>> jaxloss.per_sample(jaxloss.mse_loss)(p, t)
      Array([1., 2.], dtype=float32)
    """
    base = getattr(loss_fn, "func", loss_fn)  # functools.partial of a loss
    name = getattr(base, "__name__", "loss_fn")
    if interacts(base):
        checks.fail(
            "per_sample",
            f"{name}'s examples interact (each is scored against the rest of the batch), "
            "so it has no per-example loss; use reduction='none' for its per-row terms",
        )

    def mapped(*args: Any, **kwargs: Any) -> Array:
        arrays = [hasattr(a, "shape") and jnp.ndim(a) > 0 for a in args]
        if not any(arrays):
            checks.fail("per_sample", "needs at least one array argument to map over")
        sizes = {jnp.shape(a)[0] for a, is_array in zip(args, arrays, strict=True) if is_array}
        if len(sizes) > 1:
            checks.fail(
                "per_sample", f"array arguments disagree on the batch size: {sorted(sizes)}"
            )
        axes = tuple(0 if is_array else None for is_array in arrays)

        def one(*example: Any) -> Array:
            batch_of_one = (
                jnp.expand_dims(a, 0) if is_array else a
                for a, is_array in zip(example, arrays, strict=True)
            )
            return loss_fn(*batch_of_one, **kwargs)

        return jax.vmap(one, in_axes=axes)(*args)

    return mapped
