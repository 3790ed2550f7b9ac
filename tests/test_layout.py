"""The tree shows the architecture: each folder a layer, imports only go downward."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "jaxloss"
MODULES = sorted(PACKAGE.rglob("*.py"))

# layer of a module (by its path under jaxloss/) -> layers it may import from
LAYERS = {
    "_core": {"_core"},
    "losses": {"_core", "losses"},
    "metrics": {"_core", "metrics"},
    "combine": {"_core"},
    "catalogue": {"_core", "losses", "catalogue"},
    "app": {"_core", "losses", "catalogue", "metrics", "combine", "app", ""},
}


def _layer(module: str) -> str:
    """``jaxloss.losses.embedding.pairs`` -> ``losses``; ``jaxloss`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _jaxloss_imports(path: pathlib.Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "jaxloss":
                found.update(f"jaxloss.{alias.name}" for alias in node.names)
            elif node.module.startswith("jaxloss."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("jaxloss"))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_go_downward(path):
    name = _module_name(path)
    layer = _layer(name)
    if layer in ("", "__main__"):
        return  # the flat public API and the entry point sit on top of everything
    allowed = LAYERS[layer]
    wrong = sorted(m for m in _jaxloss_imports(path) if _layer(m) not in allowed)
    assert not wrong, f"{name} (layer {layer!r}) imports {wrong}; allowed: {sorted(allowed)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_read_in_one_sitting(path):
    lines = len(path.read_text().splitlines())
    assert lines < 500, f"{path.relative_to(PACKAGE)} has {lines} lines; split it along its seams"


def test_loss_modules_do_not_import_private_names_of_other_families():
    for path in (PACKAGE / "losses").rglob("*.py"):
        family = path.relative_to(PACKAGE / "losses").parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "jaxloss.losses."
            ):
                other = (node.module or "").split(".")[2]
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert other == family or not private, (
                    f"{path.relative_to(PACKAGE)} imports private {private} from {node.module}"
                )
