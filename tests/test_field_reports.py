"""Field reports (inputs from outside the team) turned into tests with their expected values.

int64-overflow and overlapping-exclusions run `slo evaluate` / `slo audit` as a user would; the
new-series case runs against a real Prometheus in tests/test_prometheus_real.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slo_pipelines.engine.common.timeutil import parse_instant

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "tests" / "fixtures" / "field_reports"


def slo(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "SLO_WAREHOUSE_URL"}
    environment["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "slo_pipelines.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**environment, **(env or {})},
    )


def minute_rows(slo_name: str, start: str, days: int, good: int, total: int) -> pd.DataFrame:
    starts = np.arange(parse_instant(start), parse_instant(start) + days * 86400, 60)
    stamps = pd.to_datetime(starts, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ")
    return pd.DataFrame({"slo": slo_name, "timestamp": stamps, "good": good, "total": total})


def test_int64_overflow_sums_exactly(tmp_path: Path) -> None:
    """10,080 rows of total 999,999,999,999,999: the sum exceeds int64 and stays exact."""
    cat = REPORTS / "int64-overflow"
    total = 999_999_999_999_999
    minute_rows("search-week", "2026-05-01T00:00:00Z", 7, total - 1000, total).to_csv(
        tmp_path / "samples-big.csv", index=False
    )
    out = slo(
        "evaluate", "--catalog", str(cat), "--samples", "samples-big.csv", "--at", "2026-05-08T00:00:00Z",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    [r] = json.loads(out.stdout)["slos"]
    assert r["total"] == 10_079_999_999_999_989_920 and isinstance(r["total"], int)
    assert r["good"] == 10_080 * (total - 1000)
    assert r["sli"] == pytest.approx(0.999999999999, abs=1e-12)
    assert r["error_budget"]["consumed_bad"] == 10_080_000
    assert r["error_budget"]["remaining_ratio"] == pytest.approx(0.9999999999, abs=1e-12)
    assert r["status"] == "ok"


def test_audit_and_evaluate_agree_on_rows_too_large(tmp_path: Path) -> None:
    cat = REPORTS / "int64-overflow"
    samples = str(cat / "samples-too-large.csv")
    ev = slo(
        "evaluate", "--catalog", str(cat), "--samples", samples, "--at", "2026-05-01T00:02:00Z", cwd=tmp_path
    )
    assert ev.returncode == 1
    assert "row 2 good: too large (must be < 1e15)" in ev.stderr and "(and 1 more rejected row)" in ev.stderr
    audit = slo(
        "audit", "--catalog", str(cat), "--samples", samples, "--format", "json", "--quiet", cwd=tmp_path
    )
    assert audit.returncode == 1, audit.stderr
    doc = json.loads(audit.stdout)
    assert doc["rows"]["total"] == 2 and doc["rows"]["rejected"] == 2
    assert [r["row_number"] for r in doc["rows"]["rejected_examples"]] == [2, 3]
    first_reason = doc["rows"]["rejected_examples"][0]["reason"]
    assert first_reason.startswith("good: too large (must be < 1e15"), first_reason
    table = slo("audit", "--catalog", str(cat), "--samples", samples, "--quiet", cwd=tmp_path)
    assert table.stdout.startswith("2 rows, 2 rejected; audits FAILED")


def test_overlapping_exclusions_and_runtime_exclusion_from_the_warehouse(tmp_path: Path) -> None:
    cat = str(REPORTS / "overlapping-exclusions")
    minute_rows("fleet-sync-availability", "2026-06-01T00:00:00Z", 7, 0, 10).to_csv(
        tmp_path / "samples.csv", index=False
    )
    evaluate = ["evaluate", "--catalog", cat, "--samples", "samples.csv", "--at", "2026-06-08T00:00:00Z"]
    first = slo(*evaluate, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    [r] = json.loads(first.stdout)["slos"]
    assert (r["excluded_seconds"], r["total"]) == (180000, 70800)
    listed = {(e["name"], e["start"]) for e in r["exclusions"]}
    assert listed == {
        ("upstream-dns-outage", "2026-06-05T22:00:00Z"),
        ("weekend-upgrades", "2026-06-06T05:00:00Z"),
        ("weekend-upgrades", "2026-06-07T05:00:00Z"),
    }

    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    added = slo(
        "exclusions", "add", "--catalog", cat, "--scope", "service:fleet-sync",
        "--start", "2026-06-03T10:00:00Z", "--end", "2026-06-03T11:00:00Z", "--category", "other",
        "--reason", "load balancer misconfig", "--requester", "sre-a", "--approver", "change-board",
        "--ticket", "CHG-1",
        cwd=tmp_path, env={"SLO_WAREHOUSE_URL": url},
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    # recorded after the fact: it changes no budget until a second person approves it
    pending = slo(*evaluate, "--warehouse", url, cwd=tmp_path)
    assert json.loads(pending.stdout)["slos"][0]["excluded_seconds"] == 180000
    [exclusion_id] = [w for w in added.stdout.split() if w.startswith("exc-")][:1]
    reviewed = slo(
        "exclusions", "review", exclusion_id, "--reviewer", "sre-lead", "--decision", "approve",
        "--reason", "incident INC-7 confirms it", cwd=tmp_path, env={"SLO_WAREHOUSE_URL": url},
    )  # fmt: skip
    assert reviewed.returncode == 0, reviewed.stderr
    for run in (
        slo(*evaluate, "--warehouse", url, cwd=tmp_path),
        slo(*evaluate, cwd=tmp_path, env={"SLO_WAREHOUSE_URL": url}),
    ):
        assert run.returncode == 0, run.stderr
        [r] = json.loads(run.stdout)["slos"]
        assert (r["excluded_seconds"], r["total"]) == (183600, 70200)
        [runtime] = [e for e in r["exclusions"] if e["start"] == "2026-06-03T10:00:00Z"]
        assert runtime["reason"] == "load balancer misconfig" and runtime["approved_by"] == "change-board"
        assert runtime["excluded_seconds"] == 3600 and len(r["exclusions"]) == 4
    not_a_url = slo(*evaluate, "--warehouse", "warehouse.db", cwd=tmp_path)
    assert not_a_url.returncode == 2 and not_a_url.stderr.startswith("slo: error: --warehouse:")
    missing = tmp_path / "missing.db"
    absent = slo(*evaluate, "--warehouse", f"sqlite:///{missing}", cwd=tmp_path)
    assert absent.returncode == 2 and "no such SQLite database" in absent.stderr and not missing.exists()
