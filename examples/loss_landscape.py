"""A loss-landscape figure: the Himmelblau surface, with optimiser paths.

Himmelblau's function, :math:`f(w_1, w_2) = (w_1^2 + w_2 - 11)^2 + (w_1 + w_2^2 - 7)^2`,
is a classic non-convex toy landscape with four minima of value 0 and a local
maximum. Loss-function guides render it in 3-D; this script does the
same in JAX and adds what those pictures only describe: the paths that plain gradient
descent and Adam (optax) take from the same start, computed with ``jax.grad``.

Run: ``python examples/loss_landscape.py`` (``--quick`` for a smaller grid).
"""

from __future__ import annotations

import argparse
import pathlib

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def himmelblau(w: jax.Array) -> jax.Array:
    return (w[0] ** 2 + w[1] - 11) ** 2 + (w[0] + w[1] ** 2 - 7) ** 2


def descend(optimizer: optax.GradientTransformation, start, steps: int) -> np.ndarray:
    """The optimiser's path from ``start`` (one ``lax.scan``)."""

    def step(carry, _):
        w, state = carry
        updates, state = optimizer.update(jax.grad(himmelblau)(w), state, w)
        w = optax.apply_updates(w, updates)
        return (w, state), w

    w0 = jnp.asarray(start, jnp.float32)
    _, path = jax.lax.scan(step, (w0, optimizer.init(w0)), None, length=steps)
    return np.concatenate([np.asarray(w0)[None], np.asarray(path)])


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a coarse grid, for smoke tests")
    parser.add_argument("--out", default="example-output", help="folder for the figure")
    args = parser.parse_args(argv)
    n = 60 if args.quick else 240

    w1, w2 = np.meshgrid(np.linspace(-5, 5, n), np.linspace(-5, 5, n))
    surface = np.asarray(jax.vmap(himmelblau, in_axes=1)(jnp.asarray([w1.ravel(), w2.ravel()])))
    surface = surface.reshape(n, n)
    start = (-0.3, -0.9)
    paths = {
        "gradient descent (lr 0.01)": descend(optax.sgd(0.01), start, 200),
        "Adam (lr 0.1)": descend(optax.adam(0.1), start, 200),
    }
    ends = {}
    for name, path in paths.items():
        end = path[-1]
        ends[name] = (float(end[0]), float(end[1]), float(himmelblau(jnp.asarray(end))))
        print(f"{name:28s} ends at ({end[0]:+.3f}, {end[1]:+.3f}), loss {ends[name][2]:.2e}")

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig = plt.figure(figsize=(12, 5))
    ax3d = fig.add_subplot(1, 2, 1, projection="3d")
    ax3d.plot_surface(w1, w2, np.log1p(surface), cmap="viridis", alpha=0.85, linewidth=0)
    ax3d.set(xlabel="weight w1", ylabel="weight w2", zlabel="log(1 + loss)")
    ax3d.set_title("Himmelblau loss surface")
    ax3d.view_init(elev=35, azim=-60)
    ax = fig.add_subplot(1, 2, 2)
    ax.contourf(w1, w2, np.log1p(surface), levels=30, cmap="viridis")
    for (name, path), colour in zip(paths.items(), ("white", "tab:red"), strict=True):
        ax.plot(path[:, 0], path[:, 1], ".-", color=colour, ms=2, lw=1, label=name)
        ax3d.plot(
            path[:, 0],
            path[:, 1],
            np.log1p(np.asarray(jax.vmap(himmelblau)(path))),
            color=colour,
            lw=2,
        )
    ax.plot(*start, "o", color="k", label="start")
    ax.set(xlabel="weight w1", ylabel="weight w2", title="Optimiser paths (contours: log(1+loss))")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "loss_landscape.png", dpi=120)
    plt.close(fig)
    print(f"figure: {out / 'loss_landscape.png'}")
    return ends


if __name__ == "__main__":
    main()
