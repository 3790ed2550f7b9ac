"""Group-relative policy optimisation with a verifiable reward.

RL from a checker instead of a reward model: ``grpo_loss`` trains a policy from
groups of completions sampled for the same prompt, each group's rewards
normalised against their own mean and spread. The toy: a prompt is a target sum
in [0, 36]; a completion is 4 digits; the reward is 1 when the digits add up to the
target, else 0 (a checker, nothing learned). The policy is a Flax NNX MLP giving
one categorical distribution per digit position; the reference for the KL penalty
is its frozen initial copy. Each step samples 8 completions for each of 32 prompts
and takes two clipped updates on them (the second one off-policy, so the ratio and
its clip matter). The script reports the success rate on fresh prompts before and
after training, and the KL to the reference.

Run: ``python examples/grpo.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxloss

DIGITS, LENGTH, MAX_SUM = 10, 4, 36
PROMPTS, GROUP = 32, 8


class Policy(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(MAX_SUM + 1, 64, rngs=rngs)
        self.out = nnx.Linear(64, LENGTH * DIGITS, rngs=rngs)

    def __call__(self, targets):  # [B] target sums -> log-probabilities [B, LENGTH, DIGITS]
        h = nnx.tanh(self.hidden(jax.nn.one_hot(targets, MAX_SUM + 1)))
        return jax.nn.log_softmax(self.out(h).reshape(-1, LENGTH, DIGITS))


def token_log_probs(logp, digits):
    """Per-token log-probabilities ``[B, LENGTH]`` of sampled ``digits``."""
    return jnp.take_along_axis(logp, digits[..., None], axis=-1)[..., 0]


def reward(targets, digits):
    """The checker: 1 where the digits add up to the target."""
    return (jnp.sum(digits, -1) == targets).astype(jnp.float32)


def success_rate(policy, key, n: int = 2048) -> float:
    """The mean reward of completions sampled for ``n`` fresh prompts."""
    k1, k2 = jax.random.split(key)
    targets = jax.random.randint(k1, (n,), 0, MAX_SUM + 1)
    digits = jax.random.categorical(k2, policy(targets))
    return float(jnp.mean(reward(targets, digits)))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for smoke tests")
    parser.add_argument("--out", default="example-output", help="unused; for a uniform CLI")
    parser.add_argument("--beta", type=float, default=0.04)
    parser.add_argument("--lr", type=float, default=1e-2)
    args = parser.parse_args(argv)
    steps = 5 if args.quick else 400

    policy = Policy(nnx.Rngs(0))
    reference = Policy(nnx.Rngs(0))  # the frozen initial copy
    optimizer = nnx.Optimizer(policy, optax.adam(args.lr), wrt=nnx.Param)

    @nnx.jit
    def sample(policy, key):
        """32 prompts, 8 completions each (consecutive), their rewards and the
        sampling policy's per-token log-probabilities."""
        k1, k2 = jax.random.split(key)
        targets = jnp.repeat(jax.random.randint(k1, (PROMPTS,), 0, MAX_SUM + 1), GROUP)
        logp = policy(targets)
        digits = jax.random.categorical(k2, logp)
        return targets, digits, reward(targets, digits), token_log_probs(logp, digits)

    @nnx.jit
    def update(policy, optimizer, reference, targets, digits, rewards, old_log_probs):
        ref_log_probs = token_log_probs(reference(targets), digits)

        def loss_fn(m):
            return jaxloss.grpo_loss(
                token_log_probs(m(targets), digits),
                old_log_probs,
                rewards,
                group_size=GROUP,
                ref_log_probs=ref_log_probs,
                beta=args.beta,
            )

        loss, grads = nnx.value_and_grad(loss_fn)(policy)
        optimizer.update(policy, grads)
        return loss

    key = jax.random.key(0)
    eval_key = jax.random.key(1)
    before = success_rate(policy, eval_key)
    curve = []
    for step in range(steps):
        key, k = jax.random.split(key)
        batch = sample(policy, k)
        for _ in range(2):  # the second update is off-policy: ratios move off 1
            update(policy, optimizer, reference, *batch)
        curve.append(float(jnp.mean(batch[2])))
        if not args.quick and (step + 1) % 100 == 0:
            print(
                f"step {step + 1:4d}: mean reward over the last 100 batches "
                f"{np.mean(curve[-100:]):.3f}"
            )
    after = success_rate(policy, eval_key)
    targets = jnp.arange(MAX_SUM + 1)
    logp, ref_logp = policy(targets), reference(targets)
    kl = float(jnp.mean(jnp.sum(jnp.exp(logp) * (logp - ref_logp), (-2, -1))))
    print(f"{'':10s} {'success rate':>13s}")
    print(f"{'before':10s} {before:13.3f}")
    print(f"{'after':10s} {after:13.3f}")
    print(f"KL(policy || reference) per completion: {kl:.3f}")
    return {"before": before, "after": after, "kl": kl, "last_batch_reward": curve[-1]}


if __name__ == "__main__":
    main()
