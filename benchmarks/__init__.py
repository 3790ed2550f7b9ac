"""jaxloss benchmark harness: every registered loss, jit-compiled, side by side with
its optax and PyTorch peers in one run, against the machine's copy bandwidth.

Run ``python -m benchmarks --help`` (or ``jaxloss bench --help``) from a checkout.
"""
