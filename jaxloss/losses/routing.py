"""Auxiliary losses of mixture-of-experts routers: the Switch / Mixtral
load-balancing loss and the ST-MoE router z-loss.

Router logits are ``[T, E]``: one row per token, one column per expert. The
load-balancing loss is one statistic of the whole batch of tokens (with
``axis_name``, of every device's tokens); the z-loss is a mean over tokens.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import safe_div, upcast
from jaxloss._core.reduce import (
    examples_interact,
    fill_masked,
    mask_of,
    mask_weights,
    reduce_loss,
)
from jaxloss._core.sharding import psum
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["load_balancing_loss", "router_z_loss"]


@examples_interact
def load_balancing_loss(
    router_logits: ArrayLike,
    expert_indices: ArrayLike,
    *,
    num_experts: int,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""The auxiliary load-balancing loss of Switch Transformer and Mixtral.

    .. math::
        \mathcal{L} = E \sum_{e=1}^{E} f_e P_e, \qquad
        f_e = \frac{1}{T}\sum_{t} \#\{j : k_{t,j} = e\}, \qquad
        P_e = \frac{1}{T}\sum_t \operatorname{softmax}(z_t)_e

    over the T (unmasked) tokens, with :math:`k_{t,j}` the experts each token was
    routed to. It is :math:`k` (the number of experts per token) when routing is
    uniform and grows as tokens pile onto few experts; the gradient flows through
    :math:`P` only (the routing choices are discrete).

    Args:
      router_logits: ``[T, E]`` router logits, one row per token.
      expert_indices: ``[T, k]`` integer ids in ``[0, E)`` of the experts each
        token was dispatched to (the router's top-k). An id out of range gives NaN.
      num_experts: E, the number of experts; must equal ``router_logits``' last axis.
      where: boolean ``[T]`` (or ``[T, 1]``), False for tokens to leave out
        (padding: transformers' ``attention_mask``).
      reduction: ``"mean"`` or ``"sum"``, the same value: the loss is one statistic
        of the batch (f and P are batch means), with no per-token loss.
      axis_name: inside ``shard_map``/``pmap``, f and P are means over every
        device's tokens (``psum`` of sums and counts), so the loss equals the
        single-device one on the global batch.

    Returns:
      A scalar (0 when no token is left).

    Matches transformers' ``load_balancing_loss_func``
    (``src/transformers/models/mixtral/modeling_mixtral.py``) for one layer's logits
    and ``top_k = k``: there ``f_e`` counts routing choices per token, so it sums
    to k over the experts; with k = 1 this is Switch Transformer's loss. For
    several layers, call it per layer and average, or concatenate the layers'
    tokens as transformers does.
    References: Fedus et al. (2021), "Switch Transformers" (eqs. 4-6); Jiang et
    al. (2024), "Mixtral of Experts".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.zeros((4, 2))
      >>> idx = jnp.array([[0], [1], [0], [1]])
      >>> float(jaxloss.load_balancing_loss(logits, idx, num_experts=2))
      1.0
    """
    fn = "load_balancing_loss"
    checks.check_reduction(fn, reduction, ("mean", "sum"))
    checks.check_integer(fn, "num_experts", num_experts)
    logits, indices = jnp.asarray(router_logits), jnp.asarray(expert_indices)
    checks.check_floating(fn, "router_logits", logits)
    checks.check_rank(fn, "router_logits", logits, 2)
    if logits.shape[-1] != num_experts:
        checks.fail(
            fn,
            f"router_logits has {logits.shape[-1]} experts on its last axis but "
            f"num_experts={num_experts}; expected shape (T, {num_experts})",
        )
    if not jnp.issubdtype(indices.dtype, jnp.integer):
        checks.fail(
            fn, f"expert_indices must be integer expert ids; got dtype {indices.dtype}", TypeError
        )
    if indices.ndim != 2 or indices.shape[0] != logits.shape[0] or indices.shape[1] < 1:
        checks.fail(
            fn,
            f"expert_indices has shape {indices.shape} but router_logits has shape "
            f"{logits.shape}; expected ({logits.shape[0]}, k) with k >= 1, the experts "
            "of each token",
        )
    # [T] or [T, 1]: one flag per token
    mask = mask_of(fn, where, (logits.shape[0], 1))
    mask = None if mask is None else mask[:, 0]
    in_range = (indices >= 0) & (indices < num_experts)
    valid_rows = jnp.ones(indices.shape[:1], bool) if mask is None else mask
    checks.require(
        fn,
        "expert_indices",
        in_range | ~valid_rows[:, None],
        indices,
        f"an expert id in [0, {num_experts})",
    )
    (x,) = upcast(logits)
    x = fill_masked(None if mask is None else mask[:, None], x, 0.0)
    tokens = mask_weights(mask, x.shape[:1], x.dtype)
    probs = jax.nn.softmax(x, axis=-1) * tokens[:, None]
    chosen = jax.nn.one_hot(indices, num_experts, dtype=x.dtype) * tokens[:, None, None]
    bad = jnp.sum(jnp.where(in_range, 0.0, tokens[:, None]))
    counts, prob_sums, total, bad = psum(
        (jnp.sum(chosen, axis=(0, 1)), jnp.sum(probs, axis=0), jnp.sum(tokens), bad), axis_name
    )
    f, p = safe_div(counts, total), safe_div(prob_sums, total)
    loss = num_experts * jnp.sum(f * p)
    return jnp.where(bad > 0, jnp.nan, loss)


def router_z_loss(
    router_logits: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""The router z-loss of ST-MoE: keeps router logits small, for stability.

    .. math:: \ell_t = \Big(\log\sum_{e} e^{z_{t,e}}\Big)^2

    averaged over tokens.

    Args:
      router_logits: ``[..., E]`` router logits (``[T, E]``, or ``[B, S, E]``).
      weight: aligned with the leading axes of ``[...]``; rescales each token's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[T]``); rescales
        each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[...]``; False tokens
        (padding) are left out.
      reduction: ``"mean"`` (over unmasked tokens), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` (one value per token) for ``reduction="none"``.

    Matches transformers' ``router_z_loss_func``
    (``src/transformers/models/switch_transformers/modeling_switch_transformers.py``)
    and ST-MoE's ``router_z_loss`` in Mesh TensorFlow. The logsumexp is shifted by
    the row maximum, so logits of +-1e4 stay finite.
    References: Zoph et al. (2022), "ST-MoE: Designing Stable and Transferable
    Sparse Expert Models" (eq. 5).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.router_z_loss(jnp.zeros((3, 4)))), 4)
      1.9218
    """
    fn = "router_z_loss"
    logits = jnp.asarray(router_logits)
    checks.check_floating(fn, "router_logits", logits)
    if logits.ndim < 1:
        checks.fail(
            fn, f"router_logits must have an expert axis [..., E]; got shape {logits.shape}"
        )
    (x,) = upcast(logits)
    mask = mask_of(fn, where, x.shape[:-1])
    x = fill_masked(None if mask is None else mask[..., None], x, 0.0)
    loss = jnp.square(jax.nn.logsumexp(x, axis=-1))
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )
