"""Face-recognition-style training: ArcFace beside batch-hard triplet mining.

ArcFace (``arcface_loss``) trains the embedding as a classifier over learnable
class embeddings, with an angular margin on the true class; the triplet loss
(``batch_triplet_loss``) compares the batch's embeddings with each other. Face
recognition then throws the classifier away and matches embeddings, so both
are judged the same way: a Flax NNX MLP maps scikit-learn's 8x8 digits (the
"identities") to 16-d unit embeddings, and each held-out digit takes the label
of its nearest training embedding (1-NN accuracy).

Run: ``python examples/face_recognition.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.datasets import load_digits

import jaxloss

NUM_CLASSES, DIM = 10, 16


class Embedder(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(64, 128, rngs=rngs)
        self.out = nnx.Linear(128, DIM, rngs=rngs)

    def __call__(self, x):
        z = self.out(nnx.relu(self.hidden(x)))
        return z / jnp.linalg.norm(z, axis=-1, keepdims=True)  # on the unit sphere


class ArcFaceModel(nnx.Module):
    """The embedder and the class embeddings ArcFace learns beside it."""

    def __init__(self, rngs: nnx.Rngs):
        self.embedder = Embedder(rngs)
        self.classes = nnx.Param(jax.random.normal(rngs.params(), (NUM_CLASSES, DIM)))

    def __call__(self, x):
        return self.embedder(x)


def nearest_neighbour_accuracy(model, train, test) -> float:
    (xt, yt), (xv, yv) = train, test
    # unit vectors: the nearest neighbour has the largest cosine similarity
    similarity = model(jnp.asarray(xv)) @ model(jnp.asarray(xt)).T
    return float(np.mean(yt[np.asarray(jnp.argmax(similarity, axis=1))] == yv))


def train(model, loss_fn, batches, steps: int, label: str) -> None:
    optimizer = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, xb, yb):
        loss, grads = nnx.value_and_grad(lambda m: loss_fn(m, xb, yb))(model)
        optimizer.update(model, grads)
        return loss

    for i in range(steps):
        loss = step(model, optimizer, *batches())
        if i % max(1, steps // 4) == 0 or i == steps - 1:
            print(f"  step {i:4d}  {label} {float(loss):.4f}")


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for smoke tests")
    parser.add_argument("--out", default="example-output", help="unused; for a uniform CLI")
    args = parser.parse_args(argv)
    steps = 20 if args.quick else 600

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train_set = (x[order[:1000]], y[order[:1000]])
    test_set = (x[order[1000:]], y[order[1000:]])
    by_class = [np.flatnonzero(train_set[1] == c) for c in range(NUM_CLASSES)]

    def pk_batch():
        # P-K batches: 8 classes x 8 digits, so every anchor has positives and negatives
        classes = rng.choice(NUM_CLASSES, 8, replace=False)
        idx = np.concatenate([rng.choice(by_class[c], 8, replace=False) for c in classes])
        return train_set[0][idx], train_set[1][idx]

    def arcface(m, xb, yb):
        return jaxloss.arcface_loss(m(xb), yb, m.classes[...], scale=16.0, margin=0.3)

    def triplet(m, xb, yb):
        return jaxloss.batch_triplet_loss(m(xb), yb, margin=0.5, mining="batch_hard")

    results = {}
    for name, model, loss_fn in (
        ("arcface", ArcFaceModel(nnx.Rngs(0)), arcface),
        ("batch_triplet", Embedder(nnx.Rngs(0)), triplet),
    ):
        print(f"{name}:")
        results[f"{name}_before"] = nearest_neighbour_accuracy(model, train_set, test_set)
        train(model, loss_fn, pk_batch, steps, f"{name} loss")
        results[name] = nearest_neighbour_accuracy(model, train_set, test_set)
    print(f"1-nearest-neighbour accuracy on {len(test_set[1])} held-out digits:")
    for name in ("arcface", "batch_triplet"):
        print(
            f"  {name:14s} random {results[name + '_before']:.3f}  ->  trained {results[name]:.3f}"
        )
    return results


if __name__ == "__main__":
    main()
