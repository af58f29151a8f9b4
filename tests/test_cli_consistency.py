"""One consistent `slo` command: version, help for every flag, one `--format` spelling, dates as instants,
one-line `slo: error:` user errors, and numbers without float noise."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from slo_pipelines.cli import build_parser
from slo_pipelines.cli.common import FORMATS
from tests.pipeline_helpers import FLEET

ROOT = Path(__file__).resolve().parent.parent
SLO = [sys.executable, "-m", "slo_pipelines.cli"]


def slo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SLO, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("slo",)) -> list[tuple[str, ...]]:
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [(*p,) for p in _commands(sub, (*path, name))]
    return found


def _parser_of(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path[1:]:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


def test_version() -> None:
    out = slo("--version")
    assert out.returncode == 0 and out.stdout.startswith("slo ") and out.stdout.split()[1][0].isdigit()


def test_every_flag_of_every_command_is_described() -> None:
    undocumented = []
    for path in _commands(build_parser()):
        for action in _parser_of(path)._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            if not (action.help or "").strip():
                undocumented.append(f"{' '.join(path)} {action.option_strings or action.dest}")
    assert undocumented == []


def test_format_is_spelled_the_same_everywhere_and_offers_csv_with_tables() -> None:
    seen = {}
    for path in _commands(build_parser()):
        for action in _parser_of(path)._actions:
            if action.option_strings == ["--format"]:
                assert action.choices is not None
                choices = list(action.choices)
                assert choices == [c for c in FORMATS if c in choices] + [
                    c for c in choices if c not in FORMATS
                ], path
                if "table" in choices:
                    assert "csv" in choices, path
                assert "--format" in (action.help or "") or "output format" in (action.help or "")
                seen[" ".join(path)] = choices
    assert {"slo evaluate", "slo audit", "slo exclusions list"} <= set(seen)


def test_validate_takes_the_catalog_either_way() -> None:
    positional, option = slo("validate", str(FLEET)), slo("validate", "--catalog", str(FLEET))
    assert positional.returncode == option.returncode == 0
    assert positional.stdout == option.stdout
    neither = slo("validate")
    assert neither.returncode == 2 and neither.stderr.startswith("slo: error: ")


def test_a_date_is_midnight_utc(tmp_path: Path) -> None:
    samples = tmp_path / "s.csv"
    samples.write_text(
        "slo,timestamp,good,total\ninvoicing-availability,2026-11-06T23:59:00Z,1441806,1443249\n"
    )
    by_date = slo("evaluate", "--catalog", str(FLEET), "--samples", str(samples), "--at", "2026-11-07")
    by_instant = slo(
        "evaluate", "--catalog", str(FLEET), "--samples", str(samples), "--at", "2026-11-07T00:00:00Z"
    )
    assert by_date.returncode == 0, by_date.stderr
    assert json.loads(by_date.stdout) == json.loads(by_instant.stdout)
    assert json.loads(by_date.stdout)["at"] == "2026-11-07T00:00:00Z"


def test_budgets_print_without_float_noise(tmp_path: Path) -> None:
    samples = tmp_path / "s.csv"
    samples.write_text(
        "slo,timestamp,good,total\ninvoicing-availability,2026-11-06T23:59:00Z,1441806,1443249\n"
    )
    out = slo("evaluate", "--catalog", str(FLEET), "--samples", str(samples), "--at", "2026-11-07")
    entry = next(e for e in json.loads(out.stdout)["slos"] if e["name"] == "invoicing-availability")
    assert entry["target"] == 0.999
    assert entry["error_budget"]["allowed_bad"] == 1443.249
    assert entry["error_budget"]["consumed_bad"] == 1443
    csv_out = slo(
        "evaluate",
        "--catalog",
        str(FLEET),
        "--samples",
        str(samples),
        "--at",
        "2026-11-07",
        "--format",
        "csv",
    )
    header, *rows = csv_out.stdout.strip().splitlines()
    assert header.startswith("SLO,OBJECTIVE,METHOD,TARGET,SLI")
    assert any(r.startswith("invoicing-availability,availability,Occurrences,99.900%") for r in rows)


@pytest.mark.parametrize(
    "args",
    [
        ("evaluate", "--catalog", "examples/fleet", "--samples", "nope.csv", "--at", "2026-11-07"),
        ("evaluate", "--catalog", "examples/fleet", "--samples", "nope.csv", "--at", "2026-02-30"),
        ("evaluate", "--catalog", "nope", "--samples", "nope.csv", "--at", "2026-11-07"),
        ("evaluate", "--bogus"),
        ("audit", "--catalog", "examples/fleet", "--samples", "nope.csv"),
        ("validate", "tests/fixtures/bad_catalog"),
        ("ingest", "logs", "--catalog", "examples/fleet", "--logs", "nope.jsonl", "--out", "x.txt"),
        (
            "exclusions",
            "add",
            "--scope",
            "team:x",
            "--start",
            "2026-11-07",
            "--end",
            "2026-11-08",
            "--category",
            "other",
            "--reason",
            "r",
            "--requester",
            "a",
            "--approver",
            "b",
            "--warehouse-url",
            "sqlite://",
        ),
        ("rules", "export", "--catalog", "nope"),
        ("demo", "--days", "0"),
    ],
)
def test_every_user_error_is_one_prefixed_line(args: tuple[str, ...]) -> None:
    out = slo(*args)
    assert out.returncode in (1, 2), out
    lines = out.stderr.strip().splitlines()
    assert lines and all(line.startswith("slo: error: ") for line in lines), out.stderr
    assert "Traceback" not in out.stderr
    if args[0] != "validate":
        assert len(lines) == 1, out.stderr


def _stderr_on_a_terminal(*args: str) -> tuple[int, str]:
    """Run `slo` with stderr on a pseudo-terminal, as a person at a shell would, and read what it shows."""
    import os
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen([*SLO, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def test_progress_shows_on_a_terminal_only(tmp_path: Path) -> None:
    samples = tmp_path / "s.csv"
    samples.write_text("slo,timestamp,good,total\ninvoicing-availability,2026-11-06T23:59:00Z,5,5\n")
    args = ("audit", "--catalog", str(FLEET), "--samples", str(samples), "--format", "json")
    _, shown = _stderr_on_a_terminal(*args)
    assert f"slo: reading {samples} ..." in shown and "slo: auditing 1 rows" in shown
    _, quiet = _stderr_on_a_terminal(*args, "--quiet")
    assert "reading" not in quiet
    piped = slo(*args)
    assert "reading" not in piped.stderr
