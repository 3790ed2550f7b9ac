"""Bounding-box regression: Smooth L1 on coordinates vs the IoU family of losses.

A detector's box head refines a rough proposal into the object's box. Here a
Flax NNX MLP sees a noisy proposal ``(x1, y1, x2, y2)`` plus a feature vector
that encodes the true box, and predicts the box. Loss guides list Smooth L1 and
IoU losses for this; the IoU family scores the overlap itself, so it is
scale-invariant, and GIoU/DIoU/CIoU still have a gradient when the boxes do not
overlap at all (the first table shows it). Test quality is the mean IoU.

Run: ``python examples/detection_boxes.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxloss

LOSSES = {
    "smooth_l1_loss": lambda p, t: jaxloss.smooth_l1_loss(p, t, beta=1.0),
    "box_iou_loss": jaxloss.box_iou_loss,
    "generalized_box_iou_loss": jaxloss.generalized_box_iou_loss,
    "distance_box_iou_loss": jaxloss.distance_box_iou_loss,
    "complete_box_iou_loss": jaxloss.complete_box_iou_loss,
}


def boxes(n: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True boxes of every scale in a 100x100 image, noisy proposals, features."""
    centre = rng.uniform(20, 80, (n, 2))
    size = np.exp(rng.uniform(np.log(4), np.log(40), (n, 2)))
    true = np.concatenate([centre - size / 2, centre + size / 2], 1)
    proposal = true + rng.normal(0, 1, (n, 4)) * np.tile(size, 2) * 0.3
    # a valid box: noise may push x2 below x1, and an inverted box has no IoU (NaN)
    proposal = np.concatenate(
        [
            np.minimum(proposal[:, :2], proposal[:, 2:]),
            np.maximum(proposal[:, :2], proposal[:, 2:]),
        ],
        1,
    )
    features = np.concatenate([true / 100, np.log(size / 10)], 1) + rng.normal(0, 0.05, (n, 6))
    x = np.concatenate([proposal / 100, features], 1).astype(np.float32)
    return x, true.astype(np.float32), proposal.astype(np.float32)


class BoxHead(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(10, 64, rngs=rngs)
        self.delta = nnx.Linear(64, 4, rngs=rngs)

    def __call__(self, x):
        proposal = x[:, :4] * 100
        d = self.delta(nnx.relu(self.hidden(x)))
        # Faster R-CNN's parameterisation: a shift of the centre in units of the
        # proposal's size and a log-scale change of the size, so every box is valid
        size = jnp.maximum(proposal[:, 2:] - proposal[:, :2], 1.0)
        centre = (proposal[:, :2] + proposal[:, 2:]) / 2 + d[:, :2] * size
        half = size * jnp.exp(jnp.clip(d[:, 2:], -4.0, 4.0)) / 2
        return jnp.concatenate([centre - half, centre + half], 1)


def disjoint_gradients() -> list[tuple[str, float, float]]:
    """Loss and gradient norm for a predicted box that misses its target."""
    pred, target = jnp.array([[0.0, 0.0, 10.0, 10.0]]), jnp.array([[20.0, 20.0, 30.0, 30.0]])
    rows = []
    for name, fn in LOSSES.items():
        value, grad = jax.value_and_grad(lambda p, fn=fn: fn(p, target))(pred)
        rows.append((name, float(value), float(jnp.linalg.norm(grad))))
    return rows


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs, for smoke tests")
    parser.add_argument("--out", default="example-output", help="unused; for a uniform CLI")
    args = parser.parse_args(argv)
    epochs = 2 if args.quick else 30

    print("A prediction that misses its target box entirely:")
    print(f"  {'loss':26s} {'value':>7s} {'|gradient|':>11s}")
    for name, value, norm in disjoint_gradients():
        print(f"  {name:26s} {value:7.3f} {norm:11.4f}")

    rng = np.random.default_rng(0)
    xt, yt, _ = boxes(4096, rng)
    xv, yv, pv = boxes(1024, rng)
    iou = functools.partial(jaxloss.box_iou_loss, reduction="none")
    results = {"proposals": 1.0 - float(jnp.mean(iou(pv, yv)))}
    for name, loss in LOSSES.items():
        model = BoxHead(nnx.Rngs(0))
        optimizer = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)

        @nnx.jit
        def step(model, optimizer, xb, yb, loss=loss):
            value, grads = nnx.value_and_grad(lambda m: loss(m(xb), yb))(model)
            optimizer.update(model, grads)
            return value

        for _ in range(epochs):
            for idx in np.array_split(rng.permutation(len(xt)), len(xt) // 64):
                step(model, optimizer, xt[idx], yt[idx])
        results[name] = 1.0 - float(jnp.mean(iou(model(jnp.asarray(xv)), yv)))
    print(f"\nMean IoU with the true box on {len(yv)} test boxes (higher is better):")
    for name, value in results.items():
        print(f"  {name:26s} {value:.3f}")
    return results


if __name__ == "__main__":
    main()
