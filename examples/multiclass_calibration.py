"""Multi-class calibration: cross-entropy with and without label smoothing (ECE).

Calibration advice on scikit-learn's 8x8 digits: a Flax
NNX MLP trained with optax under ``cross_entropy``, once plain and once with
``label_smoothing=0.1``, judged by accuracy, mean confidence, expected
calibration error and test NLL. Smoothing cures overconfidence, and makes an
already calibrated model underconfident, so measure first. The figure is a
reliability diagram for each model.

Run: ``python examples/multiclass_calibration.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from _common import MLP, fit, minibatches, parse_args, print_results, standardised_split
from sklearn.datasets import load_digits

import jaxloss

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SMOOTHING = (0.0, 0.1)
NUM_BINS = 15


def plot_reliability(diagrams: dict, path: pathlib.Path) -> None:
    """Per-bin accuracy against mean confidence, one panel per model, each bar
    labelled with its number of test examples; the legend sits below the panels."""
    fig, axes = plt.subplots(
        1, len(diagrams), figsize=(5 * len(diagrams), 4.8), sharey=True, squeeze=False
    )
    for ax, (name, d) in zip(axes[0], diagrams.items(), strict=True):
        edges, count = np.asarray(d.edges), np.asarray(d.count)
        left, width = edges[:-1][count > 0], np.diff(edges)[count > 0]
        acc, conf = np.asarray(d.accuracy)[count > 0], np.asarray(d.confidence)[count > 0]
        n = count[count > 0]
        ece = float(np.sum(n * np.abs(acc - conf)) / count.sum())
        ax.bar(left, acc, width, align="edge", edgecolor="k", alpha=0.8, label="accuracy")
        centre = left + width / 2
        ax.vlines(centre, np.minimum(acc, conf), np.maximum(acc, conf), color="tab:red", lw=2)
        ax.plot(centre, conf, "D", color="tab:red", ms=5, label="mean confidence")
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
        for x, top, k in zip(centre, np.maximum(acc, conf), n, strict=True):
            ax.annotate(
                f"{int(k)}",
                (x, min(top, 1.0)),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
                rotation=90 if len(n) > 8 else 0,
            )
        ax.set(
            xlabel="confidence",
            title=f"{name}\nECE = {ece:.3f}  (bar labels: test examples per bin)",
            xlim=(0, 1),
            ylim=(0, 1.12),
        )
    axes[0, 0].set_ylabel("accuracy")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def calibration_state(accuracy: float, confidence: float) -> str:
    gap = confidence - accuracy
    return "overconfident" if gap > 0.02 else "underconfident" if gap < -0.02 else "calibrated"


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    args = parse_args((__doc__ or "").splitlines()[0], argv)
    x, y = load_digits(return_X_y=True)
    (xt, yt), (xv, yv) = standardised_split(x, y, np.random.default_rng(2), train=0.3)
    targets = jnp.asarray(yv)

    results, diagrams = {}, {}
    for smoothing in SMOOTHING:
        name = f"label_smoothing={smoothing}"
        model = MLP((64, 128, 10))
        fit(
            model,
            lambda m, xb, yb, s=smoothing: jaxloss.cross_entropy(m(xb), yb, label_smoothing=s),
            minibatches((xt, yt), 32),
            epochs=3 if args.quick else 80,
            lr=1e-3,
            label=f"multi-class: {name}",
        )
        logits = model(jnp.asarray(xv))
        probs = jax.nn.softmax(logits)
        diagrams[name] = jaxloss.reliability_diagram(probs, targets, num_bins=NUM_BINS)
        results[name] = {
            "accuracy": float(jaxloss.accuracy(logits, targets)),
            "confidence": float(jnp.mean(jnp.max(probs, -1))),
            "ece": float(jaxloss.expected_calibration_error(probs, targets, num_bins=NUM_BINS)),
            "nll": float(jaxloss.cross_entropy(logits, targets)),
        }
    plot_reliability(diagrams, args.out / "reliability_diagram.png")

    # the verdicts read the rounded table, as a reader would
    rows = [
        (name, *(f"{r[k]:.3f}" for k in ("accuracy", "confidence", "ece", "nll")))
        for name, r in results.items()
    ]
    plain, smoothed = (calibration_state(float(row[1]), float(row[2])) for row in rows)
    print_results(
        f"3. Multi-class calibration: digits, {len(yt)} train / {len(yv)} test",
        ["cross_entropy", "accuracy", "mean confidence", "ECE", "test NLL"],
        rows,
        f"without smoothing: {plain}; with label_smoothing=0.1: {smoothed} "
        f"(ECE {rows[0][3]} -> {rows[1][3]}). Smoothing cures overconfidence; measure first.",
    )
    return results


if __name__ == "__main__":
    main()
