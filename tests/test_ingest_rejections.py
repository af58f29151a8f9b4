"""Rejected input is kept verbatim and alone, by one row rule set, and runs read only the files they need."""

import json
import os
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from slo_pipelines.catalog import load_catalog
from slo_pipelines.engine.sli.samples import stage_raw, validate_samples
from slo_pipelines.quality.samples_audit import audit_samples
from slo_pipelines.quality.triage import sample_rule_reasons
from slo_pipelines.resources import sample_source
from slo_pipelines.resources.sample_files import read_samples
from slo_pipelines.resources.sample_source import SampleSourceResource
from tests.pipeline_helpers import D0, DAY, FLEET, definitions, run_range

SLO = "payments-availability"
CATALOG = load_catalog(FLEET)
SIZES = {n: s.bucket_seconds for n, s in CATALOG.slos.items()}


@pytest.fixture
def instance(tmp_path: Path):  # type: ignore[no-untyped-def]
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


def jsonl_lines(n: int, start: int = D0) -> list[str]:
    return [
        json.dumps({"slo": SLO, "timestamp": start + 60 * i, "good": 100, "total": 100}) for i in range(n)
    ]


def test_a_truncated_last_line_is_quarantined_alone_with_its_text(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    truncated = '{"slo": "payments-availability", "timestamp": 1793494800, "go'
    (drop / "part.jsonl").write_text("\n".join([*jsonl_lines(60), truncated]))
    defs = definitions(tmp_path)
    result = run_range(defs, instance, "2026-11-01", "2026-11-01")
    warehouse = defs.resources["warehouse"]
    assert len(warehouse.read_buckets(D0, D0 + DAY, [SLO])) == 60  # the 60 valid rows are all kept
    [row] = warehouse.read_quarantine().to_dict(orient="records")
    assert row["raw"] == truncated and row["row_number"] == 61
    assert row["reason"].startswith("not valid JSON")
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["sample_files_readable"] is False and checks["rows_valid"] is True


def test_quarantine_keeps_the_original_text_and_the_precise_reason(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    lines = ["slo,timestamp,good,total"] + [f"{SLO},{D0 + 60 * i},10,10" for i in range(10)]
    bad = {
        f"{SLO},{D0 + 600},12abc,10": "good: not a number",
        f"{SLO},{D0 + 660},inf,10": "good: not a finite number",
        f"{SLO},{D0 + 720},true,10": "good: not a number",
        f"{SLO},2026-11-01T00:13:00,5,10": "timestamp: timestamp has no UTC offset",
        f"{SLO},{D0 + 810},5,10": "timestamp: not aligned to bucket_seconds=60",
        f"{SLO},99999999999999,5,10": "timestamp: timestamp out of range",
        f"{SLO},soon,5,10": "timestamp: not an ISO 8601 timestamp or Unix seconds",
        f"{SLO},{D0 + 900},1e16,1e16": "good: too large",
    }
    (drop / "mixed.csv").write_text("\n".join(lines + list(bad)) + "\n")
    defs = definitions(tmp_path)
    result = run_range(defs, instance, "2026-11-01", "2026-11-01")
    assert not result.success  # rows of the day were rejected: its gate holds budgets back
    quarantine = defs.resources["warehouse"].read_quarantine()
    by_raw = dict(zip(quarantine["raw"], quarantine["reason"], strict=True))
    assert set(by_raw) == set(bad)  # every rejected row, verbatim, and nothing else
    for text, reason in bad.items():
        assert by_raw[text].startswith(reason), (text, by_raw[text])
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["sample_rules"] is False and checks["good_below_max"] is False


def test_pipeline_audit_and_evaluate_reject_the_same_rows(tmp_path: Path) -> None:
    path = tmp_path / "samples.csv"
    rows = ["slo,timestamp,good,total"] + [f"{SLO},{D0 + 60 * i},99,100" for i in range(30)]
    rows += [
        f"{SLO},{D0 + 1800},1e16,1e16",  # the row that turned a breaching SLO into `ok`
        f"{SLO},{D0 + 1860},5,4",
        f"{SLO},{D0 + 1890},5,10",
        f"unknown-slo,{D0 + 1920},5,10",
        f"{SLO},{D0 + 1980},1e15,1e15",
    ]
    path.write_text("\n".join(rows) + "\n")
    raw = read_samples(path)
    checked = validate_samples(raw, known_slos=SIZES)
    refused = set(checked.rejected["row_number"])
    assert refused == {32, 33, 34, 35, 36}

    staged = stage_raw(raw, path.name)
    assert sample_rule_reasons(raw, SIZES).notna().sum() == len(refused)
    audit = audit_samples(CATALOG, staged, D0 + DAY, checked)
    assert audit["rows"]["rejected"] == len(refused) and not audit["success"]

    source = SampleSourceResource(drop_dir=str(tmp_path))
    from slo_pipelines.quality.triage import triage_rows

    inside, unplaced = source.read_range(CATALOG, D0, D0 + DAY)
    triage = triage_rows(inside, unplaced, CATALOG.slos, D0, D0 + DAY)
    assert set(triage.rejected["row_number"]) == refused
    assert len(triage.clean) == 30


def test_runs_read_only_the_files_touching_their_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "day1.jsonl").write_text("\n".join(jsonl_lines(5)) + "\n")
    (drop / "day2.jsonl").write_text("\n".join(jsonl_lines(5, D0 + DAY)) + "\n")
    reads: list[str] = []
    original = sample_source.read_samples

    def spy(path: Path, bad_lines: list[dict[str, object]] | None = None) -> pd.DataFrame:
        reads.append(Path(path).name)
        return original(path, bad_lines)

    monkeypatch.setattr(sample_source, "read_samples", spy)
    source = SampleSourceResource(drop_dir=str(drop))
    rows, _ = source.read_range(CATALOG, D0 + DAY, D0 + 2 * DAY)
    assert len(rows) == 5 and sorted(reads) == ["day1.jsonl", "day2.jsonl"]  # each read once, to index

    reads.clear()
    rows, _ = source.read_range(CATALOG, D0 + DAY, D0 + 2 * DAY)
    assert len(rows) == 5 and reads == ["day2.jsonl"]  # day1.jsonl is known not to touch that day
    index = json.loads((drop / sample_source.INDEX_NAME).read_text())
    assert index["day1.jsonl"]["days"] == [D0] and index["day2.jsonl"]["days"] == [D0 + DAY]

    # touched but unchanged: only hashed, not re-read; changed content: re-indexed
    reads.clear()
    os.utime(drop / "day1.jsonl")
    source.read_range(CATALOG, D0 + DAY, D0 + 2 * DAY)
    assert reads == ["day2.jsonl"]
    (drop / "day1.jsonl").write_text("\n".join(jsonl_lines(3, D0 + DAY + 3600)) + "\n")
    reads.clear()
    rows, _ = source.read_range(CATALOG, D0 + DAY, D0 + 2 * DAY)
    assert len(rows) == 8 and sorted(reads) == ["day1.jsonl", "day2.jsonl"]
    assert json.loads((drop / sample_source.INDEX_NAME).read_text())["day1.jsonl"]["days"] == [D0 + DAY]
