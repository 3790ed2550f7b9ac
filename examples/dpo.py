"""Direct preference optimisation on toy preferences.

RLHF without the reward model: ``dpo_loss`` trains a policy
directly on (chosen, rejected) pairs. The toy: 256 prompts, each answered by one
of 16 canned responses; a hidden reward scores every (prompt, response), and a
simulated annotator prefers the higher-reward of two responses drawn from the
reference policy (Bradley-Terry noise). The policy is a Flax NNX MLP; the
reference is its frozen initial copy. The script reports the policy's expected
hidden reward, its KL from the reference, and how often DPO's implicit reward
agrees with the annotator on held-out pairs, for the sigmoid and IPO kinds.

Run: ``python examples/dpo.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxloss

PROMPTS, RESPONSES, FEATURES = 256, 16, 8


class Policy(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(FEATURES, 64, rngs=rngs)
        self.out = nnx.Linear(64, RESPONSES, rngs=rngs)

    def __call__(self, prompts):  # [B, FEATURES] -> log-probabilities [B, RESPONSES]
        return jax.nn.log_softmax(self.out(nnx.tanh(self.hidden(prompts))))


def preference_pairs(rng, prompts, reward, ref_logp, n: int):
    """Two responses per prompt from the reference policy; the annotator picks one."""
    p = rng.integers(0, PROMPTS, n)
    probs = np.exp(np.asarray(ref_logp))[p]
    a = np.array([rng.choice(RESPONSES, p=q / q.sum()) for q in probs])
    b = np.array([rng.choice(RESPONSES, p=q / q.sum()) for q in probs])
    margin = reward[p, a] - reward[p, b]
    a_wins = rng.random(n) < 1 / (1 + np.exp(-margin))
    return p, np.where(a_wins, a, b), np.where(a_wins, b, a)


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for smoke tests")
    parser.add_argument("--out", default="example-output", help="unused; for a uniform CLI")
    parser.add_argument("--beta", type=float, default=0.1)
    args = parser.parse_args(argv)
    steps = 20 if args.quick else 1500

    rng = np.random.default_rng(0)
    prompts = rng.normal(size=(PROMPTS, FEATURES)).astype(np.float32)
    responses = rng.normal(size=(RESPONSES, FEATURES))
    reward = 2.0 * np.tanh(prompts @ rng.normal(size=(FEATURES, FEATURES)) @ responses.T / 3)

    reference = Policy(nnx.Rngs(0))
    ref_logp = reference(jnp.asarray(prompts))
    train = preference_pairs(rng, prompts, reward, ref_logp, 4096)
    held_out = preference_pairs(rng, prompts, reward, ref_logp, 1024)

    def gathered(logp, pairs):
        p, chosen, rejected = pairs
        return logp[p, chosen], logp[p, rejected]

    def expected_reward(logp):
        return float(jnp.mean(jnp.sum(jnp.exp(logp) * reward, -1)))

    results = {"reference": {"reward": expected_reward(ref_logp), "kl": 0.0, "agree": 0.5}}
    for kind in ("sigmoid", "ipo"):
        policy = Policy(nnx.Rngs(0))  # starts equal to the reference
        optimizer = nnx.Optimizer(policy, optax.adam(3e-3), wrt=nnx.Param)

        @nnx.jit
        def step(policy, optimizer, pairs, kind=kind):
            def loss_fn(m):
                chosen, rejected = gathered(m(jnp.asarray(prompts)), pairs)
                ref_chosen, ref_rejected = gathered(ref_logp, pairs)
                return jaxloss.dpo_loss(
                    chosen, rejected, ref_chosen, ref_rejected, beta=args.beta, kind=kind
                )

            loss, grads = nnx.value_and_grad(loss_fn)(policy)
            optimizer.update(policy, grads)
            return loss

        for _ in range(steps):
            batch = rng.integers(0, len(train[0]), 256)
            step(policy, optimizer, tuple(a[batch] for a in train))
        logp = policy(jnp.asarray(prompts))
        chosen, rejected = gathered(logp - ref_logp, held_out)  # implicit reward / beta
        results[kind] = {
            "reward": expected_reward(logp),
            "kl": float(jnp.mean(jnp.sum(jnp.exp(logp) * (logp - ref_logp), -1))),
            "agree": float(jnp.mean(chosen > rejected)),
        }
    print(f"{'policy':12s} {'hidden reward':>14s} {'KL to ref':>10s} {'agrees':>8s}")
    for name, r in results.items():
        print(f"{name:12s} {r['reward']:14.3f} {r['kl']:10.3f} {r['agree']:8.3f}")
    best = float(np.mean(reward.max(1)))
    print(f"(the best response for every prompt would score {best:.3f})")
    return results


if __name__ == "__main__":
    main()
