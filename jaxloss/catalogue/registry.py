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

from jaxloss._core.reduce import interacts

__all__ = ["Example", "LossSpec", "all_losses", "call", "get", "names", "register"]


@dataclasses.dataclass(frozen=True)
class Example:
    """Valid inputs for one call: ``fn(*args, **kwargs)``."""

    args: tuple[jax.Array, ...]
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # non-array positional arguments that come before ``args`` (a critic or a
    # feature network): never sliced, masked, differentiated or sharded
    leading: tuple[Any, ...] = ()
    # positions in ``args`` that hold differentiable floating-point inputs
    diff_argnums: tuple[int, ...] = (0,)
    # how many elements of the "none" output count in the mean (None: all of them;
    # fewer when the example holds ignored targets)
    counted: int | None = None


def call(spec: LossSpec, example: Example, args: Any = None, **overrides: Any) -> Any:
    """``spec.fn`` on ``example`` (or on ``args`` in place of its arrays), with
    ``overrides`` added to its keyword options."""
    arrays = example.args if args is None else tuple(args)
    return spec.fn(*example.leading, *arrays, **{**example.kwargs, **overrides})


@dataclasses.dataclass(frozen=True)
class LossSpec:
    """One registered loss: what it is, what it matches, and its properties.

    The properties say how the loss behaves, so that the generic tests know what
    to hold it to; each default is the common case.
    """

    name: str
    fn: Callable[..., Any]
    family: str
    tasks: tuple[str, ...]
    input_kind: str
    example: Callable[..., Example]
    matches: str = ""
    aliases: tuple[str, ...] = ()
    # "mean" and "sum" are the mean and sum of the "none" output (False: RMSE, a
    # square root of the mean)
    linear_reduction: bool = True
    # what ``weight`` means: "elementwise" (rescales elements of the "none"
    # output), "class" (a [C] vector of per-class weights), "nonlinear"
    # (accepted, but the loss is not linear in it) or "none" (no such argument)
    weight_kind: str = "elementwise"
    # ``where`` masks the elements of this argument (segmentation masks pixels,
    # not the per-image output); None: the elements of the unreduced output
    where_like: int | None = None
    # the mean leaves out rows that ``where`` masks entirely, so masking a row
    # equals slicing it away (False: the mean counts every image)
    where_drops_rows: bool = True
    # rows interact (in-batch negatives, mining) or one row alone is not a valid
    # input: vmap maps over a stack of whole batches
    batch_coupled: bool = False
    # has a "none" output (False: one statistic of the whole batch)
    unreduced: bool = True
    # the gradient is the derivative of the value (False: CIoU holds its
    # trade-off weight constant, as the paper and torchvision do)
    true_gradient: bool = True
    # rows come in consecutive groups of this size that the loss couples (GRPO's
    # completions of one prompt): row masks and slices keep whole groups
    row_group: int = 1
    # positions of arguments shared by every row (a weight matrix), never sliced,
    # masked or sharded by rows
    shared_args: tuple[int, ...] = ()
    # the targets' last axis is a length of its own (CTC's label sequences), not
    # one that must match the output's
    free_target_length: bool = False
    # differentiable in forward mode (False: a custom_vjp, reverse mode only)
    forward_mode: bool = True
    # scores a class axis against class targets (classification, segmentation,
    # language modelling): takes ``class_weights [C]``
    scores_classes: bool = False
    # the "none" output concatenates the rows of these groups of arguments, one
    # group after another (KTO: the desirable rows of arguments 0 and 2, then the
    # undesirable rows of 1 and 3), and the example gives every group as many
    # rows; empty: every per-row argument's rows are the output's rows
    row_blocks: tuple[tuple[int, ...], ...] = ()

    @property
    def examples_interact(self) -> bool:
        """Each example is scored against the rest of the batch (in-batch
        negatives, mining): no per-example loss. Marked on the loss itself."""
        return interacts(self.fn)


_REGISTRY: dict[str, LossSpec] = {}


def register(
    fn: Callable[..., Any],
    *,
    family: str,
    tasks: tuple[str, ...],
    input_kind: str,
    example: Callable[..., Example],
    matches: str = "",
    **properties: Any,
) -> LossSpec:
    """Registers the loss ``fn`` under its own name; ``properties`` are
    :class:`LossSpec` fields that differ from the common case."""
    spec = LossSpec(
        name=fn.__name__,
        fn=fn,
        family=family,
        tasks=tasks,
        input_kind=input_kind,
        example=example,
        matches=matches,
        **properties,
    )
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
