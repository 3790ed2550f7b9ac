"""Packaging promises: a lean import, the CLI, and the README's demo."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import jax

import jaxloss

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )


def test_import_does_not_pull_heavy_or_optional_packages():
    code = (
        "import sys, jaxloss; "
        "bad = [m for m in ('torch', 'flax', 'matplotlib', 'optax', 'rich', 'sklearn') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_registered_loss_is_public_and_documented():
    for spec in jaxloss.registry.all_losses():
        assert getattr(jaxloss, spec.name) is spec.fn
        assert spec.name in jaxloss.__all__
        for alias in spec.aliases:
            assert getattr(jaxloss, alias) is spec.fn
        doc = spec.fn.__doc__ or ""
        assert "Example:" in doc and ">>>" in doc, f"{spec.name} lacks a doctest example"


def test_cli_list_prints_every_loss():
    result = _run(sys.executable, "-m", "jaxloss", "list")
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split()
    assert header[:2] == ["name", "family"]
    for name in jaxloss.registry.names():
        assert f"\n{name} " in result.stdout
    assert f"{len(jaxloss.registry.names())} losses" in result.stdout
    script = pathlib.Path(sys.executable).parent / "jaxloss"
    assert script.exists(), "the jaxloss console script is installed"
    filtered = _run(str(script), "list", "--task", "outliers")
    assert (
        filtered.returncode == 0
        and "huber_loss" in filtered.stdout
        and "mse_loss" not in filtered.stdout
    )
    assert _run(str(script), "list", "--family", "nope").returncode == 1


def test_demo_command_runs_quick(tmp_path):
    """``jaxloss demo`` as a user runs it: a subprocess on one device."""
    env = {**os.environ, "COLUMNS": "120"}
    env.pop("XLA_FLAGS", None)
    out = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "jaxloss", "demo", "--quick", "--only", "regression", "--out", out],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for name in ("mse_loss", "huber_loss", "l1_loss", "test MAE"):
        assert name in result.stdout
    assert (tmp_path / "regression_loss_curves.png").stat().st_size > 10_000


def _readme() -> str:
    return (ROOT / "README.md").read_text()


def test_readme_is_for_users():
    """Short, self-explaining, and pointing only inside the repository."""
    text = _readme()
    assert len(text.splitlines()) < 200
    assert "pip install jaxloss" in text
    assert "make demo" in text and "make test" in text
    for word in ("seed", "../", "issue"):
        assert word not in text.lower(), word
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        assert link.startswith("http") or (ROOT / link).exists(), link


def test_readme_training_step_runs():
    """The README's training step, executed as written."""
    code = re.search(r"## A training step\n.*?```python\n(.*?)```", _readme(), re.S)
    assert code is not None
    assert len(code.group(1).splitlines()) <= 35
    namespace: dict = {}
    try:
        exec(compile(code.group(1), "README.md", "exec"), namespace)
    finally:
        jaxloss.enable_checks(False)
        jax.clear_caches()
    assert float(namespace["loss"]) < 1e-3
