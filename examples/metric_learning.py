"""Metric learning with batch-hard triplet mining on handwritten digits.

The triplet loss, with the triplets mined inside each batch
(``batch_triplet_loss(mining="batch_hard")``: per anchor, its farthest positive
and nearest negative). A Flax NNX MLP maps scikit-learn's 8x8 digits to 16-d
embeddings; nearest-neighbour accuracy on held-out digits (each test digit takes
the label of its nearest training embedding) measures what the embedding learnt.

Run: ``python examples/metric_learning.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.datasets import load_digits

import jaxloss


class Embedder(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(64, 128, rngs=rngs)
        self.out = nnx.Linear(128, 16, rngs=rngs)

    def __call__(self, x):
        z = self.out(nnx.relu(self.hidden(x)))
        return z / jnp.linalg.norm(z, axis=-1, keepdims=True)  # on the unit sphere


def nearest_neighbour_accuracy(model, train, test) -> float:
    (xt, yt), (xv, yv) = train, test
    # unit vectors: the nearest neighbour has the largest cosine similarity
    similarity = model(jnp.asarray(xv)) @ model(jnp.asarray(xt)).T
    return float(np.mean(yt[np.asarray(jnp.argmax(similarity, axis=1))] == yv))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for smoke tests")
    parser.add_argument("--out", default="example-output", help="unused; for a uniform CLI")
    args = parser.parse_args(argv)
    steps = 20 if args.quick else 600

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train = (x[order[:1000]], y[order[:1000]])
    test = (x[order[1000:]], y[order[1000:]])

    model = Embedder(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, xb, yb):
        def loss_fn(m):
            return jaxloss.batch_triplet_loss(m(xb), yb, margin=0.5, mining="batch_hard")

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    before = nearest_neighbour_accuracy(model, train, test)
    # P-K batches: 8 classes x 8 digits, so every anchor has positives and negatives
    by_class = [np.flatnonzero(train[1] == c) for c in range(10)]
    for i in range(steps):
        classes = rng.choice(10, 8, replace=False)
        idx = np.concatenate([rng.choice(by_class[c], 8, replace=False) for c in classes])
        loss = step(model, optimizer, train[0][idx], train[1][idx])
        if i % max(1, steps // 5) == 0 or i == steps - 1:
            print(f"step {i:4d}  batch-hard triplet loss {float(loss):.4f}")
    after = nearest_neighbour_accuracy(model, train, test)
    print(f"1-nearest-neighbour accuracy on {len(test[1])} held-out digits:")
    print(f"  random embedding {before:.3f}  ->  after training {after:.3f}")
    return {"before": before, "after": after}


if __name__ == "__main__":
    main()
