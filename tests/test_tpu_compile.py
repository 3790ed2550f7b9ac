"""Every registered loss compiles for TPU (XLA's TPU compiler from libtpu, on a
v5e topology described without a TPU) and lowers for CUDA and TPU with
``jax.export``, so a program that works on the CPU is not a CPU-only program.

The export test needs nothing beyond jax; the compile test runs where libtpu is
installed (``pip install jaxloss[tpu]``) and is skipped elsewhere. Under
``jax.lax.platform_dependent`` the TPU program keeps the accelerator forms and
the CPU tests the CPU's.
"""

from __future__ import annotations

import importlib.util
import os

import jax
import jax.numpy as jnp
import pytest

import jaxloss
from jaxloss.catalogue import registry

NAMES = [spec.name for spec in registry.all_losses()]
HAS_LIBTPU = importlib.util.find_spec("libtpu") is not None


def _mean_value_and_grad(spec: registry.LossSpec, ex: registry.Example):
    """``value_and_grad`` of the mean loss in the example's array arguments."""

    def f(*args):
        def loss(*diff):
            full = list(args)
            for i, d in zip(ex.diff_argnums, diff, strict=True):
                full[i] = d
            return registry.call(spec, ex, full, reduction="mean")

        argnums = tuple(range(len(ex.diff_argnums)))
        return jax.value_and_grad(loss, argnums=argnums)(*[args[i] for i in ex.diff_argnums])

    return f


def _abstract(ex: registry.Example, sharding=None):
    return [
        jax.ShapeDtypeStruct(jnp.shape(a), jnp.result_type(a), sharding=sharding) for a in ex.args
    ]


@pytest.fixture(scope="module")
def tpu_device():
    if not HAS_LIBTPU:
        pytest.skip("libtpu is not installed (pip install 'jaxloss[tpu]')")
    # libtpu otherwise probes the host for a TPU and its neighbours
    os.environ.setdefault("TPU_ACCELERATOR_TYPE", "v5litepod-4")
    os.environ.setdefault("TPU_WORKER_HOSTNAMES", "localhost")
    from jax.experimental import topologies

    topology = topologies.get_topology_desc(topology_name="v5e:2x2", platform="tpu")
    return topology.devices[0]


@pytest.mark.parametrize("name", NAMES)
def test_compiles_for_tpu(name, tpu_device):
    spec = registry.get(name)
    ex = spec.example(jax.random.key(0), 8)
    sharding = jax.sharding.SingleDeviceSharding(tpu_device)
    compiled = jax.jit(_mean_value_and_grad(spec, ex)).lower(*_abstract(ex, sharding)).compile()
    assert compiled.memory_analysis() is not None


@pytest.mark.parametrize("name", NAMES)
def test_exports_for_cuda_and_tpu(name):
    spec = registry.get(name)
    ex = spec.example(jax.random.key(0), 8)
    exported = jax.export.export(
        jax.jit(_mean_value_and_grad(spec, ex)), platforms=["cuda", "tpu"]
    )(*_abstract(ex))
    assert exported.platforms == ("cuda", "tpu")


def test_fused_loss_temp_memory_on_tpu(tpu_device):
    """The fused loss on TPU at N = 8192, D = 1024, V = 32768 (bfloat16): its
    temporary memory is the float32 accumulator of the weight's gradient
    (D x V x 4 bytes, the price of three matmuls instead of four) and little
    else, a fraction of the materialised loss's bfloat16 logits (N x V x 2)."""
    sharding = jax.sharding.SingleDeviceSharding(tpu_device)
    n, d, v = 8192, 1024, 32768
    shapes = [
        jax.ShapeDtypeStruct((n, d), jnp.bfloat16, sharding=sharding),
        jax.ShapeDtypeStruct((d, v), jnp.bfloat16, sharding=sharding),
        jax.ShapeDtypeStruct((n,), jnp.int32, sharding=sharding),
    ]

    def temp(f):
        compiled = jax.jit(jax.value_and_grad(f, argnums=(0, 1))).lower(*shapes).compile()
        memory = compiled.memory_analysis()
        assert memory is not None
        return memory.temp_size_in_bytes

    fused = temp(jaxloss.fused_linear_cross_entropy)
    materialised = temp(lambda h, w, t: jaxloss.cross_entropy(h @ w, t))
    accumulator = d * v * 4
    assert fused <= accumulator * 1.05, (fused, accumulator)
    assert fused * 3 <= materialised, (fused, materialised)
