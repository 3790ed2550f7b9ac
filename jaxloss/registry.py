"""The catalogue of jaxloss losses: one entry per public loss.

The generic tests, the benchmarks and the CLI read this registry, so a loss
registered here is tested for jit/vmap/grad/masks/dtypes/sharding, benchmarked and
listed without any further code.

An entry's ``example(key, batch, extreme=False)`` returns an :class:`Example`:
positional arrays that all share the leading ``batch`` axis, and keyword options.
The loss's unreduced output (``reduction="none"``) also has that leading axis, so
rows can be sliced, masked, vmapped and sharded uniformly. ``extreme=True`` gives
valid but numerically hostile inputs (huge errors, zero errors, exact 0/1 values).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jax

__all__ = ["Example", "LossSpec", "all_losses", "get", "names", "register"]


@dataclasses.dataclass(frozen=True)
class Example:
    """Valid inputs for one call: ``fn(*args, **kwargs)``."""

    args: tuple[jax.Array, ...]
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # positions in ``args`` that hold differentiable floating-point inputs
    diff_argnums: tuple[int, ...] = (0,)
    # how many elements of the "none" output count in the mean (None: all of them;
    # fewer when the example holds ignored targets)
    counted: int | None = None


@dataclasses.dataclass(frozen=True)
class LossSpec:
    """Metadata for one registered loss."""

    name: str
    fn: Callable[..., jax.Array]
    family: str
    tasks: tuple[str, ...]
    input_kind: str
    example: Callable[..., Example]
    matches: str = ""
    # "mean"/"sum" are the mean/sum of the "none" output (False for e.g. RMSE)
    linear_reduction: bool = True
    # what ``weight`` means: "elementwise" (rescales elements of the "none" output),
    # "class" (a [C] vector of per-class weights), "nonlinear" (accepted, but the
    # loss is not linear in it, e.g. RMSE) or "none" (no ``weight`` argument)
    weight_kind: str = "elementwise"
    aliases: tuple[str, ...] = ()
    # position of the argument whose shape ``where`` broadcasts to (segmentation
    # masks pixels, not the per-image output); None: the unreduced output
    where_like: int | None = None
    # False when the mean still counts rows that ``where`` masks out entirely (seed
    # 000's batch means), so masking a row differs from slicing it away
    where_drops_rows: bool = True
    # rows interact (in-batch negatives, mining) or a row alone is not a valid input
    # (it has no batch axis): vmap is tested over a stack of whole batches
    batch_coupled: bool = False
    # False for a loss that is one statistic of the whole batch (no "none" output)
    unreduced: bool = True
    # False when the gradient deliberately is not the derivative (CIoU holds its
    # trade-off weight alpha constant, as the paper and torchvision do)
    true_gradient: bool = True
    # positions of arguments that are parameters shared by every row (a weight
    # matrix), not per-row data: never sliced, masked or sharded by rows
    shared_args: tuple[int, ...] = ()
    # False for a loss with a custom_vjp, which JAX differentiates in reverse mode only
    forward_mode: bool = True


_REGISTRY: dict[str, LossSpec] = {}


def register(spec: LossSpec) -> LossSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"jaxloss.registry: {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def get(name: str) -> LossSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        for spec in _REGISTRY.values():
            if name in spec.aliases:
                return spec
        raise KeyError(
            f"jaxloss.registry: no loss named {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def names(family: str | None = None) -> list[str]:
    return [s.name for s in all_losses(family)]


def all_losses(family: str | None = None) -> list[LossSpec]:
    return [s for s in _REGISTRY.values() if family is None or s.family == family]
