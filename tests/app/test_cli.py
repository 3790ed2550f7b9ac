"""The command line as a user meets it: tables that fit the terminal, a quiet
end on a closed pipe, help on every option, progress when piped, and one-line
hints instead of tracebacks."""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys

import pytest

from jaxloss.app import checkout, cli

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _python(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("XLA_FLAGS", None)
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_tables_fit_the_terminal(columns, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(columns))
    assert cli.main(["list"]) == 0
    assert cli.main(["recommend", "--task", "binary", "--positive-rate", "0.05"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= columns
    # names never wrap: each starts a line, whole
    names = {line.split()[0] for line in lines if line.strip()}
    assert {"cross_entropy", "binary_cross_entropy_with_logits"} <= names


def test_format_table_wraps_between_words():
    rows = [("a_long_name", "one two three four five six seven eight nine ten")]
    text = cli.format_table(rows, ("name", "words"), width=30)
    assert all(len(line) <= 30 for line in text.splitlines())
    assert "one two" in text and "a_long_name" in text.splitlines()[2]


def test_closed_pipe_ends_quietly():
    """``jaxloss list | head``: no BrokenPipeError traceback."""
    read, write = os.pipe()
    env = {**os.environ}
    env.pop("XLA_FLAGS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "jaxloss", "list"],
        stdout=write,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    os.close(write)
    os.close(read)  # the reader is gone before the first line
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 141
    assert b"Traceback" not in stderr and b"BrokenPipeError" not in stderr


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def test_every_option_has_help():
    for name, sub in _subparsers(cli.build_parser()).items():
        for action in sub._actions:
            if action.option_strings:
                assert action.help, f"jaxloss {name} {action.option_strings[0]} has no help"


def test_recommend_lists_the_task_aliases(capsys):
    assert cli.main(["recommend", "--task", "astrology"]) == 2
    err = capsys.readouterr().err
    for alias in ("face_verification", "llm", "speech", "classification"):
        assert alias in err
    assert all(alias in cli.TASK_HELP for alias in ("face_verification", "moe", "gan"))


def test_check_reports_progress_when_piped(capsys):
    assert cli.main(["check", "--only", "mse_loss", "huber_loss"]) == 0
    captured = capsys.readouterr()
    assert "[1/2] mse_loss: ok" in captured.err and "[2/2] huber_loss: ok" in captured.err
    assert "2/2 losses stable" in captured.out


def test_checkout_commands_are_listed_only_with_a_checkout(monkeypatch):
    listed = _subparsers(cli.build_parser())
    assert {"list", "recommend", "check", "bench", "demo"} <= set(listed)
    monkeypatch.setattr(checkout, "folder", lambda name: None)
    assert set(_subparsers(cli.build_parser())) == {"list", "recommend", "check"}
    assert cli.main(["demo"]) == 2 and cli.main(["bench"]) == 2


def test_bench_help_names_the_command_and_writes_outside_the_tree():
    result = _python("-m", "jaxloss", "bench", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: jaxloss bench")
    assert f"./{cli.BENCH_OUT}" in result.stdout


def test_demo_without_an_optional_package_names_the_extra():
    """A missing matplotlib is one line naming the extra, not a traceback."""
    code = (
        "import sys; sys.modules['matplotlib'] = None; "
        "from jaxloss.app import cli; "
        "sys.exit(cli.main(['demo', '--quick', '--only', 'regression', '--out', sys.argv[1]]))"
    )
    result = _python("-c", code, str(ROOT / "build" / "demo-missing-extra"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        'jaxloss demo needs matplotlib, part of the examples extra: pip install "jaxloss[examples]"'
    )
