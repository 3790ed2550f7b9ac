"""Regression with gross outliers in the training targets: MSE vs Huber vs L1.

Robust-regression advice on real data: scikit-learn's diabetes
set, with a tenth of the training targets replaced by gross errors (5 to 10
standard deviations off) and a clean test set. A Flax NNX MLP is trained with
optax under each loss; MSE squares the outliers' errors and chases them, Huber
and L1 bound their pull. The figure shows the training curves.

Run: ``python examples/regression_outliers.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

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
from sklearn.datasets import load_diabetes

import jaxloss

LOSSES = {
    "mse_loss": jaxloss.mse_loss,
    "huber_loss": functools.partial(jaxloss.huber_loss, delta=1.0),
    "l1_loss": jaxloss.l1_loss,
}


def data(rng: np.random.Generator):
    """Standardised diabetes data; a tenth of the training targets are gross errors."""
    x, y = load_diabetes(return_X_y=True)
    (xt, yt), (xv, yv) = standardised_split(x, (y - y.mean()) / y.std(), rng, train=0.75)
    yt = yt.copy()
    bad = rng.choice(len(yt), len(yt) // 10, replace=False)
    yt[bad] += rng.choice([-1.0, 1.0], len(bad)) * rng.uniform(5.0, 10.0, len(bad))
    return (xt, yt.astype(np.float32)), (xv, yv.astype(np.float32)), float(y.std())


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    args = parse_args((__doc__ or "").splitlines()[0], argv)
    (xt, yt), (xv, yv), scale = data(np.random.default_rng(0))

    def evaluate(model) -> dict[str, float]:
        # errors on the clean test set, in the targets' original units
        error = float(jaxloss.l1_loss(model(jnp.asarray(xv))[:, 0], yv)) * scale
        return {"test MAE": error}

    results, tracks = {}, {}
    for name, loss in LOSSES.items():
        model = MLP((10, 64, 64, 1))
        tracks[name] = {}
        fit(
            model,
            lambda m, xb, yb, loss=loss: loss(m(xb)[:, 0], yb),
            minibatches((xt, yt), 32),
            epochs=4 if args.quick else 60,
            lr=1e-3,
            label=f"regression: {name}",
            evaluate=evaluate,
            track=tracks[name],
        )
        pred = model(jnp.asarray(xv))[:, 0]
        # errors in the targets' original units
        results[name] = {
            "test_mae": float(jaxloss.l1_loss(pred, yv)) * scale,
            "test_rmse": float(jaxloss.rmse_loss(pred, yv)) * scale,
        }
    plot_metrics(
        tracks,
        args.out / "regression_loss_curves.png",
        "Regression, 10% outliers in training: error on the clean test set",
        {"test MAE": "lower"},
    )

    best = min(results, key=lambda name: results[name]["test_mae"])
    print_results(
        "1. Regression with 10% gross outliers in training (diabetes; clean test set)",
        ["training loss", "test MAE", "test RMSE"],
        [(name, f"{r['test_mae']:.1f}", f"{r['test_rmse']:.1f}") for name, r in results.items()],
        f"lowest clean-test MAE: {best} (MSE squares the outliers' errors and chases them)",
    )
    return results


if __name__ == "__main__":
    main()
