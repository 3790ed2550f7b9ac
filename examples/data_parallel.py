"""Data-parallel training over 8 devices with ``shard_map`` and ``axis_name``.

Every jaxloss loss takes ``axis_name``: inside ``shard_map`` the mean is taken
over the whole global batch (sums and counts are ``psum``-ed), so each device's
loss, and therefore the gradient, equals the single-device one, masked rows and
uneven shards included. This script simulates 8 CPU devices (the same code runs
on 8 GPUs or a TPU slice), shards a batch of a classification problem, checks
the sharded loss and gradients against one device, and trains an MLP (a plain
parameter pytree) with optax where each step runs under ``shard_map``.

Run: ``python examples/data_parallel.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import os

# must be set before JAX starts its CPU backend
if "--xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    )

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from sklearn.datasets import load_digits

import jaxloss


def loss(params, x, y, where, axis_name=None):
    """Two-layer MLP and label-smoothed cross-entropy, as pure functions of params."""
    h = jax.nn.relu(x @ params["w1"] + params["b1"])
    logits = h @ params["w2"] + params["b2"]
    return jaxloss.cross_entropy(logits, y, label_smoothing=0.1, where=where, axis_name=axis_name)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for smoke tests")
    parser.add_argument("--out", default="example-output", help="unused; for a uniform CLI")
    args = parser.parse_args(argv)
    steps = 20 if args.quick else 1000

    devices = jax.devices()
    mesh = Mesh(np.asarray(devices), ("data",))
    print(f"{len(devices)} devices: {devices[0].platform}; mesh axis 'data'")

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    n = (len(y) // len(devices)) * len(devices)  # equal shards
    x, y = x[:n], y[:n]
    where = np.ones(n, bool)
    where[: n // len(devices) // 2] = False  # rows to leave out, all on the first device

    init = jax.nn.initializers.lecun_normal()
    keys = jax.random.split(jax.random.key(0), 2)
    params = {
        "w1": init(keys[0], (64, 128)),
        "b1": jnp.zeros(128),
        "w2": init(keys[1], (128, 10)),
        "b2": jnp.zeros(10),
    }

    sharded_loss = jax.shard_map(
        lambda p, xb, yb, wb: loss(p, xb, yb, wb, axis_name="data"),
        mesh=mesh,
        in_specs=(P(), P("data"), P("data"), P("data")),
        out_specs=P(),
    )
    single = jax.value_and_grad(loss)(params, x, y, where)
    mapped = jax.jit(jax.value_and_grad(sharded_loss))(params, x, y, where)
    gap = max(
        float(jnp.max(jnp.abs(a - b)))
        for a, b in zip(jax.tree.leaves(single), jax.tree.leaves(mapped), strict=True)
    )
    print(f"sharded vs single-device loss and gradients: largest difference {gap:.2e}")

    optimizer = optax.adam(1e-3)
    opt_state = optimizer.init(params)

    @jax.jit
    def step(params, opt_state, xb, yb, wb):
        value, grads = jax.value_and_grad(sharded_loss)(params, xb, yb, wb)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    for i in range(steps):
        params, opt_state, value = step(params, opt_state, x, y, where)
        if i % max(1, steps // 5) == 0 or i == steps - 1:
            print(f"step {i:4d}  loss over all devices {float(value):.4f}")
    h = jax.nn.relu(x @ params["w1"] + params["b1"])
    accuracy = float(jaxloss.accuracy(h @ params["w2"] + params["b2"], y))
    print(f"training accuracy {accuracy:.3f}")
    return {"gap": gap, "loss": float(value), "accuracy": accuracy}


if __name__ == "__main__":
    main()
