"""The `slo` command end to end, as scripts and CI call it: exit codes, one-line errors, JSON contract."""

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from slo_pipelines.catalog import load_catalog
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from tests.pipeline_helpers import D0, DAY, FLEET, fleet_samples

ROOT = Path(__file__).resolve().parent.parent
SLO = [sys.executable, "-m", "slo_pipelines.cli"]
AT = "2026-11-02T00:00:00Z"


def slo(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SLO, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )


@pytest.fixture(scope="module")
def samples() -> pd.DataFrame:
    frame = fleet_samples(D0 - 30 * DAY, D0 + DAY)
    frame["timestamp"] = frame.pop("start")
    return frame


def test_validate_good_and_bad() -> None:
    ok = slo("validate", str(FLEET))
    assert ok.returncode == 0 and "valid" in ok.stdout
    bad = slo("validate", str(ROOT / "tests" / "fixtures" / "bad_catalog"))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    lines = bad.stderr.strip().splitlines()
    assert len(lines) >= 5 and all("bad_catalog/" in line for line in lines)
    assert any("spec.timeZone: unknown time zone" in line for line in lines)


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_evaluate_json_contract_and_numbers(tmp_path: Path, samples: pd.DataFrame, suffix: str) -> None:
    path = tmp_path / f"samples.{suffix}"
    if suffix == "csv":
        samples.to_csv(path, index=False)
    elif suffix == "jsonl":
        samples.to_json(path, orient="records", lines=True)
    else:
        samples.to_parquet(path, index=False)
    out = slo("evaluate", "--catalog", str(FLEET), "--samples", str(path), "--at", AT)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["at"] == AT
    catalog = load_catalog(FLEET)
    assert len(doc["slos"]) == sum(len(s.objectives) for s in catalog.slos.values())
    keys = {
        "name",
        "service",
        "objective",
        "budgeting_method",
        "target",
        "window",
        "good",
        "total",
        "sli",
        "excluded_seconds",
        "coverage",
        "error_budget",
        "burn_rates",
        "alerts",
        "status",
    }
    frame = samples.rename(columns={"timestamp": "start"})
    direct = {(r.name, r.objective): r for r in CatalogEvaluator(catalog, frame).evaluate(D0 + DAY)}
    for entry in doc["slos"]:
        assert keys <= entry.keys()
        assert set(entry["burn_rates"]) == {"5m", "30m", "1h", "2h", "6h", "1d", "3d"}
        assert set(entry["error_budget"]) == {"allowed_bad", "consumed_bad", "remaining_ratio"}
        r = direct[(entry["name"], entry["objective"])]
        assert entry["sli"] == pytest.approx(r.sli, abs=1e-12)
        assert entry["error_budget"]["remaining_ratio"] == pytest.approx(r.remaining_ratio, abs=1e-12)
    payments = next(e for e in doc["slos"] if e["name"] == "payments-availability")
    assert payments["window"] == {"start": "2026-10-03T00:00:00Z", "end": AT}


def test_evaluate_table(tmp_path: Path, samples: pd.DataFrame) -> None:
    path = tmp_path / "s.csv"
    samples.to_csv(path, index=False)
    out = slo("evaluate", "--catalog", str(FLEET), "--samples", str(path), "--at", AT, "--format", "table")
    assert out.returncode == 0 and "payments-availability" in out.stdout and "BUDGET LEFT" in out.stdout


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda f: f.assign(good=f["good"].astype(object).where(f.index != 3, "abc")),
            "row 5 good: not a number (got 'abc')",
        ),
        (lambda f: f.assign(total=f["total"].where(f.index != 0, -5)), "row 2 total: must be >= 0"),
        (lambda f: f.assign(good=f["good"].where(f.index != 1, 10**9)), "row 3 good: good > total"),
        (lambda f: pd.concat([f.iloc[:3], f.iloc[[0]]]), "row 2 timestamp: duplicate bucket"),
        (
            lambda f: f.assign(timestamp=f["timestamp"].where(f.index != 0, "2026-11-01T00:00:00")),
            "timestamp has no UTC offset",
        ),
        (
            lambda f: f.assign(timestamp=f["timestamp"].where(f.index != 0, D0 + 7)),
            "not aligned to bucket_seconds=60",
        ),
        (lambda f: f.assign(slo=f["slo"].where(f.index != 0, "nope")), "row 2 slo: unknown SLO"),
        (lambda f: f.assign(good=f["good"].where(f.index != 0, float("nan"))), "row 2 good: missing good"),
        (lambda f: f.drop(columns=["total"]), "missing column: total"),
        (
            lambda f: f.assign(timestamp=f["timestamp"].astype(object).where(f.index != 0, 1e20)),
            "row 2 timestamp: timestamp out of range",
        ),
        (lambda f: f.assign(total=f["total"].where(f.index != 0, 1e300)), "row 2 total: too large"),
    ],
)
def test_evaluate_rejects_bad_samples_in_one_line(
    tmp_path: Path, samples: pd.DataFrame, mutate, expected: str
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    mutate(samples.iloc[:50].copy()).to_csv(path, index=False)
    out = slo("evaluate", "--catalog", str(FLEET), "--samples", str(path), "--at", AT)
    assert out.returncode == 1, out.stdout
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert expected in out.stderr and "bad.csv" in out.stderr


def test_evaluate_usage_errors(tmp_path: Path, samples: pd.DataFrame) -> None:
    path = tmp_path / "s.csv"
    samples.iloc[:10].to_csv(path, index=False)
    bad_at = slo("evaluate", "--catalog", str(FLEET), "--samples", str(path), "--at", "yesterday")
    assert bad_at.returncode == 2 and "--at" in bad_at.stderr and "Traceback" not in bad_at.stderr
    missing = slo("evaluate", "--catalog", str(FLEET), "--samples", str(tmp_path / "nope.csv"), "--at", AT)
    assert missing.returncode == 1 and "file not found" in missing.stderr
    (tmp_path / "empty.csv").write_text("")
    empty = slo("evaluate", "--catalog", str(FLEET), "--samples", str(tmp_path / "empty.csv"), "--at", AT)
    assert empty.returncode == 1 and "empty" in empty.stderr
    no_args = slo("evaluate")
    assert no_args.returncode == 2 and "Traceback" not in no_args.stderr


def test_short_demo_runs_the_whole_graph(tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    out = slo("demo", "--days", "2", cwd=tmp_path, env={"DAGSTER_HOME": str(tmp_path / "home")})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "succeeded" in out.stdout and "payments-availability" in out.stdout
    # each asset reports as it runs: name, elapsed seconds and its counts
    for asset, count in (
        ("sli_buckets", "rows_stored="),
        ("error_budgets", "snapshots="),
        ("budget_report", ""),
    ):
        assert re.search(rf"✓ {asset}\s+\d+\.\d s.*{count}", out.stdout), out.stdout
    assert (
        out.stdout.index("▶ sli_buckets") < out.stdout.index("✓ sli_buckets") < out.stdout.index("succeeded")
    )
    reports = list((tmp_path / "out" / "demo" / "reports").glob("budget-*/report.html"))
    assert len(reports) == 1
    # even two days leave the compliance archive with the latest report (fleet and 3 team bundles),
    # plus a closed month's records when the two days straddle a month's end (run on a 1st)
    archive = tmp_path / "out" / "demo" / "archive"
    records = [p for p in (archive / "records").rglob("*") if p.is_file()]
    daily = [p for p in records if p.relative_to(archive / "records").parts[0] == "daily"]
    assert len(daily) == 12, daily
    months = {p.relative_to(archive / "records").parts[0] for p in records} - {"daily"}
    assert all(re.fullmatch(r"\d{4}-\d{2}", m) for m in months), months
    assert bool(months) == (datetime.now(UTC).day == 1)  # the demo's days end yesterday
    verified = slo("archive", "verify", str(archive), cwd=tmp_path)
    total = len(records)
    assert verified.returncode == 0 and verified.stdout.strip().endswith(f"{total} records verified"), (
        verified
    )
    assert f"archive: {archive.resolve()} ({total} records" in out.stdout
    runs = list((tmp_path / "home").glob("history/runs.db")) + list((tmp_path / "home").glob("storage"))
    assert runs, "the run is stored in the local instance"


def test_audit_reports_row_and_collection_findings(tmp_path: Path, samples: pd.DataFrame) -> None:
    day = samples[(samples["timestamp"] >= D0) & (samples["timestamp"] < D0 + DAY)].copy()
    clean = tmp_path / "clean.csv"
    day.to_csv(clean, index=False)
    ok = slo("audit", "--catalog", str(FLEET), "--samples", str(clean), "--format", "json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["success"] is True

    hole = (day["slo"] == "cdn-availability") & day["timestamp"].between(D0 + 600, D0 + 2399)
    day = day[~hole]
    day.loc[day.index[3], "good"] = day.loc[day.index[3], "total"] + 1
    broken = tmp_path / "broken.csv"
    day.to_csv(broken, index=False)
    out = slo("audit", "--catalog", str(FLEET), "--samples", str(broken), "--format", "json")
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    rules = {e["name"]: e for e in doc["rows"]["expectations"]}
    assert not rules["good_le_total"]["success"] and rules["good_le_total"]["unexpected_count"] == 1
    assert "good > total" in doc["rows"]["rejected_examples"][0]["reason"]
    [findings] = [d["findings"] for d in doc["collection"]["days"]]
    completeness = next(f for f in findings if f["name"] == "completeness")
    [cdn] = completeness["failing_slos"]
    assert cdn["slo"] == "cdn-availability" and cdn["gaps"] == [
        ["2026-11-01T00:10:00Z", "2026-11-01T00:40:00Z"]
    ]
    table = slo("audit", "--catalog", str(FLEET), "--samples", str(broken))
    assert table.returncode == 1 and "audits FAILED" in table.stdout and "cdn-availability" in table.stdout


@pytest.mark.parametrize("at", ["99999999999999999", "1e300", "-99999999999", "9999-12-31T00:00:00Z"])
def test_out_of_range_at_is_a_usage_error(tmp_path: Path, samples: pd.DataFrame, at: str) -> None:
    path = tmp_path / "s.csv"
    samples.iloc[:10].to_csv(path, index=False)
    out = slo("evaluate", "--catalog", str(FLEET), "--samples", str(path), "--at", at)
    assert out.returncode == 2 and "Traceback" not in out.stderr and "--at" in out.stderr


def test_boolean_counts_and_directories_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"slo": "payments-availability", "timestamp": 1793491200, "good": true, "total": 1}\n')
    out = slo("evaluate", "--catalog", str(FLEET), "--samples", str(path), "--at", AT)
    assert out.returncode == 1 and "line 1 good: not a number (a boolean)" in out.stderr.replace(
        "row 1", "line 1"
    )
    (tmp_path / "dir.csv").mkdir()
    out = slo("evaluate", "--catalog", str(FLEET), "--samples", str(tmp_path / "dir.csv"), "--at", AT)
    assert out.returncode == 1 and "is a directory" in out.stderr
