"""Sparse-mask segmentation: BCE vs Focal + Tversky, judged by IoU and recall.

The story: masks with about 2% positive pixels, where per-pixel BCE
learns to predict background. Noisy synthetic images with one to three small
disks each; a three-layer Flax NNX conv net trained with optax under
``binary_cross_entropy_with_logits`` and under ``focal_and_tversky_loss``
(Tversky's beta > alpha weighs missed pixels above false alarms). The figures
show test IoU and recall per epoch and the predicted masks of four test images.

Run: ``python examples/segmentation.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import functools
import pathlib
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from _common import fit, minibatches, parse_args, plot_metrics, print_results
from flax import nnx

import jaxloss

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SIZE = 32
LOSSES = {
    "binary_cross_entropy_with_logits": jaxloss.binary_cross_entropy_with_logits,
    "focal_and_tversky_loss": jaxloss.focal_and_tversky_loss,
}


def masks(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noisy ``[n, SIZE, SIZE, 1]`` images with one to three small disks, and
    their ``[n, SIZE, SIZE]`` masks: about 2% positive pixels."""
    grid = np.mgrid[:SIZE, :SIZE]
    masks = np.zeros((n, SIZE, SIZE), np.float32)
    for mask in masks:
        for _ in range(rng.integers(1, 4)):
            centre, radius = rng.uniform(3, SIZE - 3, 2), rng.uniform(1.2, 2.5)
            mask[np.hypot(*(grid - centre[:, None, None])) <= radius] = 1.0
    images = masks * 1.5 + rng.normal(0.0, 1.0, masks.shape).astype(np.float32)
    return images[..., None], masks


class Net(nnx.Module):
    """Three 3x3 convolutions: a per-pixel logit."""

    def __init__(self, rngs: nnx.Rngs):
        conv = functools.partial(nnx.Conv, kernel_size=(3, 3), rngs=rngs)
        self.c1, self.c2, self.c3 = conv(1, 16), conv(16, 16), conv(16, 1)

    def __call__(self, x):
        return self.c3(nnx.relu(self.c2(nnx.relu(self.c1(x)))))[..., 0]


def plot_masks(images, truth, shown: dict, path: pathlib.Path) -> None:
    """Images, true masks and each model's predicted probabilities: one row per
    kind of panel (labelled on the left), one column per test image (labelled
    on top with its share of positive pixels), probabilities on one colour scale."""
    rows = 2 + len(shown)
    fig, axes = plt.subplots(
        rows, len(images), figsize=(2.2 * len(images) + 1.0, 2.2 * rows), squeeze=False
    )
    titles = ["image", "true mask", *(f"p, {name}" for name in shown)]
    panels = [images, truth, *shown.values()]
    probability = None
    for r, (title, panel) in enumerate(zip(titles, panels, strict=True)):
        for c in range(len(images)):
            ax = axes[r, c]
            if r == 0:
                ax.imshow(panel[c], cmap="gray")
            else:
                probability = ax.imshow(panel[c], cmap="magma", vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
        label = title.replace("_loss", "").replace("_", " ")
        axes[r, 0].set_ylabel(label.replace(", ", "\n"), fontsize=8)
    for c in range(len(images)):
        axes[0, c].set_title(f"test image {c + 1}\n{truth[c].mean():.1%} positive", fontsize=8)
    if probability is not None:
        fig.colorbar(probability, ax=axes.ravel().tolist(), shrink=0.6, label="mask / p")
    fig.suptitle("Test images, true masks and each loss's predicted probabilities")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    args = parse_args((__doc__ or "").splitlines()[0], argv)
    rng = np.random.default_rng(3)
    xt, yt = masks(32 if args.quick else 192, rng)
    xv, yv = masks(16 if args.quick else 64, rng)
    targets = jnp.asarray(yv)

    def scores(model) -> dict[str, Any]:
        probs = jax.nn.sigmoid(model(jnp.asarray(xv)))
        _, recall, _ = jaxloss.precision_recall_f1(probs, targets)
        return {"IoU": jaxloss.iou_score(probs, targets), "recall": recall}

    results, tracks, shown = {}, {}, {}
    for name, loss in LOSSES.items():
        model = Net(nnx.Rngs(0))
        tracks[name] = {}
        fit(
            model,
            lambda m, xb, yb, loss=loss: loss(m(xb), yb),
            minibatches((xt, yt), 16),
            epochs=2 if args.quick else 40,
            lr=3e-3,
            label=f"segmentation: {name}",
            evaluate=scores,
            track=tracks[name],
        )
        probs = jax.nn.sigmoid(model(jnp.asarray(xv)))
        _, recall, _ = jaxloss.precision_recall_f1(probs, targets)
        results[name] = {
            "iou": float(jaxloss.iou_score(probs, targets)),
            "recall": float(recall),
            "mean_probability": float(probs.mean()),
        }
        shown[name] = np.asarray(probs[:4])
    plot_metrics(
        tracks,
        args.out / "segmentation_loss_curves.png",
        "Segmentation, ~2% positive pixels: test IoU and recall",
        {"IoU": "higher", "recall": "higher"},
    )
    plot_masks(xv[:4, ..., 0], yv[:4], shown, args.out / "segmentation_masks.png")

    rows = [
        (name, *(f"{r[k]:.3f}" for k in ("iou", "recall", "mean_probability")))
        for name, r in results.items()
    ]
    print_results(
        f"4. Segmentation: sparse masks, {yt.mean():.1%} positive pixels",
        ["training loss", "IoU", "recall", "mean predicted p"],
        rows,
        f"recall {rows[0][2]} (BCE) vs {rows[1][2]} (Focal + Tversky: beta > alpha favours recall)",
    )
    return results


if __name__ == "__main__":
    main()
