"""Sparse-mask segmentation (seed 000): BCE vs Focal + Tversky, judged by IoU and recall.

The training code is the ``segmentation`` story of ``jaxloss demo`` (``jaxloss/demo.py``):
a Flax NNX model trained with optax under each loss, on data that ships with
scikit-learn (or synthetic masks), with the figures written to ``--out``.

Run: ``python examples/segmentation.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse

from jaxloss.app import demo


def main(argv: list[str] | None = None) -> dict[str, list]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs, for smoke tests")
    parser.add_argument("--out", default="example-output", help="folder for the figures")
    args = parser.parse_args(argv)
    flags = ["--only", "segmentation", "--out", args.out] + ["--quick"] * args.quick
    return demo.main(flags)


if __name__ == "__main__":
    main()
