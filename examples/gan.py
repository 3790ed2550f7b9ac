"""A GAN on a ring of eight Gaussians: adversarial losses with an R1 penalty.

A GAN: the discriminator minimises ``gan_discriminator_loss`` on
real and generated samples, the generator minimises ``gan_generator_loss``
(``kind="non_saturating"`` by default; ``--kind`` picks another), and
``r1_penalty`` (Mescheder et al., 2018) keeps the discriminator's gradient on real
data small. Both players are Flax NNX MLPs trained with optax. Success is
covering all eight modes; the figure shows real and generated points.

Run: ``python examples/gan.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import itertools
import pathlib

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax
from flax import nnx

import jaxloss

matplotlib.use("Agg")
import matplotlib.pyplot as plt

MODES = np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], 1) * 2


def real_batch(rng, n: int) -> np.ndarray:
    return (MODES[rng.integers(0, 8, n)] + rng.normal(0, 0.05, (n, 2))).astype(np.float32)


def mlp(sizes, rngs):
    layers = [nnx.Linear(a, b, rngs=rngs) for a, b in itertools.pairwise(sizes)]

    class MLP(nnx.Module):
        def __init__(self):
            self.layers = nnx.List(layers)

        def __call__(self, x):
            for layer in self.layers[:-1]:
                x = nnx.leaky_relu(layer(x), 0.2)
            return self.layers[-1](x)

    return MLP()


def modes_covered(samples: np.ndarray) -> tuple[int, float]:
    """Modes with at least 2% of the samples within 0.25 of them; share of such samples."""
    d = np.linalg.norm(samples[:, None] - MODES[None], axis=-1)
    near = d.min(1) < 0.25
    counts = np.bincount(d.argmin(1)[near], minlength=8)
    return int(np.sum(counts >= 0.02 * len(samples))), float(near.mean())


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for smoke tests")
    parser.add_argument("--out", default="example-output", help="folder for the figure")
    parser.add_argument("--kind", default="non_saturating", help="GAN loss kind")
    args = parser.parse_args(argv)
    steps = 30 if args.quick else 3000

    gen = mlp((8, 128, 128, 2), nnx.Rngs(0))
    disc = mlp((2, 128, 128, 1), nnx.Rngs(1))
    g_opt = nnx.Optimizer(gen, optax.adam(1e-3, b1=0.5), wrt=nnx.Param)
    d_opt = nnx.Optimizer(disc, optax.adam(1e-3, b1=0.5), wrt=nnx.Param)

    @nnx.jit
    def step(gen, disc, g_opt, d_opt, real, noise):
        def d_loss(d):
            fake = jax.lax.stop_gradient(gen(noise))
            adversarial = jaxloss.gan_discriminator_loss(
                d(real)[:, 0], d(fake)[:, 0], kind=args.kind
            )
            return adversarial + 0.1 * jaxloss.r1_penalty(lambda x: d(x)[:, 0], real)

        dl, grads = nnx.value_and_grad(d_loss)(disc)
        d_opt.update(disc, grads)
        gl, grads = nnx.value_and_grad(
            lambda g: jaxloss.gan_generator_loss(disc(g(noise))[:, 0], kind=args.kind)
        )(gen)
        g_opt.update(gen, grads)
        return dl, gl

    rng = np.random.default_rng(0)
    for i in range(steps):
        noise = rng.normal(size=(256, 8)).astype(np.float32)
        dl, gl = step(gen, disc, g_opt, d_opt, real_batch(rng, 256), noise)
        if i % max(1, steps // 5) == 0 or i == steps - 1:
            print(f"step {i:5d}  discriminator {float(dl):.3f}  generator {float(gl):.3f}")

    samples = np.asarray(gen(jnp.asarray(rng.normal(size=(2000, 8)), jnp.float32)))
    covered, share = modes_covered(samples)
    print(f"modes covered: {covered}/8; {share:.0%} of generated points lie near a mode")

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    real = real_batch(rng, 2000)
    ax.scatter(real[:, 0], real[:, 1], s=3, alpha=0.3, label="real")
    ax.scatter(samples[:, 0], samples[:, 1], s=3, alpha=0.3, label="generated")
    ax.set(title=f"GAN ({args.kind}), {covered}/8 modes", xlim=(-3, 3), ylim=(-3, 3))
    ax.set_aspect("equal")
    ax.legend(loc="upper right", markerscale=4)
    fig.tight_layout()
    fig.savefig(out / "gan.png", dpi=120)
    plt.close(fig)
    print(f"figure: {out / 'gan.png'}")
    return {"modes": covered, "near": share}


if __name__ == "__main__":
    main()
