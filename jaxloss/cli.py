"""The ``jaxloss`` command (also ``python -m jaxloss``).

``list`` prints the registry, ``recommend`` the sources' decision guides,
``demo`` trains small models under competing losses, ``bench`` runs the
benchmark harness and ``check`` the stability table. Output goes through rich
on a terminal, plain aligned text when piped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from jaxloss import registry
from jaxloss.recommend import (
    GENERATIVE,
    IMBALANCE,
    LM_OBJECTIVES,
    METRIC_DATA,
    OUTLIERS,
    PREFERENCE,
    TASKS,
    recommend,
)

COLUMNS = ("name", "family", "input kind", "matches", "tasks")


def _rows(family: str | None, task: str | None) -> list[tuple[str, ...]]:
    return [
        (spec.name, spec.family, spec.input_kind, spec.matches or "-", ", ".join(spec.tasks))
        for spec in registry.all_losses(family)
        if task is None or task in spec.tasks
    ]


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str] = COLUMNS) -> str:
    """Plain-text table (the fallback without rich, and stable for tests)."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    out = [line(header), line("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(s.rstrip() for s in out)


def _print_table(title: str | None, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A rich table on a terminal; plain aligned text when piped (or without rich)."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        Console = None
    if Console is None or not sys.stdout.isatty():
        if title:
            print(title)
        print(format_table(rows, header))
        return
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in header:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*map(str, row))
    Console().print(table)


def _list(args: argparse.Namespace) -> int:
    rows = _rows(args.family, args.task)
    if not rows:
        print(
            f"no registered loss matches family={args.family!r} task={args.task!r}", file=sys.stderr
        )
        return 1
    _print_table(None, COLUMNS, rows)
    print(f"{len(rows)} losses")
    return 0


def _recommend_cmd(args: argparse.Namespace) -> int:
    options = {
        k: getattr(args, k)
        for k in (
            "imbalance",
            "positive_rate",
            "outliers",
            "labels_per_sample",
            "num_classes",
            "overconfidence",
            "margin",
            "boundaries",
            "uncertainty",
            "data",
            "model",
            "objective",
            "vocab_size",
        )
        if getattr(args, k) is not None
    }
    try:
        ranked = recommend(args.task, **options)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    described = ", ".join(f"{k}={v}" for k, v in options.items() if v is not False)
    rows = [
        (str(i), r.call(), r.reason, "; ".join(s.split(" (")[0] for s in r.sources))
        for i, r in enumerate(ranked, 1)
    ]
    _print_table(
        f"task={args.task}" + (f", {described}" if described else ""),
        ("rank", "jaxloss call", "why", "source"),
        rows,
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    from jaxloss import stability

    specs = [
        s
        for s in registry.all_losses(args.family)
        if not args.only or s.name in args.only or set(s.aliases) & set(args.only)
    ]
    mark = {True: "ok", False: "FAIL"}
    try:
        from rich.progress import Progress
    except ImportError:
        rows = stability.stability_report(specs)
    else:
        with Progress(transient=True) as progress:
            task = progress.add_task("checking extreme inputs", total=len(specs))
            rows = stability.stability_report(specs, on_row=lambda _: progress.advance(task))
    table = [
        (r.name, r.family, mark[r.value_finite], mark[r.grad_finite], mark[r.bf16_ok], r.detail)
        for r in rows
    ]
    _print_table(
        "Stability over each loss's extreme inputs (mean reduction)",
        ("loss", "family", "value finite", "gradient finite", "bf16 ok", "detail"),
        table,
    )
    failed = [r.name for r in rows if not r.ok]
    summary = f"{len(rows) - len(failed)}/{len(rows)} losses stable"
    print(summary + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _checkout_module(name: str):
    """Imports ``benchmarks.*`` from the source checkout this package lives in."""
    import importlib
    import pathlib

    checkout = pathlib.Path(__file__).resolve().parent.parent
    if (checkout / "benchmarks").is_dir() and str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    return importlib.import_module(name)


def _bench(argv: Sequence[str]) -> int:
    try:
        harness = _checkout_module("benchmarks.harness")
    except ImportError as exc:
        print(f"jaxloss bench needs a source checkout with benchmarks/ ({exc})", file=sys.stderr)
        return 2
    return harness.main(list(argv))


def _demo(argv: Sequence[str]) -> int:
    try:
        from jaxloss import demo
    except ImportError as exc:  # pragma: no cover - depends on the environment
        print(f"jaxloss demo needs the examples extra: pip install 'jaxloss[examples]' ({exc})")
        return 2
    demo.main(list(argv))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxloss", description="A functional loss toolkit for JAX."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    lister = commands.add_parser("list", help="print the registered losses as a table")
    lister.add_argument("--family", help="only this family (e.g. regression)")
    lister.add_argument("--task", help="only losses tagged with this task (e.g. outliers)")
    lister.set_defaults(run=_list)

    rec = commands.add_parser(
        "recommend",
        help="which loss for your task (the sources' decision guides)",
        description=recommend.__doc__.split("\n\n")[0],
    )
    rec.add_argument("--task", required=True, help=f"one of {', '.join(TASKS)}")
    rec.add_argument("--imbalance", choices=IMBALANCE)
    rec.add_argument("--positive-rate", type=float, help="fraction of positives, e.g. 0.1")
    rec.add_argument("--outliers", choices=OUTLIERS)
    rec.add_argument("--labels-per-sample", type=lambda v: v if v == "multi" else int(v))
    rec.add_argument("--num-classes", type=int)
    for flag, text in (
        ("--overconfidence", "predictions need calibrating"),
        ("--margin", "a margin-based (SVM-style) objective"),
        ("--boundaries", "segmentation boundaries matter most"),
        ("--uncertainty", "regression with intervals or variances"),
    ):
        rec.add_argument(flag, action="store_true", default=None, help=text)
    rec.add_argument("--data", choices=METRIC_DATA, help="metric learning supervision")
    rec.add_argument("--model", choices=GENERATIVE, help="generative model")
    rec.add_argument(
        "--objective",
        choices=LM_OBJECTIVES + PREFERENCE,
        help="language model or preference objective",
    )
    rec.add_argument("--vocab-size", type=int)
    rec.set_defaults(run=_recommend_cmd)

    check = commands.add_parser(
        "check", help="stability table: every loss over its extreme inputs, f32 and bf16"
    )
    check.add_argument("--family", help="only this family")
    check.add_argument("--only", nargs="+", help="only these losses")
    check.set_defaults(run=_check)
    # `bench` and `demo` hand their arguments to their own parsers (see main)
    commands.add_parser("bench", help="run the benchmark harness (jaxloss bench --help)")
    commands.add_parser("demo", help="the guided tour: trains small models (jaxloss demo --help)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return _bench(argv[1:])
    if argv[:1] == ["demo"]:
        return _demo(argv[1:])
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
