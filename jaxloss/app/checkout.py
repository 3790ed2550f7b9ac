"""The source checkout's ``examples/`` and ``benchmarks/``, which ``jaxloss demo``
and ``jaxloss bench`` run.

Both folders ship with the repository, not with the wheel, so the commands look
for them next to this package and import them by file location (``import
jaxloss`` never touches ``sys.path``). In an installed wheel they are absent and
the commands say where to find them.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import pathlib
import sys
from collections.abc import Iterator
from types import ModuleType

ROOT = pathlib.Path(__file__).resolve().parents[2]
WHERE = "they ship with the jaxloss source repository, not with the installed package"


def folder(name: str) -> pathlib.Path | None:
    """``ROOT / name`` when this package runs from a source checkout that has it."""
    path = ROOT / name
    return path if path.is_dir() else None


# optional packages the checkout's scripts import: a missing one is an
# installation hint, not a traceback
OPTIONAL = ("flax", "optax", "matplotlib", "rich", "sklearn", "torch", "monai")


def is_optional(exc: ModuleNotFoundError) -> bool:
    """Whether ``exc`` is about one of the ``OPTIONAL`` packages."""
    return (exc.name or "").split(".")[0] in OPTIONAL


def needs_extra(command: str, exc: ModuleNotFoundError, extra: str) -> str:
    """The one line a command prints when an optional package is not installed."""
    package = (exc.name or "").split(".")[0] or "an optional package"
    return (
        f"jaxloss {command} needs {package}, part of the {extra} extra: "
        f'pip install "jaxloss[{extra}]"'
    )


def missing(command: str, name: str) -> str:
    """The one line a command prints when its folder is absent."""
    return (
        f"jaxloss {command} runs the {name}/ folder of a source checkout, "
        f"not found at {ROOT / name}: {WHERE}"
    )


@contextlib.contextmanager
def _first_on_path(path: pathlib.Path) -> Iterator[None]:
    # what `python examples/x.py` does, and only while the script is imported, so
    # that its `from _common import ...` finds the sibling module
    sys.path.insert(0, str(path))
    try:
        yield
    finally:
        sys.path.remove(str(path))


def import_script(path: pathlib.Path) -> ModuleType:
    """Imports the script ``path`` (its ``__name__`` is not ``"__main__"``, so it
    only defines its functions); its own folder resolves its sibling imports."""
    name = f"example_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with _first_on_path(path.parent):
        spec.loader.exec_module(module)
    return module


def import_package(path: pathlib.Path, submodule: str) -> ModuleType:
    """Imports the package folder ``path`` under its folder name (unless a package
    of that name is imported already), then its ``submodule``."""
    if path.name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            path.name, path / "__init__.py", submodule_search_locations=[str(path)]
        )
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        package = importlib.util.module_from_spec(spec)
        sys.modules[path.name] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{path.name}.{submodule}")
