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

# test modules live in subfolders mirroring jaxloss/; they share tests/helpers.py
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
