"""``jaxloss demo``: a short tour of the loss-selection guides' main lessons on real data.

Four stories, each a Flax NNX model trained with optax under competing losses,
each an example script of the repository's ``examples/`` folder:

1. regression with outliers (scikit-learn's diabetes data): MSE vs Huber vs L1
   (``regression_outliers.py``);
2. imbalanced binary classification (the breast-cancer data thinned to ~8%
   malignant, a clinical-style rate): BCE vs ``pos_weight`` vs focal, with recall
   and calibration (``binary_imbalanced.py``);
3. multi-class with and without label smoothing (the digits data): accuracy,
   ECE and a reliability diagram (``multiclass_calibration.py``);
4. the segmentation story: sparse masks (~2% positive pixels), BCE vs
   Focal + Tversky, judged by IoU and recall (``segmentation.py``).

The data sets ship inside scikit-learn (no downloads); the masks are synthetic.
The scripts need the ``examples`` extra (flax, optax, matplotlib, rich,
scikit-learn) and a source checkout: the wheel holds no training code.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Sequence

from jaxloss.app import checkout

# story -> its script in examples/
STORIES = {
    "regression": "regression_outliers",
    "imbalanced": "binary_imbalanced",
    "calibration": "multiclass_calibration",
    "segmentation": "segmentation",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the selected stories in turn; the exit status of the command."""
    parser = argparse.ArgumentParser(
        prog="jaxloss demo",
        description="A short tour of the main lessons of the loss-selection guides, on real data.",
    )
    parser.add_argument("--quick", action="store_true", help="a few epochs each (smoke test)")
    parser.add_argument("--out", default="demo-output", help="folder for the PNGs")
    parser.add_argument("--only", nargs="+", choices=sorted(STORIES), help="run only these")
    args = parser.parse_args(argv)
    examples = checkout.folder("examples")
    if examples is None:
        print(checkout.missing("demo", "examples"), file=sys.stderr)
        return 2
    flags = ["--out", args.out] + ["--quick"] * args.quick
    for story in args.only or STORIES:
        try:
            script = checkout.import_script(examples / f"{STORIES[story]}.py")
            script.main(flags)
        except ModuleNotFoundError as exc:
            # an optional package of the examples extra: an installation hint,
            # not a traceback
            if not checkout.is_optional(exc):
                raise
            print(checkout.needs_extra("demo", exc, "examples"), file=sys.stderr)
            return 2
    out = pathlib.Path(args.out).resolve()
    print(f"figures written to {out}: {', '.join(sorted(p.name for p in out.glob('*.png')))}")
    return 0
