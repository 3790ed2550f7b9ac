"""A variational autoencoder on handwritten digits: reconstruction plus KL.

A variational autoencoder: ``vae_loss`` adds the reconstruction term (here
Bernoulli, ``recon_loss="bce_logits"``, on pixels scaled to [0, 1]) and the KL divergence
of the encoder's Gaussian from the standard normal prior, weighted by ``beta``.
A Flax NNX encoder/decoder is trained with optax on scikit-learn's 8x8 digits;
the figure shows test digits, their reconstructions and samples from the prior.

Run: ``python examples/vae.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import pathlib

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax
from flax import nnx
from sklearn.datasets import load_digits

import jaxloss

matplotlib.use("Agg")
import matplotlib.pyplot as plt

LATENT = 4


class VAE(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.enc = nnx.Linear(64, 128, rngs=rngs)
        self.stats = nnx.Linear(128, 2 * LATENT, rngs=rngs)
        self.dec = nnx.Linear(LATENT, 128, rngs=rngs)
        self.logits = nnx.Linear(128, 64, rngs=rngs)

    def encode(self, x):
        mean, logvar = jnp.split(self.stats(nnx.relu(self.enc(x))), 2, axis=-1)
        return mean, logvar

    def decode(self, z):
        return self.logits(nnx.relu(self.dec(z)))

    def __call__(self, x, key):
        mean, logvar = self.encode(x)
        z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(key, mean.shape)
        return self.decode(z), mean, logvar


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs, for smoke tests")
    parser.add_argument("--out", default="example-output", help="folder for the figure")
    parser.add_argument("--beta", type=float, default=1.0)
    args = parser.parse_args(argv)
    epochs = 2 if args.quick else 150

    x, _ = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    train, test = x[order[:1500]], x[order[1500:]]

    model = VAE(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(2e-3), wrt=nnx.Param)

    def loss_fn(m, xb, key):
        logits, mean, logvar = m(xb, key)
        return jaxloss.vae_loss(logits, xb, mean, logvar, beta=args.beta, recon_loss="bce_logits")

    @nnx.jit
    def step(model, optimizer, xb, key):
        loss, grads = nnx.value_and_grad(loss_fn)(model, xb, key)
        optimizer.update(model, grads)
        return loss

    key = jax.random.key(0)
    for epoch in range(epochs):
        for idx in np.array_split(rng.permutation(len(train)), len(train) // 64):
            key, sub = jax.random.split(key)
            loss = step(model, optimizer, train[idx], sub)
        if epoch % max(1, epochs // 5) == 0 or epoch == epochs - 1:
            print(f"epoch {epoch:3d}  training loss {float(loss):.3f}")
    test_loss = float(loss_fn(model, jnp.asarray(test), jax.random.key(1)))
    mean, logvar = model.encode(jnp.asarray(test))
    kl = float(jnp.mean(jnp.sum(-0.5 * (1 + logvar - mean**2 - jnp.exp(logvar)), -1)))
    print(f"test loss {test_loss:.3f} (KL term {kl:.3f} nats per digit)")

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    recon = jax.nn.sigmoid(model.decode(mean[:8]))
    samples = jax.nn.sigmoid(model.decode(jax.random.normal(jax.random.key(2), (8, LATENT))))
    fig, axes = plt.subplots(3, 8, figsize=(8, 3.3))
    for r, (label, imgs) in enumerate(
        [("test digit", test[:8]), ("reconstruction", recon), ("prior sample", samples)]
    ):
        for c in range(8):
            axes[r, c].imshow(np.asarray(imgs[c]).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(label, fontsize=7)
    fig.suptitle(f"VAE on 8x8 digits (latent {LATENT}, beta {args.beta})")
    fig.tight_layout()
    fig.savefig(out / "vae.png", dpi=120)
    plt.close(fig)
    print(f"figure: {out / 'vae.png'}")
    return {"test_loss": test_loss, "kl": kl}


if __name__ == "__main__":
    main()
