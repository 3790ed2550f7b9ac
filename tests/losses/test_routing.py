"""Router losses against torch re-implementations of transformers'
``load_balancing_loss_func`` (models/mixtral/modeling_mixtral.py) and
``router_z_loss_func`` (models/switch_transformers): values, gradients, masks,
top-k routing, out-of-range experts and extreme logits."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from helpers import assert_close

import jaxloss


def hf_load_balancing_loss(gate_logits, num_experts, top_k, attention_mask=None):
    """transformers' Mixtral ``load_balancing_loss_func`` for one layer's
    ``[batch * seq, E]`` logits (the tuple of layers concatenated is one layer here)."""
    routing_weights = torch.nn.functional.softmax(gate_logits, dim=-1)
    _, selected_experts = torch.topk(routing_weights, top_k, dim=-1)
    expert_mask = torch.nn.functional.one_hot(selected_experts, num_experts)
    if attention_mask is None:
        tokens_per_expert = torch.mean(expert_mask.float(), dim=0)
        router_prob_per_expert = torch.mean(routing_weights, dim=0)
    else:
        m = attention_mask.reshape(-1).to(routing_weights.dtype)
        expert_attention_mask = m[:, None, None].expand(expert_mask.shape)
        tokens_per_expert = torch.sum(expert_mask * expert_attention_mask, dim=0) / torch.sum(
            expert_attention_mask, dim=0
        )
        router_per_expert_attention_mask = m[:, None].expand(routing_weights.shape)
        router_prob_per_expert = torch.sum(
            routing_weights * router_per_expert_attention_mask, dim=0
        ) / torch.sum(router_per_expert_attention_mask, dim=0)
    overall_loss = torch.sum(tokens_per_expert * router_prob_per_expert.unsqueeze(0))
    return overall_loss * num_experts, selected_experts


def hf_router_z_loss(router_logits):
    """transformers' ``router_z_loss_func`` per token (before its mean)."""
    return torch.logsumexp(router_logits, dim=-1) ** 2


@pytest.mark.parametrize(("top_k", "masked"), [(1, False), (2, True), (3, False)])
def test_load_balancing_matches_transformers(top_k, masked):
    rng = np.random.default_rng(top_k)
    tokens, experts = 24, 6
    logits = rng.standard_normal((tokens, experts)) * 2
    mask = rng.random(tokens) < 0.7 if masked else None
    t = torch.tensor(logits, requires_grad=True)
    expected, selected = hf_load_balancing_loss(
        t, experts, top_k, None if mask is None else torch.tensor(mask)
    )
    expected.backward()
    idx = jnp.asarray(selected.numpy(), jnp.int32)

    def f(x, reduction="mean"):
        return jaxloss.load_balancing_loss(
            x, idx, num_experts=experts, where=mask, reduction=reduction
        )

    @jax.jit
    def run(x):
        # uniform routing scores k whatever the choices; "sum" is the same statistic
        return jax.value_and_grad(f)(x), f(jnp.zeros_like(x)), f(x, "sum")

    (value, grad), uniform, total = run(jnp.asarray(logits, jnp.float32))
    assert_close(value, expected.item(), rtol=1e-5)
    assert t.grad is not None
    assert_close(grad, t.grad.numpy(), rtol=1e-4, atol=1e-7)
    assert_close(uniform, float(top_k), rtol=1e-6)
    assert_close(total, value)


def test_load_balancing_balance_collapse_extremes_and_bad_ids():
    lb = jax.jit(jaxloss.load_balancing_loss, static_argnames="num_experts")
    balanced = jnp.array([[0, 1], [2, 3]] * 4)
    assert_close(lb(jnp.zeros((8, 4)), balanced, num_experts=4), 2.0)
    collapsed = jnp.array([[10.0, 9.0, 0.0, 0.0]] * 8)
    assert float(lb(collapsed, jnp.array([[0, 1]] * 8), num_experts=4)) > 3.9
    extreme = jnp.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [0.0, 0.0, 0.0], [0.0, 1e4, 0.0]])
    idx = jnp.array([[0], [2], [1], [1]])
    chex.assert_tree_all_finite(
        jax.jit(jax.value_and_grad(lambda x: jaxloss.load_balancing_loss(x, idx, num_experts=3)))(
            extreme
        )
    )
    # an expert id out of range gives NaN, unless its token is masked
    logits = jnp.zeros((4, 3))
    bad = jnp.array([[0], [1], [3], [2]])
    assert np.isnan(float(lb(logits, bad, num_experts=3)))
    where = jnp.array([True, True, False, True])
    assert np.isfinite(float(lb(logits, bad, num_experts=3, where=where)))
    with pytest.raises(
        Exception,
        match=r"load_balancing_loss: expert_indices must be an expert id in \[0, 3\); got 3",
    ):
        jaxloss.checked(jaxloss.load_balancing_loss)(logits, bad, num_experts=3)
    with pytest.raises(
        ValueError, match=r"^jaxloss\.load_balancing_loss: router_logits has 3 experts"
    ):
        jaxloss.load_balancing_loss(logits, bad, num_experts=4)
    with pytest.raises(
        TypeError, match=r"^jaxloss\.load_balancing_loss: expert_indices must be integer"
    ):
        jaxloss.load_balancing_loss(logits, bad.astype(jnp.float32), num_experts=3)
    with pytest.raises(
        ValueError, match=r"^jaxloss\.load_balancing_loss: expert_indices has shape \(3, 1\)"
    ):
        jaxloss.load_balancing_loss(logits, bad[:3], num_experts=3)
    with pytest.raises(ValueError, match=r"reduction must be one of 'mean', 'sum'; got 'none'"):
        jaxloss.load_balancing_loss(logits, bad, num_experts=3, reduction="none")


def test_router_z_loss_matches_transformers():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((3, 5, 7)) * 3
    where = rng.random((3, 5)) < 0.7
    weight = rng.uniform(0.5, 2.0, (3, 5))
    reductions = ("mean", "sum", "none")

    @jax.jit
    def run(x):
        def f(x, reduction):
            return jaxloss.router_z_loss(x, where=where, weight=weight, reduction=reduction)

        return [(f(x, r), jax.grad(lambda x, r=r: jnp.sum(f(x, r)))(x)) for r in reductions]

    for reduction, (value, grad) in zip(
        reductions, run(jnp.asarray(logits, jnp.float32)), strict=True
    ):
        t = torch.tensor(logits, requires_grad=True)
        per_token = hf_router_z_loss(t) * torch.tensor(weight * where)
        expected = {
            "none": per_token,
            "sum": per_token.sum(),
            "mean": per_token.sum() / where.sum(),
        }[reduction]
        expected.sum().backward()
        assert_close(value, expected.detach().numpy(), rtol=1e-5)
        assert t.grad is not None
        assert_close(grad, t.grad.numpy(), rtol=1e-5, atol=1e-7)
    # transformers' function: the mean over every token of a [groups, tokens, E] batch
    assert_close(
        jaxloss.router_z_loss(logits), hf_router_z_loss(torch.tensor(logits)).mean().item()
    )


def test_router_z_loss_extremes():
    logits = jnp.array([[1e4, -1e4], [-1e4, -1e4], [0.0, 0.0]])
    value, grad = jax.jit(jax.value_and_grad(jaxloss.router_z_loss))(logits)
    chex.assert_tree_all_finite((value, grad))
    lse = np.array([1e4, -1e4 + np.log(2.0), np.log(2.0)])
    assert_close(value, np.mean(lse**2), rtol=1e-6)
