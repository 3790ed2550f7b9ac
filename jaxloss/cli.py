"""The ``jaxloss`` command line: ``jaxloss list`` prints the registry as a table."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from jaxloss import registry

COLUMNS = ("name", "family", "input kind", "matches", "tasks")


def _rows(family: str | None, task: str | None) -> list[tuple[str, ...]]:
    return [
        (spec.name, spec.family, spec.input_kind, spec.matches or "-", ", ".join(spec.tasks))
        for spec in registry.all_losses(family)
        if task is None or task in spec.tasks
    ]


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str] = COLUMNS) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    out = [line(header), line("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(s.rstrip() for s in out)


def _list(args: argparse.Namespace) -> int:
    rows = _rows(args.family, args.task)
    if not rows:
        print(
            f"no registered loss matches family={args.family!r} task={args.task!r}", file=sys.stderr
        )
        return 1
    print(format_table(rows))
    print(f"\n{len(rows)} losses")
    return 0


def _bench(argv: Sequence[str]) -> int:
    """Runs the harness in ``benchmarks/``, which ships with a source checkout."""
    import importlib
    import pathlib

    checkout = pathlib.Path(__file__).resolve().parent.parent
    if (checkout / "benchmarks" / "harness.py").exists() and str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    try:
        harness = importlib.import_module("benchmarks.harness")
    except ImportError as exc:
        print(f"jaxloss bench needs a source checkout with benchmarks/ ({exc})", file=sys.stderr)
        return 2
    return harness.main(list(argv))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxloss", description="A functional loss toolkit for JAX."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    lister = commands.add_parser("list", help="print the registered losses as a table")
    lister.add_argument("--family", help="only this family (e.g. regression)")
    lister.add_argument("--task", help="only losses tagged with this task (e.g. outliers)")
    lister.set_defaults(run=_list)
    # `bench` hands all its arguments to the harness's own parser (see main)
    commands.add_parser("bench", help="run the benchmark harness (jaxloss bench --help)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return _bench(argv[1:])
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
