"""Regression with outliers: the same Flax NNX MLP trained under MSE, Huber and L1.

Seed 001's story on real data: scikit-learn's diabetes data set (442 patients,
10 features, shipped inside the package), with a tenth of the training targets
corrupted by gross errors. MSE chases the outliers; Huber and L1 shrug them off.
The test set is clean, so test MAE measures how well each loss learnt the signal.

Run: ``python examples/regression_outliers.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sklearn.datasets import load_diabetes

import jaxloss

LOSSES = {
    "mse_loss": jaxloss.mse_loss,
    "huber_loss": functools.partial(jaxloss.huber_loss, delta=1.0),
    "l1_loss": jaxloss.l1_loss,
}


class MLP(nnx.Module):
    def __init__(self, features: int, hidden: int, *, rngs: nnx.Rngs):
        self.hidden1 = nnx.Linear(features, hidden, rngs=rngs)
        self.hidden2 = nnx.Linear(hidden, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = nnx.relu(self.hidden1(x))
        x = nnx.relu(self.hidden2(x))
        return self.out(x)[..., 0]


def load_data(outlier_fraction: float, seed: int = 0):
    """Standardised diabetes data; gross errors injected into training targets only."""
    x, y = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    n_train = int(0.75 * len(y))
    mu, sigma = x[:n_train].mean(0), x[:n_train].std(0)
    y_mu, y_sigma = y[:n_train].mean(), y[:n_train].std()
    x = (x - mu) / sigma
    y = (y - y_mu) / y_sigma
    y_train = y[:n_train].copy()
    bad = rng.choice(n_train, int(outlier_fraction * n_train), replace=False)
    y_train[bad] += rng.choice([-1.0, 1.0], len(bad)) * rng.uniform(5.0, 10.0, len(bad))
    as_f32 = functools.partial(np.asarray, dtype=np.float32)
    return (
        (as_f32(x[:n_train]), as_f32(y_train)),
        (as_f32(x[n_train:]), as_f32(y[n_train:])),
        y_sigma,
    )


def train(loss_fn, data, *, epochs: int, batch_size: int, seed: int, progress, task):
    (x, y), _, _ = data
    model = MLP(x.shape[1], 64, rngs=nnx.Rngs(seed))
    optimizer = nnx.Optimizer(model, optax.adamw(1e-3, weight_decay=1e-2), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, xb, yb):
        loss, grads = nnx.value_and_grad(lambda m: loss_fn(m(xb), yb))(model)
        optimizer.update(model, grads)
        return loss

    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        order = rng.permutation(len(y))
        losses = [
            step(model, optimizer, x[idx], y[idx])
            for idx in np.array_split(order, max(1, len(y) // batch_size))
        ]
        history.append(float(jnp.mean(jnp.stack(losses))))
        progress.advance(task)
    return model, history


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs, for smoke tests")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--outliers", type=float, default=0.1, help="fraction of corrupted targets")
    args = parser.parse_args(argv)
    epochs = 5 if args.quick else args.epochs

    console = Console()
    data = load_data(args.outliers)
    (_, _), (x_test, y_test), y_sigma = data
    console.print(
        f"[bold]Regression with outliers[/bold]: diabetes data, {len(data[0][1])} train "
        f"({args.outliers:.0%} corrupted targets), {len(y_test)} clean test rows"
    )
    runs = [(name, fn, data) for name, fn in LOSSES.items()]
    runs.append(("mse_loss, clean targets (reference)", jaxloss.mse_loss, load_data(0.0)))
    results = {}
    with Progress(console=console, transient=False) as progress:
        for name, loss_fn, run_data in runs:
            task = progress.add_task(f"training with {name}", total=epochs)
            model, _ = train(
                loss_fn,
                run_data,
                epochs=epochs,
                batch_size=32,
                seed=0,
                progress=progress,
                task=task,
            )
            test_mae = float(jaxloss.l1_loss(model(jnp.asarray(x_test)), jnp.asarray(y_test)))
            results[name] = test_mae * y_sigma  # back in the data set's units

    table = Table(title="Test MAE on clean data (disease progression units; lower is better)")
    table.add_column("training loss")
    table.add_column("test MAE", justify="right")
    for name, mae in sorted(results.items(), key=lambda kv: kv[1]):
        table.add_row(name, f"{mae:.2f}")
    console.print(table)
    return results


if __name__ == "__main__":
    main()
