"""Sphinx configuration for the jaxloss documentation.

Sphinx rather than MkDocs: the docstrings are Google style with reStructuredText
markup (``literal``, ``:func:`` roles, ``.. math::`` blocks), which autodoc and
napoleon render as written; the narrative pages are Markdown through MyST.

Before each build, ``generate_api_pages`` writes one page per loss family into
``api/`` (not committed): every package or module under ``jaxloss.losses`` gets a
page documenting its public names, so a new family or a new loss appears without
editing the docs.
"""

from __future__ import annotations

import importlib
import pathlib
import pkgutil
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import jaxloss  # noqa: E402
import jaxloss.losses  # noqa: E402

project = "jaxloss"
author = "The jaxloss authors"
copyright = "The jaxloss authors"
release = version = jaxloss.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# pages that other pages include
exclude_patterns = [
    "_build",
    "api/recommend-table.md",
    "api/sources.md",
    "api/benchmark-results.md",
]
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
autodoc_member_order = "bysource"
# the docstrings describe every argument; the aliases (ArrayLike) would
# otherwise expand into long unions
autodoc_typehints = "none"
autodoc_default_options = {"members": True}
html_theme = "furo"
html_title = f"jaxloss {release}"
html_static_path: list[str] = []
# losses of one family share argument names; their pages are separate
suppress_warnings = ["myst.header"]

FAMILY_TITLES = {
    "classification": "Classification",
    "detection": "Detection",
    "divergence": "Divergences",
    "embedding": "Embeddings and metric learning",
    "generative": "Generative models",
    "language": "Language models",
    "preference": "Preference learning and RL",
    "ranking": "Learning to rank",
    "regression": "Regression",
    "routing": "Mixture-of-experts routing",
    "segmentation": "Segmentation",
}


def _families() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(jaxloss.losses.__path__) if not m.name.startswith("_")
    )


def _family_page(name: str) -> str:
    module = importlib.import_module(f"jaxloss.losses.{name}")
    title = FAMILY_TITLES.get(name, name.replace("_", " ").capitalize())
    specs = [s for s in jaxloss.registry.all_losses() if s.fn.__module__.split(".")[2] == name]
    lines = [f"# {title}", ""]
    if specs:
        lines += [
            "| loss | input | matches | tasks |",
            "|---|---|---|---|",
        ]
        for s in specs:
            alias = "".join(f" (`{a}`)" for a in s.aliases)
            matches = (s.matches or "—").replace("|", "\\|")
            lines.append(
                f"| {{func}}`~jaxloss.losses.{name}.{s.name}`{alias} | {s.input_kind} | {matches} "
                f"| {', '.join(s.tasks)} |"
            )
        lines.append("")
    names = getattr(module, "__all__", None)
    lines += ["```{eval-rst}", f".. automodule:: jaxloss.losses.{name}", "   :members:"]
    if names is None:
        lines.append("   :undoc-members:")
    lines += ["```", ""]
    return "\n".join(lines)


# scenarios shown on the "Choosing a loss" page: recommend's keyword arguments
SCENARIOS = [
    {"task": "regression"},
    {"task": "regression", "outliers": "some"},
    {"task": "regression", "uncertainty": True},
    {"task": "binary"},
    {"task": "binary", "positive_rate": 0.05},
    {"task": "binary", "imbalance": "extreme"},
    {"task": "multiclass", "overconfidence": True},
    {"task": "multiclass", "imbalance": "severe"},
    {"task": "multilabel", "imbalance": "severe"},
    {"task": "segmentation", "imbalance": "severe"},
    {"task": "segmentation", "boundaries": True},
    {"task": "segmentation", "thin_structures": True},
    {"task": "detection"},
    {"task": "metric_learning", "data": "labels"},
    {"task": "face_recognition"},
    {"task": "ranking"},
    {"task": "sequence_transcription"},
    {"task": "language_model", "vocab_size": 128256},
    {"task": "preference", "objective": "reference_free"},
    {"task": "preference", "objective": "verifiable_rewards"},
    {"task": "moe_router"},
]


def _write(path: pathlib.Path, text: str) -> None:
    # unchanged files keep their time stamp, so Sphinx does not rebuild them
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _recommend_table() -> str:
    lines = ["| scenario | ranked suggestions |", "|---|---|"]
    for kwargs in SCENARIOS:
        try:
            ranked = jaxloss.recommend(**kwargs)
        except ValueError:  # a task whose losses this installation lacks
            continue
        scenario = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        calls = "<br>".join(
            f"{i}. `{r.call()}`: {r.reason}" for i, r in enumerate(ranked, 1)
        ).replace("|", "\\|")
        lines.append(f"| `{scenario}` | {calls} |")
    return "\n".join(lines) + "\n"


def _sources() -> str:
    from jaxloss.app.recommend.scenario import SOURCES

    return "".join(f"- {s}\n" for s in sorted(set(SOURCES.values())))


def _benchmark_results() -> str:
    """Every Markdown report in ``benchmarks/results/`` (headings one level down)
    with the chart of the same run, newest first."""
    results = HERE.parent / "benchmarks" / "results"
    reports = sorted(results.glob("*.md"), key=lambda p: p.stem.split("-")[-3:], reverse=True)
    if not reports:
        return "No benchmark results in this checkout.\n"
    parts = []
    for report in reports:
        text = report.read_text()
        lines = [("##" + line) if line.startswith("#") else line for line in text.splitlines()]
        if not any(line.startswith("###") for line in lines[:3]):
            lines.insert(0, f"### {report.stem}\n")
        chart = report.with_suffix(".png")
        if chart.exists():
            lines += ["", f"![ratios of {report.stem}](../benchmarks/results/{chart.name})"]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def generate_api_pages() -> None:
    """Writes ``api/<family>.md`` for every family, ``api/index.md``, and the
    tables that the "Choosing a loss" page includes."""
    out = HERE / "api"
    out.mkdir(exist_ok=True)
    _write(out / "recommend-table.md", _recommend_table())
    _write(out / "sources.md", _sources())
    _write(out / "benchmark-results.md", _benchmark_results())
    families = _families()
    included = {"recommend-table.md", "sources.md", "benchmark-results.md"}
    wanted = {f"{f}.md" for f in families} | {"index.md"} | included
    for stale in out.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for family in families:
        _write(out / f"{family}.md", _family_page(family))
    index = [
        "# Loss families",
        "",
        "One page per family: each loss's formula, options, peer and references.",
        "",
        "```{toctree}",
        ":maxdepth: 1",
        "",
        *families,
        "```",
        "",
    ]
    _write(out / "index.md", "\n".join(index))


generate_api_pages()
