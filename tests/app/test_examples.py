"""The command line, the demo and every example script, each in its quick mode.

Quick modes train for a handful of steps, so these tests check that everything
runs end to end and writes its figures, plus the few results that hold after
any amount of training (exact identities, finite values).
"""

from __future__ import annotations

import math
import pathlib

import pytest

from jaxloss.app import checkout, cli

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
# _common.py is the tour examples' shared code, not an example
SCRIPTS = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_"))


def _load(name: str):
    return checkout.import_script(EXAMPLES / f"{name}.py")


def test_every_family_has_an_example():
    families = {
        "regression_outliers",
        "binary_imbalanced",
        "multiclass_calibration",
        "segmentation",
        "metric_learning",
        "face_recognition",
        "detection_boxes",
        "vae",
        "gan",
        "causal_lm",
        "dpo",
        "grpo",
        "data_parallel",
        "loss_landscape",
    }
    assert families <= set(SCRIPTS), families - set(SCRIPTS)


def _finite(tree) -> bool:
    if isinstance(tree, dict):
        return all(_finite(v) for v in tree.values())
    if isinstance(tree, list | tuple):
        return all(_finite(v) for v in tree)
    if isinstance(tree, str):
        return True
    return math.isfinite(tree)


@pytest.mark.parametrize("name", SCRIPTS)
def test_example_runs_quick(name, tmp_path, capsys):
    result = _load(name).main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert printed.strip(), f"{name} printed nothing"
    assert result and _finite(result), result
    if name == "data_parallel":  # sharded = single device, to float32 rounding
        assert result["gap"] < 1e-5
    if name == "causal_lm":
        assert math.isclose(result["fused"], result["materialised"], rel_tol=1e-5)
    figures = {
        "vae": "vae.png",
        "gan": "gan.png",
        "loss_landscape": "loss_landscape.png",
        "multiclass_calibration": "reliability_diagram.png",
        "segmentation": "segmentation_masks.png",
        "binary_imbalanced": "imbalanced_loss_curves.png",
        "regression_outliers": "regression_loss_curves.png",
        "multilabel_asl": "multilabel_asl_metrics.png",
    }
    if name in figures:
        assert (tmp_path / figures[name]).stat().st_size > 10_000


def test_cli_list_and_recommend(capsys):
    assert cli.main(["list", "--family", "segmentation"]) == 0
    out = capsys.readouterr().out
    assert "dice_loss" in out and "mse_loss" not in out
    assert cli.main(["recommend", "--task", "segmentation", "--imbalance", "severe"]) == 0
    out = capsys.readouterr().out
    assert "focal_and_tversky_loss" in out and "tversky_loss" in out and "Abraham" in out
    assert cli.main(["recommend", "--task", "binary", "--positive-rate", "0.1"]) == 0
    assert "pos_weight=9.0" in capsys.readouterr().out.replace("\n", "")
    assert cli.main(["recommend", "--task", "nonsense"]) == 2
    assert "task must be one of" in capsys.readouterr().err


def test_cli_check_reports_each_loss(capsys):
    assert cli.main(["check", "--only", "mse_loss", "cross_entropy", "dice_loss"]) == 0
    out = capsys.readouterr().out
    assert "3/3 losses stable" in out


def test_check_flags_an_unstable_loss():
    """The textbook log(cosh(x)) overflows on the registry's huge errors."""
    import dataclasses

    import jax.numpy as jnp

    from jaxloss.app import stability
    from jaxloss.catalogue import registry

    spec = registry.get("log_cosh_loss")

    def naive(predictions, targets, reduction="mean", **_):
        return jnp.mean(jnp.log(jnp.cosh(predictions - targets)))

    row = stability.check_loss(dataclasses.replace(spec, name="naive", fn=naive))
    assert not row.value_finite and not row.ok
    assert "float32 extreme inputs" in row.detail
    assert stability.check_loss(spec).ok


def test_cli_tables_use_rich_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert cli.main(["recommend", "--task", "regression", "--outliers", "some"]) == 0
    out = capsys.readouterr().out
    assert "┃" in out and "huber_loss" in out


@pytest.mark.parametrize(("command", "folder"), [("demo", "examples"), ("bench", "benchmarks")])
def test_demo_and_bench_without_a_checkout(command, folder, tmp_path, monkeypatch, capsys):
    """An installed wheel has neither folder: one line says where they are, exit 2."""
    monkeypatch.setattr(checkout, "ROOT", tmp_path)
    assert cli.main([command, "--quick"]) == 2
    captured = capsys.readouterr()
    assert not captured.out
    (line,) = captured.err.splitlines()
    assert f"{folder}/ folder of a source checkout" in line and str(tmp_path / folder) in line
