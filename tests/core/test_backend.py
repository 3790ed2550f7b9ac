"""Per-backend forms (jaxloss/_core/backend.py): the form kept is the lowering
platform's, every form computes the same numbers, block sizes per platform."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxloss._core import backend


def _sum_rows_cpu(x):
    return jax.ops.segment_sum(x, jnp.arange(x.shape[0]) % 3, num_segments=3)


def _sum_rows_accelerator(x):
    return jax.nn.one_hot(jnp.arange(x.shape[0]) % 3, 3, dtype=x.dtype).T @ x


def test_by_platform_keeps_the_lowering_platforms_form():
    def f(x):
        return backend.by_platform(x, cpu=lambda a: a + 1.0, accelerator=lambda a: a + 2.0)

    here = 2.0 if backend.trace_platform() == "cpu" else 3.0
    assert float(jax.jit(f)(1.0)) == here
    # one program for several platforms: each runs its own form
    exported = jax.export.export(jax.jit(f), platforms=["cpu", "cuda", "tpu"])(
        jax.ShapeDtypeStruct((), jnp.float32)
    )
    assert exported.platforms == ("cpu", "cuda", "tpu")
    assert float(exported.call(1.0)) == here
    assert float(backend.by_platform(1.0, cpu=lambda a: a + 1.0)) == 2.0  # one form


def test_every_form_gives_the_same_numbers():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((10, 4)), jnp.float32)

    def f(a):
        return backend.by_platform(a, cpu=_sum_rows_cpu, accelerator=_sum_rows_accelerator)

    np.testing.assert_allclose(_sum_rows_cpu(x), _sum_rows_accelerator(x), rtol=1e-6)
    np.testing.assert_allclose(jax.jit(f)(x), _sum_rows_cpu(x), rtol=1e-6)
    g = jax.grad(lambda a: jnp.sum(jnp.sin(f(a))))(x)
    np.testing.assert_allclose(g, jax.grad(lambda a: jnp.sum(jnp.sin(_sum_rows_cpu(a))))(x))


@pytest.mark.parametrize("platform", ("cpu", "gpu", "tpu"))
def test_block_elements(platform):
    elements = backend.block_elements(platform)
    if platform == "cpu":
        assert elements == 1 << 23
    else:  # within 1/64 of the device's memory where it says
        assert 1 << 20 <= elements <= 1 << 26
    assert backend.trace_platform() in ("cpu", "gpu", "tpu")


def test_tolerance_policy():
    """Looser for lower precision and for accelerators' matmuls, exact on the CPU."""
    from backend import same_or_close, tolerance

    for where in ("cpu", "gpu", "tpu"):
        f64, f32, bf16 = (
            tolerance(d, backend=where)["rtol"] for d in ("float64", "float32", "bfloat16")
        )
        assert f64 < f32 < bf16
        assert tolerance(backend=where, matmul=True)["rtol"] >= f32
    assert tolerance(backend="cpu", matmul=True) == tolerance(backend="cpu")
    x = np.array([1.0, 2.0, 3.0], np.float32)
    same_or_close(x, x.copy(), backend="cpu")
    with pytest.raises(AssertionError):
        same_or_close(x, x + 1e-6, backend="cpu")
    same_or_close(x, x * (1 + 1e-7), backend="gpu")
    with pytest.raises(AssertionError):
        same_or_close(x, x * (1 + 1e-5), backend="gpu")
