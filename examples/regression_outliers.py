"""Regression with outliers (seed 001): the same Flax NNX MLP under MSE, Huber and L1.

The training code is the ``regression`` story of ``jaxloss demo`` (``jaxloss/demo.py``):
a Flax NNX model trained with optax under each loss, on scikit-learn's diabetes
data with a tenth of its training targets corrupted; figures go to ``--out``.

Run: ``python examples/regression_outliers.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse

from jaxloss.app import demo


def main(argv: list[str] | None = None) -> dict[str, list]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs, for smoke tests")
    parser.add_argument("--out", default="example-output", help="folder for the figures")
    args = parser.parse_args(argv)
    flags = ["--only", "regression", "--out", args.out] + ["--quick"] * args.quick
    return demo.main(flags)


if __name__ == "__main__":
    main()
