"""ORPO, SimPO, KTO and GRPO against torch re-implementations of TRL's formulas
(orpo_trainer.py, cpo_trainer.py, kto_trainer.py, grpo_trainer.py): values and
gradients in every reduction, masks, weights, and their hard cases (log-probabilities
of exactly 0, unpaired batches, zero-variance reward groups, sharded groups)."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

import jaxloss

REDUCTIONS = ("mean", "sum", "none")


def _t(x, grad=False):
    return torch.tensor(np.asarray(x, np.float64), requires_grad=grad)


def _reduce(losses, reduction, where=None, weight=None):
    """The jaxloss reduction of a torch vector of losses."""
    keep = torch.ones_like(losses) if where is None else _t(where)
    w = torch.ones_like(losses) if weight is None else _t(weight)
    out = losses * w * keep
    if reduction == "none":
        return out
    return out.sum() if reduction == "sum" else out.sum() / keep.sum()


def _compare(jax_loss, torch_loss, arrays, diff):
    """``jax_loss(reduction, *arrays)`` against ``torch_loss(reduction, *tensors)``
    in every reduction: values, and gradients of their sums w.r.t. the arrays at
    positions ``diff`` (float32 in JAX, float64 in torch). One compilation."""
    inputs = [
        jnp.asarray(a, jnp.float32) if a.dtype.kind == "f" else jnp.asarray(a) for a in arrays
    ]

    @jax.jit
    def run(*args):
        out = {}
        for reduction in REDUCTIONS:

            def f(*d, reduction=reduction):
                full = list(args)
                for i, v in zip(diff, d, strict=True):
                    full[i] = v
                return jax_loss(reduction, *full)

            d = [args[i] for i in diff]
            grads = jax.grad(lambda *d, f=f: jnp.sum(f(*d)), tuple(range(len(diff))))(*d)
            out[reduction] = (f(*d), grads)
        return out

    got = run(*inputs)
    for reduction in REDUCTIONS:
        tensors = [
            _t(a, i in diff) if a.dtype.kind == "f" else torch.tensor(a)
            for i, a in enumerate(arrays)
        ]
        expected = torch_loss(reduction, *tensors)
        expected.sum().backward()
        value, grads = got[reduction]
        assert_close(value, expected.detach().numpy(), rtol=1e-5, atol=1e-6)
        for g, i in zip(grads, diff, strict=True):
            reference = tensors[i].grad
            assert reference is not None
            assert_close(g, reference.numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- ORPO


def trl_odds_ratio_loss(chosen, rejected, beta):
    """TRL ``ORPOTrainer.odds_ratio_loss``; jaxloss returns ``-losses``."""
    log_odds = (chosen - rejected) - (
        torch.log1p(-torch.exp(chosen)) - torch.log1p(-torch.exp(rejected))
    )
    return -beta * F.logsigmoid(log_odds)


def _avg_logps(rng, n):
    return -np.abs(rng.standard_normal(n)) * 1.5 - 1e-3


def test_orpo_matches_trl():
    rng = np.random.default_rng(0)
    c, r = _avg_logps(rng, 12), _avg_logps(rng, 12)
    where, weight = rng.random(12) < 0.7, rng.uniform(0.5, 2.0, 12)
    _compare(
        lambda red, a, b: jaxloss.orpo_loss(
            a, b, beta=0.3, where=where, weight=weight, reduction=red
        ),
        lambda red, a, b: _reduce(trl_odds_ratio_loss(a, b, 0.3), red, where, weight),
        [c, r],
        (0, 1),
    )


def test_orpo_log_probs_near_zero_stay_finite_with_the_limit_gradient():
    # TRL's formula gives inf/NaN at a log-probability of 0; the true gradient for
    # chosen is -odds(r) / (odds(r) (1 - e^c) + e^c), finite up to c = 0
    vg = jax.jit(
        jax.value_and_grad(
            lambda a, b: jaxloss.orpo_loss(a, b, beta=1.0, reduction="none").sum(), (0, 1)
        )
    )
    r = np.array([-0.5, -2.0, -30.0, -0.5, -2.0, -1e4, 0.0, -1e4])
    c = np.array([-1e-30, -1e-30, -1e-30, -1e-12, -1e-12, 0.0, -1e4, -1e4])
    value, grads = vg(jnp.asarray(c, jnp.float32), jnp.asarray(r, jnp.float32))
    chex.assert_tree_all_finite((value, grads))
    odds_r = np.exp(r[:5]) / -np.expm1(r[:5])
    expected = -odds_r / (odds_r * -np.expm1(c[:5]) + np.exp(c[:5]))
    assert_close(grads[0][:5], expected, rtol=1e-4)
    # log(1 - p) floored at -100: the loss of a chosen log-probability of 0 is
    # ~odds(r) e^-100 = 0, of a rejected one ~100 - log(odds(c)) = 100 + 1e4
    none = jaxloss.orpo_loss(jnp.asarray(c), jnp.asarray(r), beta=1.0, reduction="none")
    assert float(none[5]) == pytest.approx(0.0, abs=1e-6)
    assert float(none[6]) == pytest.approx(1e4 + 100.0, rel=1e-6)


def test_orpo_gradient_float64_against_trl_where_trl_is_finite():
    with jax.enable_x64(True):
        rng = np.random.default_rng(1)
        c, r = _avg_logps(rng, 6) * 1e-4, _avg_logps(rng, 6) * 20
        tc, tr = _t(c, True), _t(r, True)
        trl_odds_ratio_loss(tc, tr, 1.0).sum().backward()
        g = jax.jit(
            jax.grad(lambda a, b: jaxloss.orpo_loss(a, b, beta=1.0, reduction="sum"), (0, 1))
        )(jnp.asarray(c), jnp.asarray(r))
        assert tc.grad is not None and tr.grad is not None
        assert_close(g[0], tc.grad.numpy(), rtol=1e-9)
        assert_close(g[1], tr.grad.numpy(), rtol=1e-9)


def test_orpo_positive_log_prob_is_nan_and_checked_names_it():
    c, r = jnp.array([0.1, -1.0]), jnp.array([-1.0, -1.0])
    assert np.isnan(float(jaxloss.orpo_loss(c, r)))
    with pytest.raises(Exception, match=r"orpo_loss: chosen_logps must be a log-probability"):
        jaxloss.checked(jaxloss.orpo_loss)(c, r)


# ---------------------------------------------------------------- SimPO


def trl_simpo_loss(chosen, rejected, beta, gamma):
    """TRL ``CPOTrainer.cpo_loss`` with ``loss_type="simpo"``, ``label_smoothing=0``."""
    logits = (chosen - rejected) - gamma / beta
    return -F.logsigmoid(beta * logits)


def test_simpo_matches_trl():
    rng = np.random.default_rng(2)
    c, r = _avg_logps(rng, 10), _avg_logps(rng, 10)
    where, weight = rng.random(10) < 0.7, rng.uniform(0.5, 2.0, 10)
    _compare(
        lambda red, a, b: jaxloss.simpo_loss(
            a, b, beta=2.5, gamma=0.7, where=where, weight=weight, reduction=red
        ),
        lambda red, a, b: _reduce(trl_simpo_loss(a, b, 2.5, 0.7), red, where, weight),
        [c, r],
        (0, 1),
    )


# ---------------------------------------------------------------- KTO


def trl_kto_losses(pc, pr, rc, rr, kl, beta, dw, uw):
    """TRL ``KTOTrainer._compute_loss`` (``loss_type="kto"``) before ``nanmean``."""
    kl = kl.detach().clamp(min=0) + 0 * kl  # held constant: a zero gradient
    chosen = 1 - F.sigmoid(beta * ((pc - rc) - kl))
    rejected = 1 - F.sigmoid(beta * (kl - (pr - rr)))
    return torch.cat((dw * chosen, uw * rejected), 0)


@pytest.mark.parametrize("kl", (0.7, -0.4))  # a negative estimate is clamped at 0
def test_kto_matches_trl_unpaired(kl):
    rng = np.random.default_rng(3)
    nc, nr = 5, 8
    pc, rc = -np.abs(rng.standard_normal((2, nc))) * 20
    pr, rr = -np.abs(rng.standard_normal((2, nr))) * 20
    where, weight = rng.random(nc + nr) < 0.7, rng.uniform(0.5, 2.0, nc + nr)
    options = {"beta": 0.2, "desirable_weight": 1.3, "undesirable_weight": 0.6}
    # the kl estimate is held constant: differentiated too, its gradient must be 0
    _compare(
        lambda red, *a: jaxloss.kto_loss(*a, **options, where=where, weight=weight, reduction=red),
        lambda red, *a: _reduce(trl_kto_losses(*a, *options.values()), red, where, weight),
        [pc, pr, rc, rr, np.float64(kl)],
        (0, 1, 2, 3, 4),
    )


def test_kto_unpaired_sides_extremes_masks_and_errors():
    big = jnp.array([1e4, -1e4, 0.0])
    rng = np.random.default_rng(4)
    pc, rc, pr, rr = (jnp.asarray(-np.abs(rng.standard_normal(4)), jnp.float32) for _ in range(4))
    where = jnp.array([True, False, True, True, False, True, True, True])
    poisoned = pc.at[1].set(jnp.nan), pr.at[0].set(jnp.inf)

    @jax.jit
    def run(big, pc, pr, bad_c, bad_r):
        z = jnp.zeros(0)
        vg = jax.value_and_grad(lambda a, b: jaxloss.kto_loss(a, z, b, z, 1e4), (0, 1))
        masked = jax.value_and_grad(
            lambda a, b: jaxloss.kto_loss(a, b, rc, rr, 0.1, where=where), (0, 1)
        )
        return {
            "extreme": vg(big, -big),
            # no undesirable completion: the mean is over the desirable ones only
            "one_side": jaxloss.kto_loss(big, z, jnp.zeros(3), z, 0.0),
            "empty": jaxloss.kto_loss(z, z, z, z, 0.0),
            "clean": masked(pc, pr),
            "poisoned": masked(bad_c, bad_r),
            "unmasked_nan": jaxloss.kto_loss(bad_c, pr, rc, rr, 0.1),
        }

    out = run(big, pc, pr, *poisoned)
    chex.assert_tree_all_finite(out["extreme"])
    assert_close(out["one_side"], jnp.mean(jax.nn.sigmoid(-0.1 * big)), rtol=1e-6)
    assert float(out["empty"]) == 0.0
    assert_close(out["poisoned"], out["clean"], rtol=1e-6)  # masked NaN cannot leak
    assert np.isnan(float(out["unmasked_nan"]))
    assert jaxloss.kto_loss(pc[:0], big, pc[:0], big, 0.0, reduction="none").shape == (3,)
    with pytest.raises(ValueError, match=r"^jaxloss\.kto_loss: kl must be a scalar"):
        jaxloss.kto_loss(big, big, big, big, jnp.zeros(3))
    with pytest.raises(ValueError, match=r"^jaxloss\.kto_loss: ref_rejected_logps has shape"):
        jaxloss.kto_loss(big, big, big, big[:2], 0.0)
    with pytest.raises(ValueError, match=r"^jaxloss\.kto_loss: where has shape \(3,\)"):
        jaxloss.kto_loss(big, big, big, big, 0.0, where=jnp.ones(3, bool))


# ---------------------------------------------------------------- GRPO


def trl_grpo(lp, old, ref, rewards, mask, group_size, eps, beta):
    """TRL ``GRPOTrainer``: advantages as ``_generate_and_score_completions``
    (``scale_rewards="group"``), the per-completion loss as ``_compute_loss``
    (``loss_type="grpo"``) before its final mean."""
    grouped = rewards.view(-1, group_size)
    mean = grouped.mean(1).repeat_interleave(group_size)
    std = grouped.std(1).repeat_interleave(group_size)  # Bessel's correction
    advantages = torch.nan_to_num((rewards - mean) / (std + 1e-4), nan=0.0).unsqueeze(1)
    coef_1 = torch.exp(lp - old)
    coef_2 = torch.clamp(coef_1, 1 - eps, 1 + eps)
    per_token = -torch.min(coef_1 * advantages, coef_2 * advantages)
    if beta != 0.0:
        per_token = per_token + beta * (torch.exp(ref - lp) - (ref - lp) - 1)
    return (per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)


def _grpo_inputs(rng, groups, group_size, length):
    b = groups * group_size
    lp = -np.abs(rng.standard_normal((b, length))) * 2
    old = lp + rng.standard_normal((b, length)) * 0.3
    ref = lp + rng.standard_normal((b, length)) * 0.3
    rewards = rng.integers(0, 3, b).astype(np.float64)
    rewards[:group_size] = 1.0  # a zero-variance group
    lengths = rng.integers(1, length + 1, b)
    mask = np.arange(length)[None, :] < lengths[:, None]
    return lp, old, ref, rewards, mask


@pytest.mark.parametrize(
    ("group_size", "beta", "with_ref"), [(4, 0.04, True), (2, 0.0, False), (1, 0.3, True)]
)
def test_grpo_matches_trl(group_size, beta, with_ref):
    rng = np.random.default_rng(5)
    lp, old, ref, rewards, mask = _grpo_inputs(rng, 3, group_size, 6)
    weight = rng.uniform(0.5, 2.0, len(rewards))

    def ours(red, a, b, r, c):
        return jaxloss.grpo_loss(
            a,
            b,
            r,
            group_size=group_size,
            ref_log_probs=c if with_ref else None,
            beta=beta,
            where=jnp.asarray(mask),
            weight=weight,
            reduction=red,
        )

    def trl(red, a, b, r, c):
        per = trl_grpo(a, b, c, r, _t(mask), group_size, 0.2, beta if with_ref else 0.0)
        return _reduce(per, red, weight=weight)

    _compare(ours, trl, [lp, old, rewards, ref], (0, 1, 3) if with_ref else (0, 1))


def test_grpo_zero_variance_groups_extremes_and_masks():
    # every group's rewards are equal: advantage exactly 0, only the KL term is left
    lp = jnp.array([[-1e4, 0.0], [-3.0, -1e4], [0.0, 0.0], [-2.0, -1.0]])
    rewards = jnp.array([5.0, 5.0, -1.0, -1.0])
    mask = jnp.array([[True, True], [True, False], [False, False], [True, True]])
    spread = rewards + jnp.arange(4.0)
    grpo = functools.partial(jaxloss.grpo_loss, group_size=2)

    @jax.jit
    def run(lp, padded):
        def masked(a, r=spread):
            return grpo(a, lp, r, where=mask, reduction="none")

        return {
            "extreme": jax.value_and_grad(
                lambda a, b, c: grpo(a, b, rewards, ref_log_probs=c), (0, 1, 2)
            )(lp, lp[::-1], -lp),
            "no_kl": grpo(lp, lp[::-1], rewards, reduction="none"),
            "none": masked(padded),
            "mean": grpo(padded, lp, spread, where=mask),
            "grad": jax.grad(lambda a: grpo(a, lp, spread, where=mask))(padded),
            # the empty completion is out of its group's statistics too (as TRL
            # skips an unscorable NaN reward): its reward may hold anything
            "nan_reward": masked(padded, spread.at[2].set(jnp.nan)),
            "huge_reward": masked(padded, spread.at[2].set(1e30)),
            "all_masked": grpo(lp, lp, rewards, where=jnp.zeros(4, bool)),
            "empty": grpo(lp[:0], lp[:0], rewards[:0]),
        }

    # a completion without tokens is left out of the mean; NaN padding never leaks
    out = run(lp, lp.at[1, 1].set(jnp.nan).at[2].set(jnp.inf))
    chex.assert_tree_all_finite(out)
    assert np.all(np.asarray(out["no_kl"]) == 0.0)
    none = out["none"]
    assert float(none[2]) == 0.0 and float(none[3]) == 0.0  # alone in its group: A = 0
    assert_close(out["mean"], jnp.sum(none) / 3, rtol=1e-6)
    assert_close(out["nan_reward"], none, rtol=1e-6)
    assert_close(out["huge_reward"], none, rtol=1e-6)
    assert float(out["all_masked"]) == 0.0 and float(out["empty"]) == 0.0


def test_grpo_errors():
    lp = jnp.zeros((6, 3))
    with pytest.raises(
        ValueError,
        match=r"^jaxloss\.grpo_loss: log_probs has 6 completions, not a multiple of group_size=4",
    ):
        jaxloss.grpo_loss(lp, lp, jnp.zeros(6), group_size=4)
    with pytest.raises(TypeError, match=r"^jaxloss\.grpo_loss: group_size must be an integer"):
        jaxloss.grpo_loss(lp, lp, jnp.zeros(6), group_size=2.0)  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match=r"^jaxloss\.grpo_loss: rewards has shape \(3,\)"):
        jaxloss.grpo_loss(lp, lp, jnp.zeros(3), group_size=2)
    with pytest.raises(ValueError, match=r"^jaxloss\.grpo_loss: ref_log_probs has shape"):
        jaxloss.grpo_loss(lp, lp, jnp.zeros(6), group_size=2, ref_log_probs=lp[:, :2])
    with pytest.raises(ValueError, match=r"^jaxloss\.grpo_loss: beta must be in \[0.0, inf\]"):
        jaxloss.grpo_loss(lp, lp, jnp.zeros(6), group_size=2, ref_log_probs=lp, beta=-1.0)
    traced = jax.jit(lambda e: jaxloss.grpo_loss(lp, lp, jnp.arange(6.0), group_size=2, clip_eps=e))
    assert np.isnan(float(traced(-0.1)))


def _mesh():
    return Mesh(np.asarray(jax.devices()), ("batch",))


def test_grpo_and_kto_sharded_equal_single_device():
    rng = np.random.default_rng(6)
    lp, old, ref, rewards, mask = (
        jnp.asarray(a) for a in _grpo_inputs(rng, 8, 2, 5)
    )  # 16 completions, 2 per device: one group each
    lp, old, ref, rewards = (a.astype(jnp.float32) for a in (lp, old, ref, rewards))
    grpo = functools.partial(jaxloss.grpo_loss, group_size=2)

    def per_device(a, b, c, r, m):
        return grpo(a, b, r, ref_log_probs=c, where=m, axis_name="batch")

    rows = P("batch")
    mapped = jax.shard_map(per_device, mesh=_mesh(), in_specs=(rows,) * 5, out_specs=P())
    assert_close(
        jax.jit(jax.value_and_grad(mapped))(lp, old, ref, rewards, mask),
        jax.jit(jax.value_and_grad(lambda a, b, c, r, m: grpo(a, b, r, ref_log_probs=c, where=m)))(
            lp, old, ref, rewards, mask
        ),
        rtol=1e-5,
    )
    with pytest.raises(ValueError, match="not a multiple of group_size=4"):
        jax.shard_map(
            lambda a, b, r: jaxloss.grpo_loss(a, b, r, group_size=4, axis_name="batch"),
            mesh=_mesh(),
            in_specs=(rows,) * 3,
            out_specs=P(),
        )(lp, old, rewards)
    # KTO: chosen and rejected rows sharded, the KL estimate replicated
    pc, pr, rc, rr = (jnp.asarray(rng.standard_normal(16), jnp.float32) for _ in range(4))
    kto = functools.partial(jaxloss.kto_loss, reduction="sum")
    mapped_kto = jax.jit(
        jax.shard_map(
            lambda *a: kto(*a, axis_name="batch"),
            mesh=_mesh(),
            in_specs=(rows,) * 4 + (P(),),
            out_specs=P(),
        )
    )
    kl = jnp.float32(0.3)
    assert_close(mapped_kto(pc, pr, rc, rr, kl), jax.jit(kto)(pc, pr, rc, rr, kl), rtol=1e-5)


def test_grpo_and_kto_bf16_inputs_upcast():
    rng = np.random.default_rng(7)
    lp, old, ref, rewards, _ = (jnp.asarray(a, jnp.float32) for a in _grpo_inputs(rng, 2, 2, 3))
    low = lp.astype(jnp.bfloat16)

    @jax.jit
    def run(low, lp):
        return (
            jaxloss.grpo_loss(low, old, rewards, group_size=2, ref_log_probs=ref),
            jaxloss.grpo_loss(
                low.astype(jnp.float32), old, rewards, group_size=2, ref_log_probs=ref
            ),
            jax.grad(lambda a: jaxloss.grpo_loss(a, old, rewards, group_size=2))(low),
            jaxloss.kto_loss(low[0], low[1], lp[0], lp[1], jnp.bfloat16(0.1)),
        )

    value, reference, grad, kto = run(low, lp)
    assert value.dtype == kto.dtype == jnp.float32 and grad.dtype == jnp.bfloat16
    assert_close(value, reference)
