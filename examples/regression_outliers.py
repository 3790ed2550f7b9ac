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
    plot_curves,
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
    args = parse_args(__doc__.splitlines()[0], argv)
    (xt, yt), (xv, yv), scale = data(np.random.default_rng(0))

    results, curves = {}, {}
    for name, loss in LOSSES.items():
        model = MLP((10, 64, 64, 1))
        curves[name] = fit(
            model,
            lambda m, xb, yb, loss=loss: loss(m(xb)[:, 0], yb),
            minibatches((xt, yt), 32),
            epochs=4 if args.quick else 60,
            lr=1e-3,
            label=f"regression: {name}",
        )
        pred = model(jnp.asarray(xv))[:, 0]
        # errors in the targets' original units
        results[name] = {
            "test_mae": float(jaxloss.l1_loss(pred, yv)) * scale,
            "test_rmse": float(jaxloss.rmse_loss(pred, yv)) * scale,
        }
    plot_curves(curves, args.out / "regression_loss_curves.png", "Regression, 10% outliers")

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
