"""The benchmark harness runs and writes well-formed results (never a timing assertion)."""

from __future__ import annotations

import importlib
import json

import pytest

from benchmarks import harness


def test_quick_run_structure(tmp_path, capsys):
    assert (
        harness.main(["--quick", "--only", "mse_loss", "huber_loss", "--out", str(tmp_path)]) == 0
    )
    stdout = capsys.readouterr().out
    jsons = list(tmp_path.glob("*-quick.json"))
    assert len(jsons) == 1
    stem = jsons[0].with_suffix("")
    assert stem.with_suffix(".md").read_text() in stdout
    assert stem.with_suffix(".png").stat().st_size > 1000

    report = json.loads(jsons[0].read_text())
    assert {
        "date",
        "machine",
        "bandwidth_bytes_per_s",
        "bandwidth_detail",
        "sizes",
        "results",
    } <= set(report)
    assert {"cpu", "cores", "device", "versions"} <= set(report["machine"])
    assert report["machine"]["versions"]["jax"]
    assert [r["loss"] for r in report["results"]] == ["mse_loss", "huber_loss"]
    for r in report["results"]:
        for mode in ("fwd", "fwd_bwd"):
            entry = r["jaxloss"][mode]
            for key in (
                "time_s",
                "compile_s",
                "temp_bytes",
                "transcendentals_per_element",
                "flops_per_element",
                "floor_bytes",
                "bandwidth_fraction",
            ):
                assert key in entry and entry[key] >= 0
            assert isinstance(entry["dispatch_bound"], bool)
        # both losses have a torch peer and huber an optax one; ratios are jaxloss / peer
        assert "torch" in r["peers"]
        for peer, ratio in r["ratios"].items():
            for mode in ("fwd", "fwd_bwd"):
                expected = r["jaxloss"][mode]["time_s"] / r["peers"][peer][mode]["time_s"]
                assert abs(ratio[mode] - expected) <= 1e-9 * expected
    assert "optax" in report["results"][1]["peers"]
    header = [line for line in stdout.splitlines() if line.startswith("| loss |")]
    assert header and "ratio torch" in header[0]
    # a dispatch-bound time gets no ratio and no bandwidth share, only a mark
    for r in report["results"]:
        row = next(line for line in stdout.splitlines() if line.startswith(f"| {r['loss']} |"))
        assert (" ~ " in row) == r["jaxloss"]["fwd_bwd"]["dispatch_bound"]


def test_results_leave_the_source_tree_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert harness.default_out() == tmp_path / harness.RESULTS_DIR
    args = harness.build_parser().parse_args(["--device", "gpu"])
    assert args.out is None and harness._sizes(args) == {"accelerator": 1 << 26}


@pytest.mark.parametrize("script", ("segmentation", "embedding", "language", "ctc"))
def test_case_scripts_quick_run(script, tmp_path, capsys):
    module = importlib.import_module(f"benchmarks.{script}")
    assert module.main(["--quick", "--out", str(tmp_path)]) == 0
    (path,) = tmp_path.glob(f"{script}-*-quick.json")
    report = json.loads(path.read_text())
    by_loss = {(r["loss"], len(r["shape"])): r for r in report["results"]}
    if script == "segmentation":
        dice_mc = by_loss[("dice_loss", 4)]
        assert {"optax", "optax, one-hot given", "MONAI (torch)"} <= set(dice_mc["peers"])
    elif script == "embedding":
        assert {"torch"} == set(by_loss[("clip_loss", 2)]["peers"])
        assert len(report["results"]) == 6
    elif script == "ctc":
        assert all(
            {"optax ctc_loss", "torch F.ctc_loss"} == set(r["peers"]) for r in report["results"]
        )
    else:
        (fused,) = report["results"]
        assert set(fused["peers"]) == {"materialised JAX", "torch F.linear_cross_entropy"}
        assert fused["jaxloss"]["fwd_bwd"]["floor"] == "FLOP"
    for r in report["results"]:
        assert r["jaxloss"]["fwd_bwd"]["time_s"] > 0
        for peer, ratio in r["ratios"].items():
            expected = r["jaxloss"]["fwd_bwd"]["time_s"] / r["peers"][peer]["fwd_bwd"]["time_s"]
            assert abs(ratio - expected) <= 1e-9 * expected
    assert path.with_suffix(".md").read_text() in capsys.readouterr().out
