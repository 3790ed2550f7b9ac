"""Imbalanced binary classification: BCE vs pos_weight vs focal loss (recall, ECE).

The usual advice for a rare positive class, on scikit-learn's breast-cancer
data thinned to about 8% malignant (a clinical-style rate). A Flax NNX MLP is
trained with optax under plain BCE, BCE with the ``pos_weight`` that
``jaxloss.recommend`` suggests for the training rate, and sigmoid focal loss.
Reweighting buys recall on the rare class and pays in precision and
calibration (ECE). The figure shows the training curves.

Run: ``python examples/binary_imbalanced.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from _common import (
    MLP,
    fit,
    minibatches,
    parse_args,
    plot_metrics,
    print_results,
    standardised_split,
)
from sklearn.datasets import load_breast_cancer

import jaxloss


def data(rng: np.random.Generator):
    """Standardised breast-cancer data with 31 of its malignant cases kept (label 1)."""
    x, y = load_breast_cancer(return_X_y=True)
    y = 1 - y  # 1 = malignant, the class to find
    keep = np.concatenate([np.flatnonzero(y == 0), rng.choice(np.flatnonzero(y == 1), 31)])
    return standardised_split(x[keep], y[keep].astype(np.float32), rng, train=0.6)


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    args = parse_args((__doc__ or "").splitlines()[0], argv)
    (xt, yt), (xv, yv) = data(np.random.default_rng(1))
    rate = float(yt.mean())
    advice = jaxloss.recommend("binary", positive_rate=rate)
    pos_weight = next(r.options["pos_weight"] for r in advice if "pos_weight" in r.options)
    losses = {
        "binary_cross_entropy_with_logits": jaxloss.binary_cross_entropy_with_logits,
        f"BCE, pos_weight={pos_weight:.1f}": functools.partial(
            jaxloss.binary_cross_entropy_with_logits, pos_weight=jnp.float32(pos_weight)
        ),
        "sigmoid_focal_loss (alpha 0.75)": functools.partial(
            jaxloss.sigmoid_focal_loss, alpha=0.75, gamma=2.0
        ),
    }

    def scores(model) -> dict[str, Any]:
        probs = jax.nn.sigmoid(model(jnp.asarray(xv))[:, 0])
        precision, recall, f1 = jaxloss.precision_recall_f1(probs, jnp.asarray(yv))
        ece = jaxloss.expected_calibration_error(probs, jnp.asarray(yv))
        return {"recall": recall, "precision": precision, "F1": f1, "ECE": ece}

    results, tracks = {}, {}
    for name, loss in losses.items():
        model = MLP((30, 32, 1))
        tracks[name] = {}
        fit(
            model,
            lambda m, xb, yb, loss=loss: loss(m(xb)[:, 0], yb),
            minibatches((xt, yt), 32),
            epochs=3 if args.quick else 40,
            lr=1e-3,
            label=f"imbalanced: {name}",
            evaluate=scores,
            track=tracks[name],
        )
        final = scores(model)
        results[name] = {
            "recall": float(final["recall"]),
            "precision": float(final["precision"]),
            "f1": float(final["F1"]),
            "ece": float(final["ECE"]),
        }
    plot_metrics(
        tracks,
        args.out / "imbalanced_loss_curves.png",
        f"Imbalanced binary ({rate:.0%} positives): test recall, precision, F1 and calibration",
        {"recall": "higher", "precision": "higher", "F1": "higher", "ECE": "lower"},
    )

    rows = [
        (name, *(f"{r[k]:.2f}" for k in ("recall", "precision", "f1")), f"{r['ece']:.3f}")
        for name, r in results.items()
    ]
    print_results(
        f"2. Imbalanced binary: breast cancer, {rate:.0%} malignant (test n={len(yv)})",
        ["training loss", "recall", "precision", "F1", "ECE"],
        rows,
        f"recall {rows[0][1]} (BCE) -> {rows[1][1]} (pos_weight) / {rows[2][1]} (focal); "
        "reweighting trades precision and calibration (ECE) for recall",
    )
    return results


if __name__ == "__main__":
    main()
