"""Incident records and `slo incidents impact` (DESIGN.md §9): catalog checks, affected SLOs through
Dependency documents, exact numbers on hand-computed cases, open incidents, severity tiers, exit codes."""

import json
from pathlib import Path
from typing import Any

import pytest

from slo_pipelines.catalog import CatalogError, load_catalog
from slo_pipelines.catalog.incidents import load_incidents
from slo_pipelines.cli import main
from slo_pipelines.engine.incidents.affected import affected_slos

DAY = 86400
D0 = 1_791_158_400  # 2026-10-05T00:00:00Z

CATALOG = """
apiVersion: openslo/v1
kind: Service
metadata: {name: NAME}
spec: {}
"""


def _slo(name: str, service: str, method: str, window: str, objective: str) -> str:
    return f"""
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}}}
spec:
  service: {service}
  indicator:
    metadata: {{name: {name}-sli}}
    spec:
      ratioMetric:
        counter: true
        good: {{metricSource: {{type: Prometheus, spec: {{query: good}}}}}}
        total: {{metricSource: {{type: Prometheus, spec: {{query: total}}}}}}
  timeWindow: [{window}]
  budgetingMethod: {method}
  objectives: [{objective}]
"""


def write_catalog(root: Path, extra: str = "") -> Path:
    docs = [CATALOG.replace("NAME", s) for s in ("a", "b", "c", "d")]
    docs.append(
        _slo(
            "a-avail",
            "a",
            "Occurrences",
            "{duration: 1d, isRolling: true}",
            "{displayName: avail, target: 0.999}",
        )
    )
    docs.append(
        _slo(
            "b-avail",
            "b",
            "Timeslices",
            '{duration: 1M, isRolling: false, calendar: {startTime: "2026-01-01 00:00:00", timeZone: UTC}}',
            "{displayName: avail, target: 0.9, timeSliceTarget: 0.95, timeSliceWindow: 5m}",
        )
    )
    docs.append(
        _slo(
            "c-avail",
            "c",
            "RatioTimeslices",
            "{duration: 1d, isRolling: true}",
            "{displayName: avail, target: 0.9, timeSliceWindow: 5m}",
        )
    )
    docs.append(
        _slo(
            "d-avail",
            "d",
            "Occurrences",
            "{duration: 1d, isRolling: true}",
            "{displayName: avail, target: 0.99}",
        )
    )
    for service, upstream in (("b", "a"), ("c", "b"), ("a", "stripe")):
        docs.append(
            f"""
apiVersion: slo-pipelines/v1
kind: Dependency
metadata: {{name: {service}-on-{upstream}}}
spec: {{service: {service}, upstream: {upstream}}}
"""
        )
    root.mkdir(parents=True, exist_ok=True)
    (root / "fleet.yaml").write_text("---".join(docs) + extra)
    return root


def incident(
    name: str, services: list[str], start: int, end: int | None, severity: str = "SEV2"
) -> dict[str, Any]:
    from slo_pipelines.engine.common.timeutil import format_instant

    spec: dict[str, Any] = {
        "title": f"{name} title",
        "severity": severity,
        "start": format_instant(start),
        "services": services,
    }
    if end is not None:
        spec["end"] = format_instant(end)
    return {"apiVersion": "slo-pipelines/v1", "kind": "Incident", "metadata": {"name": name}, "spec": spec}


def write_samples(path: Path, per_minute: dict[str, tuple[int, dict[int, int]]]) -> Path:
    """Two days of minute buckets from D0 for each SLO: (total per minute, {minute index: bad})."""
    lines = ["slo,timestamp,good,total"]
    for slo, (total, bad) in per_minute.items():
        for m in range(2 * 1440):
            lines.append(f"{slo},{D0 + 60 * m},{total - bad.get(m, 0)},{total}")
    path.write_text("\n".join(lines) + "\n")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    return write_catalog(tmp_path / "catalog")


def test_impact_flows_from_upstream_to_dependents_never_back(fleet: Path) -> None:
    catalog = load_catalog(fleet)
    assert [s.name for s in affected_slos(catalog, ["b"])] == ["b-avail", "c-avail"]
    assert [s.name for s in affected_slos(catalog, ["a"])] == ["a-avail", "b-avail", "c-avail"]
    assert [s.name for s in affected_slos(catalog, ["c"])] == ["c-avail"]
    assert [s.name for s in affected_slos(catalog, ["stripe"])] == ["a-avail", "b-avail", "c-avail"]
    assert [s.name for s in affected_slos(catalog, ["d"])] == ["d-avail"]


def test_exact_numbers_and_severity_at_a_tier_boundary(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a-avail: 1000 requests a minute over two days; 288 bad in the second day's 12:00 minute.
    # Budget window [B - 1 d, B) with B = end = D0 + 2 d: allowed = 0.001 * 1,440,000 = 1440, ratio = 0.2
    # exactly, which floating point would put just under SEV1.
    samples = write_samples(tmp_path / "s.csv", {"a-avail": (1000, {1440 + 720: 288})})
    inc = incident("INC-1", ["a"], D0 + DAY + 12 * 3600 - 30, D0 + 2 * DAY, severity="SEV2")
    (tmp_path / "inc.json").write_text(json.dumps([inc]))
    code, out, err = run(
        capsys,
        "incidents",
        "impact",
        "--catalog",
        str(fleet),
        "--samples",
        str(samples),
        "--incidents",
        str(tmp_path / "inc.json"),
    )
    assert code == 0, err
    [doc] = json.loads(out)["incidents"]
    assert doc["end"] == "2026-10-07T00:00:00Z" and doc["start"] == "2026-10-06T11:59:30Z"
    by = {s["name"]: s for s in doc["slos"]}
    assert sorted(by) == ["a-avail", "b-avail", "c-avail"]  # dependents, not d
    a = by["a-avail"]
    assert a["bad"] == 288 and a["total"] == 720 * 1000
    assert a["allowed_bad"] == pytest.approx(1440, rel=1e-12)
    assert a["budget_consumed_ratio"] == pytest.approx(0.2, rel=1e-12)
    assert doc["expected_severity"] == "SEV1" and doc["severity_mismatch"] is True
    # burn(1h) at 13:00 covers 12:00..13:00: 288 / 60,000 / 0.001 = 4.8, the peak
    assert a["peak_burn_rate_1h"] == pytest.approx(4.8, rel=1e-12)
    assert a["attributed_bad"] == a["bad"]
    # SLOs without data in the window: zeros (their slice budget exists unless measured-since removes it)
    for name in ("b-avail", "c-avail"):
        assert (by[name]["bad"], by[name]["total"], by[name]["attributed_bad"]) == (0, 0, 0)
        assert by[name]["budget_consumed_ratio"] in (0.0, None) and by[name]["peak_burn_rate_1h"] is None


def test_overlapping_incidents_split_bad_units_equally(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # b-avail (Timeslices, 5 m slices): minutes 60..119 of day 2 each 10 % bad -> 12 bad slices.
    samples = write_samples(tmp_path / "s.csv", {"b-avail": (100, {1440 + m: 10 for m in range(60, 120)})})
    t1 = D0 + DAY
    docs = [
        incident("INC-1", ["a"], t1 + 50 * 60 + 30, t1 + 130 * 60, "SEV3"),  # via Dependency b -> a
        incident("INC-2", ["b"], t1 + 90 * 60, None, "SEV3"),
    ]
    import yaml

    (tmp_path / "inc.yaml").write_text(yaml.safe_dump_all(docs))
    args = [
        "incidents",
        "impact",
        "--catalog",
        str(fleet),
        "--samples",
        str(samples),
        "--incidents",
        str(tmp_path / "inc.yaml"),
    ]
    code, _, err = run(capsys, *args)
    assert code == 2 and err.startswith("slo: error: ") and "INC-2 is open" in err and "--at" in err
    code, out, err = run(capsys, *args, "--at", "2026-10-06T03:00:00Z")
    assert code == 0, err
    inc1, inc2 = json.loads(out)["incidents"]
    b1 = next(s for s in inc1["slos"] if s["name"] == "b-avail")
    b2 = next(s for s in inc2["slos"] if s["name"] == "b-avail")
    # INC-1 counts slices starting in [00:50:30, 02:10): 00:55 .. 02:05 = 15, bad 01:00..01:55 = 12
    assert (b1["bad"], b1["total"]) == (12, 15)
    # INC-2 is open, measured to --at: slices 01:30 .. 02:55 = 18, bad 01:30..01:55 = 6
    assert (b2["bad"], b2["total"]) == (6, 18) and inc2["end"] is None
    # the 6 bad slices both windows hold are split 1/2 each; the union's 12 bad slices are conserved
    assert (b1["attributed_bad"], b2["attributed_bad"]) == (9, 3)
    assert b1["overlapping_incidents"] == ["INC-2"]
    # allowed over a rolling 30 d ending at B, measured since b-avail's first bucket (D0, DESIGN.md §3
    # "Measured since"): 0.1 x 314 slices (2026-10-05T00:00 .. 2026-10-06T02:10)
    assert b1["allowed_bad"] == pytest.approx(31.4, rel=1e-12)
    assert b1["budget_window"] == {"start": "2026-09-06T02:10:00Z", "end": "2026-10-06T02:10:00Z"}
    code, out, _ = run(capsys, *args, "--at", "2026-10-06T03:00:00Z", "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("INCIDENT,SEVERITY,EXPECTED,SLO")
    # 6 bad of 0.1 x 324 measured slices: 18.52 % of the budget, which the severity policy calls SEV2
    assert "INC-2,SEV3,SEV2 (mismatch),b-avail,avail,Timeslices,6,18,18.52%,3," in out


def test_severity_policy_sets_other_tiers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = """---
apiVersion: slo-pipelines/v1
kind: IncidentSeverityPolicy
metadata: {name: strict}
spec:
  tiers:
    - {severity: SEV1, budgetConsumedAtLeast: 0.5}
    - {severity: SEV2, budgetConsumedAtLeast: 0.1}
  otherwise: SEV3
"""
    fleet = write_catalog(tmp_path / "catalog", policy)
    samples = write_samples(tmp_path / "s.csv", {"a-avail": (1000, {1440 + 720: 288})})
    (tmp_path / "inc.json").write_text(json.dumps([incident("INC-1", ["a"], D0 + DAY, D0 + 2 * DAY)]))
    code, out, err = run(
        capsys,
        "incidents",
        "impact",
        "--catalog",
        str(fleet),
        "--samples",
        str(samples),
        "--incidents",
        str(tmp_path / "inc.json"),
    )
    assert code == 0, err
    [doc] = json.loads(out)["incidents"]
    assert doc["expected_severity"] == "SEV2" and doc["severity_mismatch"] is False
    assert doc["severity_policy"] == "strict"


def test_bad_severity_policy_is_a_catalog_error(tmp_path: Path) -> None:
    policy = """---
apiVersion: slo-pipelines/v1
kind: IncidentSeverityPolicy
metadata: {name: upside-down}
spec:
  tiers:
    - {severity: SEV2, budgetConsumedAtLeast: 0.1}
    - {severity: SEV1, budgetConsumedAtLeast: 0.5}
"""
    with pytest.raises(CatalogError) as err:
        load_catalog(write_catalog(tmp_path / "catalog", policy))
    assert "[11] spec.tiers[1]: tiers must go from the most severe down" in str(err.value)


def test_incident_file_errors_name_file_index_field_and_value(fleet: Path, tmp_path: Path) -> None:
    docs = [
        incident("INC-1", ["a"], D0 + 3600, D0),  # ends before it starts
        incident("INC-2", ["nope"], D0, D0 + 60),  # unknown service
        incident("INC-3", ["a"], D0, D0 + 60, severity="P1"),
        incident("INC-1", ["a"], D0, D0 + 60),  # the same name twice
        {"apiVersion": "slo-pipelines/v1", "kind": "SLO", "metadata": {"name": "x"}, "spec": {}},
    ]
    docs[2]["spec"]["start"] = "2026-10-05 00:00:00"  # no offset
    path = tmp_path / "inc.json"
    path.write_text(json.dumps(docs))
    with pytest.raises(CatalogError) as err:
        load_incidents(path, load_catalog(fleet))
    lines = str(err.value).splitlines()
    shown = path.as_posix()
    assert (
        f'{shown}[0] spec.end: must be after spec.start 2026-10-05T01:00:00Z (got "2026-10-05T00:00:00Z")'
        in lines
    )
    assert (
        f'{shown}[1] spec.services[0]: unknown service: no Service, SLO or Dependency names it (got "nope")'
        in lines
    )
    assert f'{shown}[2] spec.severity: must be one of SEV1, SEV2, SEV3, SEV4 (got "P1")' in lines
    assert any(line.startswith(f"{shown}[2] spec.start: needs a UTC offset") for line in lines)
    assert f'{shown}[3] metadata.name: incident "INC-1" is already defined at {shown}[0]' in lines
    assert f'{shown}[4] kind: must be Incident (got "SLO")' in lines


def test_cli_reports_bad_incident_file_in_one_line_each(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = write_samples(tmp_path / "s.csv", {})
    path = tmp_path / "inc.yaml"
    path.write_text(
        "apiVersion: slo-pipelines/v1\nkind: Incident\nmetadata: {name: X}\n"
        "spec: {title: t, severity: SEV1, start: '2026-10-05T01:00:00Z',"
        " end: '2026-10-05T00:00:00Z', services: [a]}\n"
    )
    code, out, err = run(
        capsys,
        "incidents",
        "impact",
        "--catalog",
        str(fleet),
        "--samples",
        str(samples),
        "--incidents",
        str(path),
    )
    assert code == 1 and out == ""
    assert (
        err == f"slo: error: {path.as_posix()}[0] spec.end: must be after spec.start 2026-10-05T01:00:00Z"
        ' (got "2026-10-05T00:00:00Z")\n'
    )
    code, _, err = run(
        capsys,
        "incidents",
        "impact",
        "--catalog",
        str(fleet),
        "--samples",
        str(samples),
        "--incidents",
        str(tmp_path / "missing.yaml"),
    )
    assert code == 1 and "missing.yaml: no such file" in err


def test_incident_documents_in_the_catalog_are_validated(tmp_path: Path) -> None:
    bad = """---
apiVersion: slo-pipelines/v1
kind: Incident
metadata: {name: INC-9}
spec: {title: t, severity: SEV1, start: "2026-10-05T00:00:00Z", services: [zzz], colour: red}
"""
    with pytest.raises(CatalogError) as err:
        load_catalog(write_catalog(tmp_path / "catalog", bad))
    text = str(err.value)
    assert (
        '[11] spec.services[0]: unknown service: no Service, SLO or Dependency names it (got "zzz")' in text
    )
    assert "[11] spec.colour: unknown field" in text


def test_open_incidents_suppress_pages_of_the_slos_they_affect(fleet: Path) -> None:
    from slo_pipelines.catalog.incidents import Incident
    from slo_pipelines.engine.alerting.payloads import AlertEvent, suppression_decision
    from slo_pipelines.engine.incidents.known import known_incidents

    catalog = load_catalog(fleet)
    open_on_a = Incident("INC-7", "Database down", "SEV1", D0, None, ("a",))
    known = known_incidents(catalog, [open_on_a])
    assert sorted(k.service for k in known) == ["a", "b", "c"]  # a and its dependents, not d
    page = AlertEvent("c-avail", "avail", "page", "1h", "5m", 14.4, D0 + 600)
    decision = suppression_decision(page, "c", D0 + 600, known)
    assert not decision.send and decision.rule == "incident" and "INC-7" in decision.reason
    assert suppression_decision(page, "d", D0 + 600, known).send
    assert suppression_decision(page, "c", D0 - 60, known).send  # before the incident opened


def test_runbook_costs_of_an_outage_minute_and_escalation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = """---
apiVersion: slo-pipelines/v1
kind: Team
metadata: {name: core}
spec:
  owners: [ana]
  services: [a, b]
  escalation: [{after: 5m, notify: core-oncall}]
"""
    fleet = write_catalog(tmp_path / "catalog", team)
    code, out, err = run(capsys, "incidents", "runbook", "--catalog", str(fleet), "--service", "b")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["team"] == "core" and doc["escalation"] == [{"after": "5m", "notify": "core-oncall"}]
    [line] = doc["slos"]
    # Timeslices, 5 m slices, 30 d: a minute turns one slice bad out of 0.1 x 8640 allowed
    assert line["outage_minute_cost"] == pytest.approx(1 / 864, rel=1e-12) and line["remaining_ratio"] is None
    samples = write_samples(tmp_path / "s.csv", {"a-avail": (1000, {})})
    code, out, _ = run(
        capsys,
        "incidents",
        "runbook",
        "--catalog",
        str(fleet),
        "--service",
        "a",
        "--samples",
        str(samples),
        "--at",
        "2026-10-07",
    )
    [line] = json.loads(out)["slos"]
    # Occurrences 99.9 % over 1 d: a minute of full outage is 60 / (0.001 x 86400) of the budget
    assert line["outage_minute_cost"] == pytest.approx(60 / 86.4, rel=1e-12)
    assert line["remaining_ratio"] == pytest.approx(1.0) and line["status"] == "ok"
    code, _, err = run(capsys, "incidents", "runbook", "--catalog", str(fleet), "--service", "zzz")
    assert code == 1 and "--service: no SLO of this service" in err


def test_rank_sums_attributed_budget_by_root_cause_and_service(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = write_samples(tmp_path / "s.csv", {"b-avail": (100, {1440 + m: 10 for m in range(60, 120)})})
    t1 = D0 + DAY
    first = incident("INC-1", ["b"], t1 + 50 * 60 + 30, t1 + 130 * 60)
    first["spec"]["rootCauses"] = [{"id": "cache"}, {"id": "deploy"}]
    second = incident("INC-2", ["b"], t1 + 90 * 60, t1 + 180 * 60)
    second["spec"]["rootCauses"] = [{"id": "deploy"}]
    (tmp_path / "inc.json").write_text(json.dumps([first, second]))
    code, out, err = run(
        capsys,
        "incidents",
        "rank",
        "--catalog",
        str(fleet),
        "--samples",
        str(samples),
        "--incidents",
        str(tmp_path / "inc.json"),
        "--at",
        "2026-10-06",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["range"] == {"start": "2026-10-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}
    # b-avail and c-avail (c depends on b; no data): INC-1 attributed 9 of the 0.1 x 314 slices measured
    # by its end (b-avail is measured since D0), INC-2 3 of 0.1 x 324
    one, two = 31.4, 32.4
    causes = {r["name"]: r["budget_consumed"] for r in doc["root_causes"]}
    assert causes["deploy"] == pytest.approx(4.5 / one + 3 / two) and causes["cache"] == pytest.approx(
        4.5 / one
    )
    assert [r["name"] for r in doc["root_causes"]] == ["deploy", "cache"]
    services = {r["name"]: r["budget_consumed"] for r in doc["services"]}
    # c-avail has no bucket at all, so it is never measured: it has no budget to consume
    assert services["b"] == pytest.approx(9 / one + 3 / two) and "c" not in services


def test_postmortem_section_is_escaped_and_carries_the_evidence(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = write_samples(tmp_path / "s.csv", {"a-avail": (1000, {1440 + m: 500 for m in range(720, 780)})})
    doc = incident("INC-1", ["a"], D0 + DAY + 12 * 3600, D0 + DAY + 13 * 3600, severity="SEV4")
    doc["spec"]["title"] = "<script>alert(1)</script> cache flush"
    (tmp_path / "inc.json").write_text(json.dumps([doc]))
    out_dir = tmp_path / "pm"
    code, _, err = run(
        capsys,
        "incidents",
        "postmortem",
        "--catalog",
        str(fleet),
        "--samples",
        str(samples),
        "--incidents",
        str(tmp_path / "inc.json"),
        "--incident",
        "INC-1",
        "--out",
        str(out_dir),
    )
    assert code == 0, err
    html = (out_dir / "postmortem.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; cache flush" in html
    assert html.count("<svg") == 3  # a, and its dependents b and c
    assert 'class="mismatch">SEV1' in html  # 30,000 bad of 1,440 allowed: far beyond SEV4
    assert "page 1h/5m at 2026-10-06T12:" in html  # the fast-burn page fired inside the window
    md = (out_dir / "postmortem.md").read_text()
    assert "| a-avail | avail | 30000 | 60000 |" in md and "(**mismatch**)" in md
    code, _, err = run(
        capsys,
        "incidents",
        "postmortem",
        "--catalog",
        str(fleet),
        "--samples",
        str(samples),
        "--incidents",
        str(tmp_path / "inc.json"),
        "--incident",
        "INC-9",
        "--out",
        str(out_dir),
    )
    assert code == 1 and "--incident: no incident of this name" in err


def test_reconciliation_findings_name_incident_and_slo(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outage = {1440 + m: 500 for m in range(720, 780)}  # day 2, 12:00-13:00: pages
    outage.update({1440 + m: 500 for m in range(1080, 1100)})  # day 2, 18:00-18:20: pages, no incident
    samples = write_samples(tmp_path / "s.csv", {"a-avail": (1000, outage), "d-avail": (1000, {})})
    late = incident("INC-1", ["a"], D0 + DAY + 12 * 3600 + 1800, D0 + DAY + 13 * 3600, severity="SEV1")
    quiet = incident("INC-2", ["d"], D0 + DAY + 3600, D0 + DAY + 7200, severity="SEV3")
    (tmp_path / "inc.json").write_text(json.dumps([late, quiet]))
    code, out, err = run(
        capsys,
        "incidents",
        "reconcile",
        "--catalog",
        str(fleet),
        "--samples",
        str(samples),
        "--incidents",
        str(tmp_path / "inc.json"),
        "--tolerance",
        "15m",
    )
    assert code == 0, err
    findings = json.loads(out)["findings"]
    kinds = {(f["kind"], f["incident"], f["slo"]) for f in findings}
    assert ("start_drift", "INC-1", "a-avail") in kinds  # first page ~12:0x, incident opened 12:30
    assert ("incident_without_impact", "INC-2", "d-avail") in kinds
    assert ("severity_mismatch", "INC-2", "d-avail") in kinds  # SEV3 declared, nothing spent: SEV4
    orphans = [f for f in findings if f["kind"] == "page_without_incident"]
    assert [f["slo"] for f in orphans] == ["a-avail"] and "T18:" in orphans[0]["detail"]
    code, _, err = run(
        capsys,
        "incidents",
        "reconcile",
        "--catalog",
        str(fleet),
        "--samples",
        str(samples),
        "--incidents",
        str(tmp_path / "inc.json"),
        "--tolerance",
        "soon",
    )
    assert code == 2 and err.startswith("slo: error: --tolerance:")


def test_edits_after_the_postmortem_are_found_in_the_version_history() -> None:
    import pandas as pd

    from slo_pipelines.catalog.incidents import Incident
    from slo_pipelines.engine.incidents.impact import IncidentImpact, SLOImpact
    from slo_pipelines.engine.incidents.reconcile import reconcile

    first = Incident(
        "INC-5", "t", "SEV2", D0, D0 + 3600, ("a",), updated_at=D0 + 7200, postmortem="https://pm"
    )
    edited = Incident(
        "INC-5", "t", "SEV3", D0 + 600, D0 + 3600, ("a",), updated_at=D0 + 9000, postmortem="https://pm"
    )
    slo = SLOImpact("a-avail", "a", "avail", "Occurrences", 0.999, 5, 100, 10, 0.5, 5, 2.0, D0, D0 + 3600)
    impact = IncidentImpact(edited, D0 + 3600, ("a",), (slo,), "SEV1", None)
    pages = pd.DataFrame(columns=["slo", "objective", "started_at", "ended_at"])
    [edit] = [
        f
        for f in reconcile([impact], pages, 900, {"INC-5": [edited, first]})
        if f.kind == "edited_after_postmortem"
    ]
    assert (edit.incident, edit.slo) == ("INC-5", "a-avail") and edit.detail.startswith(
        "start, severity changed at"
    )


def test_reconcile_reads_the_version_history_from_the_warehouse(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from slo_pipelines.catalog.incidents import Incident
    from slo_pipelines.resources.incident_store import IncidentStore
    from slo_pipelines.resources.warehouse import WarehouseResource

    samples = write_samples(tmp_path / "s.csv", {"a-avail": (1000, {}), "d-avail": (1000, {})})
    start, end = D0 + DAY + 3600, D0 + DAY + 7200
    (tmp_path / "inc.json").write_text(json.dumps([incident("INC-7", ["a"], start, end)]))
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    store = IncidentStore(WarehouseResource(url=url))
    store.warehouse.ensure_schema()
    linked = Incident("INC-7", "t", "SEV2", start, end, ("a",), updated_at=end + 600, postmortem="https://pm")
    moved = Incident(
        "INC-7", "t", "SEV2", start, end + 1800, ("a",), updated_at=end + 9000, postmortem="https://pm"
    )
    store.record_versions([linked, moved])
    args = ["incidents", "reconcile", "--catalog", str(fleet), "--samples", str(samples)]
    args += ["--incidents", str(tmp_path / "inc.json")]
    code, out, err = run(capsys, *args, "--warehouse", url)
    assert code == 0, err
    edits = [f for f in json.loads(out)["findings"] if f["kind"] == "edited_after_postmortem"]
    # the finding names the incident and every SLO it affects (a's dependents too)
    assert [(f["incident"], f["slo"]) for f in edits] == [("INC-7", "a-avail, b-avail, c-avail")]
    assert edits[0]["detail"].startswith("end changed at")
    # without a warehouse the file alone holds one version: nothing to compare
    code, out, _ = run(capsys, *args)
    assert code == 0 and not [
        f for f in json.loads(out)["findings"] if f["kind"] == "edited_after_postmortem"
    ]
