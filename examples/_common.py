"""What the four tour examples share: an MLP, a training loop, minibatches,
a standardised split, a figure of the metrics per epoch and a results table.

The stories themselves (data, competing losses, metrics) are in
``regression_outliers.py``, ``binary_imbalanced.py``, ``multiclass_calibration.py``
and ``segmentation.py``; ``jaxloss demo`` runs them in turn.
"""

from __future__ import annotations

import argparse
import itertools
import pathlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
import matplotlib
import numpy as np
import optax
from flax import nnx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

matplotlib.use("Agg")
import matplotlib.pyplot as plt

# one epoch's minibatches, in an order drawn from the generator
Batches = Callable[[np.random.Generator], list[tuple[np.ndarray, ...]]]


def parse_args(description: str, argv: Sequence[str] | None) -> argparse.Namespace:
    """The flags every tour example takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a few epochs, for smoke tests")
    parser.add_argument("--out", default="example-output", help="folder for the figures")
    args = parser.parse_args(argv)
    args.out = pathlib.Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


class MLP(nnx.Module):
    """ReLU layers of the given widths, a linear output."""

    def __init__(self, sizes: Sequence[int], seed: int = 0):
        rngs = nnx.Rngs(seed)
        self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in itertools.pairwise(sizes)])

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = nnx.relu(layer(x))
        return self.layers[-1](x)


def fit(
    model,
    loss_fn,
    batches: Batches,
    *,
    epochs: int,
    lr: float,
    label: str,
    evaluate: Callable[[Any], dict[str, Any]] | None = None,
    track: dict[str, list[float]] | None = None,
) -> list[float]:
    """Trains ``model`` in place with AdamW on ``loss_fn(model, *batch)``; returns
    the mean training loss of each epoch.

    With ``evaluate``, ``evaluate(model)`` runs after every epoch and each metric
    it returns is appended to ``track[metric]``: the story's metric per epoch,
    comparable across losses (the training losses are not, each in its own
    units)."""
    optimizer = nnx.Optimizer(model, optax.adamw(lr, weight_decay=1e-4), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, *batch):
        loss, grads = nnx.value_and_grad(lambda m: loss_fn(m, *batch))(model)
        optimizer.update(model, grads)
        return loss

    rng = np.random.default_rng(0)
    history = []
    # a live bar on a terminal; piped output keeps only the results
    with Progress(transient=True, disable=not sys.stdout.isatty()) as progress:
        task = progress.add_task(label, total=epochs)
        for _ in range(epochs):
            losses = [step(model, optimizer, *b) for b in batches(rng)]
            history.append(float(jnp.mean(jnp.stack(losses))))
            if evaluate is not None and track is not None:
                for metric, value in evaluate(model).items():
                    track.setdefault(metric, []).append(float(value))
            progress.advance(task)
    return history


def minibatches(arrays: Sequence[np.ndarray], size: int) -> Batches:
    """Shuffled minibatches of about ``size`` rows, a new order each epoch."""
    n = len(arrays[0])

    def batches(rng: np.random.Generator) -> list[tuple[np.ndarray, ...]]:
        order = rng.permutation(n)
        return [tuple(a[i] for a in arrays) for i in np.array_split(order, max(1, n // size))]

    return batches


def standardised_split(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, train: float):
    """Shuffles, splits off the first ``train`` fraction and standardises the
    features with the training rows' statistics: ``(x, y)`` for train and test."""
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    n = int(train * len(y))
    mu, sd = x[:n].mean(0), x[:n].std(0)
    sd = np.where(sd > 0, sd, 1.0)  # digits has pixels that are always 0 in training
    x = ((x - mu) / sd).astype(np.float32)
    return (x[:n], y[:n]), (x[n:], y[n:])


def plot_metrics(
    tracks: dict[str, dict[str, list[float]]],
    path: pathlib.Path,
    title: str,
    better: dict[str, str] | None = None,
) -> None:
    """The story's metrics per epoch on held-out data, one panel per metric and
    one line per training loss: ``tracks[loss][metric]`` is that loss's history.
    ``better`` says which way is better for a metric ("lower" or "higher")."""
    better = better or {}
    metrics = list(next(iter(tracks.values())))
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(4.2 * len(metrics) + 1.5, 3.8), squeeze=False
    )
    for ax, metric in zip(axes[0], metrics, strict=True):
        for name, track in tracks.items():
            history = track[metric]
            ax.plot(np.arange(1, len(history) + 1), history, label=name)
        hint = f" ({better[metric]} is better)" if metric in better else ""
        ax.set(xlabel="epoch", ylabel=metric, title=metric + hint)
        ax.grid(alpha=0.3)
    # one legend for every panel, outside the plots
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def print_results(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], note: str):
    """The story's title, its results table and the lesson it shows."""
    console = Console()
    console.print(f"\n[bold]{title}[/bold]")
    table = Table()
    for i, column in enumerate(header):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"[italic]{note}[/italic]")
