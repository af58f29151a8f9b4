"""SLO <-> SLA gaps (`slo sla gaps` and the report section)."""

import json
from pathlib import Path

import pytest

from slo_pipelines.catalog import load_catalog
from slo_pipelines.catalog.sla_contract import catalog_sla_contracts
from slo_pipelines.cli import main
from slo_pipelines.engine.sla.gaps import contract_gaps
from tests.test_sla_cli import CATALOG, _samples


def _checks(gaps: list[dict[str, object]]) -> set[tuple[object, ...]]:
    return {(g["contract"], g["slo"], g["check"]) for g in gaps}


STATIC = {
    ("acme-compute", "compute-availability", "objective_looser"),  # 99.9 % < 99.95 %
    (
        "globex-storage",
        "compute-availability",
        "window_mismatch",
    ),  # calendar month in UTC, contract in New York
    ("globex-storage", "storage-availability", "window_mismatch"),  # rolling 28d
    ("initech-quarterly", "storage-availability", "window_mismatch"),
}


def test_catalog_gaps_without_data() -> None:
    catalog = load_catalog(CATALOG)
    gaps = [g.to_json() for g in contract_gaps(catalog_sla_contracts(catalog.documents), catalog.slos)]
    assert _checks(gaps) == STATIC
    looser = next(g for g in gaps if g["check"] == "objective_looser")
    assert looser["objective"] == "availability"
    assert looser["detail"] == "objective target 99.9 % is below the contract's 99.95 %"


def test_coverage_interval_and_missing_slo() -> None:
    catalog = load_catalog(CATALOG)
    contracts = catalog_sla_contracts(catalog.documents)
    from dataclasses import replace

    acme = replace(contracts[0], measurement_interval_seconds=300, slos=("compute-availability", "gone"))
    coverage = {("acme-compute", "compute-availability"): 0.95}
    gaps = _checks([g.to_json() for g in contract_gaps([acme], catalog.slos, coverage, min_coverage=0.96)])
    assert gaps == {
        ("acme-compute", "compute-availability", "objective_looser"),
        ("acme-compute", "compute-availability", "interval_mismatch"),
        ("acme-compute", "compute-availability", "low_coverage"),
        ("acme-compute", "gone", "missing_slo"),
    }
    assert not any(g.check == "low_coverage" for g in contract_gaps([acme], catalog.slos, coverage, 0.95))


def test_cli_with_a_measured_period(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples, _ = _samples(tmp_path)
    args = ["sla", "gaps", "--catalog", str(CATALOG), "--samples", str(samples), "--period", "2026-10"]
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["period"] == "2026-10"
    low = {(g["contract"], g["slo"]) for g in payload["gaps"] if g["check"] == "low_coverage"}
    assert low == {
        ("acme-compute", "compute-availability"),
        ("globex-storage", "compute-availability"),
        ("globex-storage", "storage-availability"),
        ("initech-quarterly", "storage-availability"),
    }
    assert _checks(payload["gaps"]) - {(c, s, "low_coverage") for c, s in low} == STATIC
    assert main([*args, "--min-coverage", "0"]) == 0
    assert "low_coverage" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--period", "2026-10"], "--samples and --period go together"),
        (["--min-coverage", "1.5"], "--min-coverage: must be between 0 and 1 (got 1.5)"),
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], extra: list[str], message: str) -> None:
    assert main(["sla", "gaps", "--catalog", str(CATALOG), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("slo: error: ") and message in err and err.count("\n") == 1
