"""Test configuration: 8 simulated CPU devices for the sharding tests.

XLA reads the flag when JAX initialises its backend, so it is set here, before
any test module imports jax.
"""

import os
import sys

_FLAG = "--xla_force_host_platform_device_count=8"
if _FLAG not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _FLAG).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import pytest  # noqa: E402

# Compilation is most of the suite's time; XLA's optimisation passes double it and
# change no value the tests compare. Tests that measure compiled memory are marked
# ``optimized`` and compile with the passes on, as users do.
jax.config.update("jax_disable_most_optimizations", True)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "optimized: compile with XLA's optimisations (compiled-memory tests)"
    )


@pytest.fixture(autouse=True)
def _xla_optimisations(request):
    if request.node.get_closest_marker("optimized") is None:
        yield
        return
    jax.config.update("jax_disable_most_optimizations", False)
    try:
        yield
    finally:
        jax.config.update("jax_disable_most_optimizations", True)


# test modules live in subfolders mirroring jaxloss/; they share tests/helpers.py
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
