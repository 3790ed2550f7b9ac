"""``jaxloss demo``: a short tour of the sources' main lessons on real data.

Four stories, each a Flax NNX model trained with optax under competing losses:

1. regression with outliers (scikit-learn's diabetes data): MSE vs Huber vs L1;
2. imbalanced binary classification (the breast-cancer data thinned to ~8%
   malignant, a clinical-style rate): BCE vs ``pos_weight`` vs focal, with recall
   and calibration;
3. multi-class with and without label smoothing (the digits data): accuracy,
   ECE and a reliability diagram;
4. seed 000's segmentation story: sparse masks (~2% positive pixels), BCE vs
   Focal + Tversky, judged by IoU and recall.

The data sets ship inside scikit-learn (no downloads); the masks are synthetic.
Needs the ``examples`` extra (flax, optax, matplotlib, rich, scikit-learn), imported
here and not by ``import jaxloss``.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import pathlib
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss

Batches = Callable[[np.random.Generator], list[tuple[np.ndarray, ...]]]


def _deps():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optax
    from flax import nnx
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    return nnx, optax, plt, Console, Progress, Table


def _mlp(nnx, sizes: Sequence[int], seed: int):
    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.layers = nnx.List(
                [nnx.Linear(a, b, rngs=rngs) for a, b in itertools.pairwise(sizes)]
            )

        def __call__(self, x):
            for layer in self.layers[:-1]:
                x = nnx.relu(layer(x))
            return self.layers[-1](x)

    return MLP(nnx.Rngs(seed))


def fit(model, loss_fn, batches: Batches, *, epochs: int, lr: float, progress, label: str):
    """Trains ``model`` in place with AdamW; returns the mean loss per epoch."""
    nnx, optax = _deps()[:2]
    optimizer = nnx.Optimizer(model, optax.adamw(lr, weight_decay=1e-4), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, *batch):
        loss, grads = nnx.value_and_grad(lambda m: loss_fn(m, *batch))(model)
        optimizer.update(model, grads)
        return loss

    rng = np.random.default_rng(0)
    task = progress.add_task(label, total=epochs)
    history = []
    for _ in range(epochs):
        losses = [step(model, optimizer, *b) for b in batches(rng)]
        history.append(float(jnp.mean(jnp.stack(losses))))
        progress.advance(task)
    return history


def _minibatches(arrays: Sequence[np.ndarray], size: int) -> Batches:
    n = len(arrays[0])

    def batches(rng):
        order = rng.permutation(n)
        return [tuple(a[i] for a in arrays) for i in np.array_split(order, max(1, n // size))]

    return batches


def _split(x, y, rng, train: float = 0.6):
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    n = int(train * len(y))
    mu, sd = x[:n].mean(0), x[:n].std(0)
    sd = np.where(sd > 0, sd, 1.0)  # digits has pixels that are always 0 in training
    x = ((x - mu) / sd).astype(np.float32)
    return (x[:n], y[:n]), (x[n:], y[n:])


# ------------------------------------------------------------------ the four stories


def regression(quick: bool, progress, out: pathlib.Path, plt) -> tuple[str, list, list, str]:
    from sklearn.datasets import load_diabetes

    nnx = _deps()[0]
    x, y = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(0)
    (xt, yt), (xv, yv) = _split(x, (y - y.mean()) / y.std(), rng, train=0.75)
    yt = yt.copy()
    bad = rng.choice(len(yt), len(yt) // 10, replace=False)  # a tenth are gross errors
    yt[bad] += rng.choice([-1.0, 1.0], len(bad)) * rng.uniform(5.0, 10.0, len(bad))
    yt, yv = yt.astype(np.float32), yv.astype(np.float32)
    losses = {
        "mse_loss": jaxloss.mse_loss,
        "huber_loss": functools.partial(jaxloss.huber_loss, delta=1.0),
        "l1_loss": jaxloss.l1_loss,
    }
    rows, curves = [], {}
    for name, loss in losses.items():
        model = _mlp(nnx, (10, 64, 64, 1), seed=0)
        curves[name] = fit(
            model,
            lambda m, xb, yb, loss=loss: loss(m(xb)[:, 0], yb),
            _minibatches((xt, yt), 32),
            epochs=4 if quick else 60,
            lr=1e-3,
            progress=progress,
            label=f"regression: {name}",
        )
        pred = model(jnp.asarray(xv))[:, 0]
        mae = float(jaxloss.l1_loss(pred, yv)) * y.std()
        rmse = float(jaxloss.rmse_loss(pred, yv)) * y.std()
        rows.append((name, f"{mae:.1f}", f"{rmse:.1f}"))
    _curves(plt, curves, out / "regression_loss_curves.png", "Regression, 10% outliers")
    title = "1. Regression with 10% gross outliers in training (diabetes; clean test set)"
    best = min(rows, key=lambda r: float(r[1]))[0]
    note = f"lowest clean-test MAE: {best} (MSE squares the outliers' errors and chases them)"
    return title, ["training loss", "test MAE", "test RMSE"], rows, note


def imbalanced(quick: bool, progress, out: pathlib.Path, plt) -> tuple[str, list, list, str]:
    from sklearn.datasets import load_breast_cancer

    nnx = _deps()[0]
    x, y = load_breast_cancer(return_X_y=True)
    y = 1 - y  # 1 = malignant, the class to find
    rng = np.random.default_rng(1)
    keep = np.concatenate([np.flatnonzero(y == 0), rng.choice(np.flatnonzero(y == 1), 31)])
    (xt, yt), (xv, yv) = _split(x[keep], y[keep].astype(np.float32), rng)
    rate = float(yt.mean())
    rec = jaxloss.recommend("binary", positive_rate=rate)
    pos_weight = next(r.options["pos_weight"] for r in rec if "pos_weight" in r.options)
    losses = {
        "binary_cross_entropy_with_logits": jaxloss.binary_cross_entropy_with_logits,
        f"BCE, pos_weight={pos_weight:.1f}": functools.partial(
            jaxloss.binary_cross_entropy_with_logits, pos_weight=jnp.float32(pos_weight)
        ),
        "sigmoid_focal_loss (alpha 0.75)": functools.partial(
            jaxloss.sigmoid_focal_loss, alpha=0.75, gamma=2.0
        ),
    }
    rows, curves = [], {}
    for name, loss in losses.items():
        model = _mlp(nnx, (30, 32, 1), seed=0)
        curves[name] = fit(
            model,
            lambda m, xb, yb, loss=loss: loss(m(xb)[:, 0], yb),
            _minibatches((xt, yt), 32),
            epochs=3 if quick else 40,
            lr=1e-3,
            progress=progress,
            label=f"imbalanced: {name}",
        )
        probs = jax.nn.sigmoid(model(jnp.asarray(xv))[:, 0])
        p, r, f1 = jaxloss.precision_recall_f1(probs, jnp.asarray(yv))
        ece = jaxloss.expected_calibration_error(probs, jnp.asarray(yv))
        rows.append((name, f"{float(r):.2f}", f"{float(p):.2f}", f"{float(f1):.2f}", f"{ece:.3f}"))
    _curves(plt, curves, out / "imbalanced_loss_curves.png", "Imbalanced binary")
    title = f"2. Imbalanced binary: breast cancer, {rate:.0%} malignant (test n={len(yv)})"
    note = (
        f"recall {rows[0][1]} (BCE) -> {rows[1][1]} (pos_weight) / {rows[2][1]} (focal); "
        "reweighting trades precision and calibration (ECE) for recall"
    )
    return title, ["training loss", "recall", "precision", "F1", "ECE"], rows, note


def calibration(quick: bool, progress, out: pathlib.Path, plt) -> tuple[str, list, list, str]:
    from sklearn.datasets import load_digits

    nnx = _deps()[0]
    x, y = load_digits(return_X_y=True)
    (xt, yt), (xv, yv) = _split(x, y, np.random.default_rng(2), train=0.3)
    rows, diagrams = [], {}
    for smoothing in (0.0, 0.1):
        model = _mlp(nnx, (64, 128, 10), seed=0)
        fit(
            model,
            lambda m, xb, yb, s=smoothing: jaxloss.cross_entropy(m(xb), yb, label_smoothing=s),
            _minibatches((xt, yt), 32),
            epochs=3 if quick else 80,
            lr=1e-3,
            progress=progress,
            label=f"multi-class: label_smoothing={smoothing}",
        )
        logits = model(jnp.asarray(xv))
        probs = jax.nn.softmax(logits)
        name = f"label_smoothing={smoothing}"
        diagrams[name] = jaxloss.reliability_diagram(probs, jnp.asarray(yv), n_bins=15)
        acc = float(jaxloss.accuracy(logits, jnp.asarray(yv)))
        ece = float(jaxloss.expected_calibration_error(probs, jnp.asarray(yv), n_bins=15))
        nll = float(jaxloss.cross_entropy(logits, jnp.asarray(yv)))
        conf = float(jnp.mean(jnp.max(probs, -1)))
        rows.append((name, f"{acc:.3f}", f"{conf:.3f}", f"{ece:.3f}", f"{nll:.3f}"))
    _reliability(plt, diagrams, out / "reliability_diagram.png")
    title = f"3. Multi-class calibration: digits, {len(yt)} train / {len(yv)} test"

    def state(row) -> str:
        gap = float(row[2]) - float(row[1])  # mean confidence - accuracy
        return "overconfident" if gap > 0.02 else "underconfident" if gap < -0.02 else "calibrated"

    note = (
        f"without smoothing: {state(rows[0])}; with label_smoothing=0.1: {state(rows[1])} "
        f"(ECE {rows[0][3]} -> {rows[1][3]}). Smoothing cures overconfidence; measure first."
    )
    return title, ["cross_entropy", "accuracy", "mean confidence", "ECE", "test NLL"], rows, note


def _masks(n: int, size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Noisy images with one to three small disks: about 2% positive pixels."""
    grid = np.mgrid[:size, :size]
    masks = np.zeros((n, size, size), np.float32)
    for mask in masks:
        for _ in range(rng.integers(1, 4)):
            centre, radius = rng.uniform(3, size - 3, 2), rng.uniform(1.2, 2.5)
            mask[np.hypot(*(grid - centre[:, None, None])) <= radius] = 1.0
    images = masks * 1.5 + rng.normal(0.0, 1.0, masks.shape).astype(np.float32)
    return images[..., None], masks


def segmentation(quick: bool, progress, out: pathlib.Path, plt) -> tuple[str, list, list, str]:
    nnx = _deps()[0]

    class Net(nnx.Module):
        def __init__(self, rngs):
            conv = functools.partial(nnx.Conv, kernel_size=(3, 3), rngs=rngs)
            self.c1, self.c2, self.c3 = conv(1, 16), conv(16, 16), conv(16, 1)

        def __call__(self, x):
            return self.c3(nnx.relu(self.c2(nnx.relu(self.c1(x)))))[..., 0]

    rng = np.random.default_rng(3)
    size = 32
    xt, yt = _masks(32 if quick else 192, size, rng)
    xv, yv = _masks(16 if quick else 64, size, rng)
    losses = {
        "binary_cross_entropy_with_logits": jaxloss.binary_cross_entropy_with_logits,
        "focal_and_tversky_loss": jaxloss.focal_and_tversky_loss,
    }
    rows, curves, shown = [], {}, {}
    for name, loss in losses.items():
        model = Net(nnx.Rngs(0))
        curves[name] = fit(
            model,
            lambda m, xb, yb, loss=loss: loss(m(xb), yb),
            _minibatches((xt, yt), 16),
            epochs=2 if quick else 40,
            lr=3e-3,
            progress=progress,
            label=f"segmentation: {name}",
        )
        probs = jax.nn.sigmoid(model(jnp.asarray(xv)))
        iou = float(jaxloss.iou_score(probs, jnp.asarray(yv)))
        _, recall, _ = jaxloss.precision_recall_f1(probs, jnp.asarray(yv))
        rows.append((name, f"{iou:.3f}", f"{float(recall):.3f}", f"{float(probs.mean()):.3f}"))
        shown[name] = np.asarray(probs[:4])
    _curves(plt, curves, out / "segmentation_loss_curves.png", "Segmentation, ~2% positives")
    _segmentation_figure(plt, xv[:4, ..., 0], yv[:4], shown, out / "segmentation_masks.png")
    title = f"4. Segmentation: sparse masks, {yt.mean():.1%} positive pixels (seed 000)"
    note = (
        f"recall {rows[0][2]} (BCE) vs {rows[1][2]} (Focal + Tversky: beta > alpha favours recall)"
    )
    return title, ["training loss", "IoU", "recall", "mean predicted p"], rows, note


STORIES = {
    "regression": regression,
    "imbalanced": imbalanced,
    "calibration": calibration,
    "segmentation": segmentation,
}


# ------------------------------------------------------------------ figures


def _curves(plt, curves: dict, path: pathlib.Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, history in curves.items():
        ax.plot(np.arange(1, len(history) + 1), history, label=name)
    ax.set(xlabel="epoch", ylabel="training loss (each loss in its own units)", title=title)
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _reliability(plt, diagrams: dict, path: pathlib.Path) -> None:
    fig, axes = plt.subplots(1, len(diagrams), figsize=(5 * len(diagrams), 4.5), sharey=True)
    for ax, (name, d) in zip(np.atleast_1d(axes), diagrams.items(), strict=True):
        edges, count = np.asarray(d.edges), np.asarray(d.count)
        left, width = edges[:-1][count > 0], np.diff(edges)[count > 0]
        acc, conf = np.asarray(d.accuracy)[count > 0], np.asarray(d.confidence)[count > 0]
        ece = float(np.sum(count[count > 0] * np.abs(acc - conf)) / count.sum())
        ax.bar(left, acc, width, align="edge", edgecolor="k", alpha=0.8, label="accuracy")
        centre = left + width / 2
        ax.vlines(centre, np.minimum(acc, conf), np.maximum(acc, conf), color="tab:red", lw=2)
        ax.plot(centre, conf, "D", color="tab:red", ms=5, label="mean confidence")
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
        ax.set(xlabel="confidence", title=f"{name}\nECE = {ece:.3f}", xlim=(0, 1), ylim=(0, 1))
        ax.legend(loc="upper left")
    np.atleast_1d(axes)[0].set_ylabel("accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _segmentation_figure(plt, images, masks, shown: dict, path: pathlib.Path) -> None:
    rows = 2 + len(shown)
    fig, axes = plt.subplots(rows, len(images), figsize=(2.2 * len(images), 2.2 * rows))
    titles = ["image", "true mask", *shown]
    panels = [images, masks, *shown.values()]
    for r, (title, panel) in enumerate(zip(titles, panels, strict=True)):
        for c in range(len(images)):
            ax = axes[r, c]
            ax.imshow(panel[c], cmap="gray" if r == 0 else "magma", vmin=None if r == 0 else 0)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(title.replace("_loss", "").replace("_", " "), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ------------------------------------------------------------------ entry point


def main(argv: Sequence[str] | None = None) -> dict[str, list]:
    parser = argparse.ArgumentParser(
        prog="jaxloss demo", description=__doc__.splitlines()[0].strip("`: ")
    )
    parser.add_argument("--quick", action="store_true", help="a few epochs each (smoke test)")
    parser.add_argument("--out", default="demo-output", help="folder for the PNGs")
    parser.add_argument("--only", nargs="+", choices=sorted(STORIES), help="run only these")
    args = parser.parse_args(argv)
    _, _, plt, Console, Progress, Table = _deps()
    console = Console()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for key in args.only or STORIES:
        with Progress(console=console, transient=True) as progress:
            title, header, rows, note = STORIES[key](args.quick, progress, out, plt)
        console.print(f"\n[bold]{title}[/bold]")
        table = Table()
        for i, column in enumerate(header):
            table.add_column(column, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
        console.print(f"[italic]{note}[/italic]")
        results[key] = rows
    pngs = sorted(p.name for p in out.glob("*.png"))
    console.print(f"figures written to [bold]{out.resolve()}[/bold]: {', '.join(pngs)}")
    return results
