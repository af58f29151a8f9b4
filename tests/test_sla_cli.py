"""`slo sla evaluate`: DESIGN.md §6 fields, agreement with the minute-by-minute reference (a New York
month across the DST change, honoured and not-honoured exclusions, runtime exclusions), formats, errors."""

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from slo_pipelines.cli import main
from tests import reference_sla as ref

CATALOG = Path(__file__).resolve().parent / "fixtures" / "sla_catalog"
FIELDS = [
    "name",
    "customer",
    "period",
    "minutes_total",
    "minutes_excluded",
    "minutes_down",
    "attainment_percent",
    "target",
    "met",
    "credit_percent",
    "credit_amount",
]
GLOBEX = ref.RefContract(
    ("compute-availability", "storage-availability"),
    "America/New_York",
    "0.99",
    "99.9",
    (("99.9", "5"), ("99.0", "15")),
    ("maintenance", "regulatory"),
    "999.99",
)
ACME = ref.RefContract(
    ("compute-availability",),
    "UTC",
    "0.95",
    "99.95",
    (("99.95", "10"), ("99.0", "30"), ("95.0", "100")),
    ("maintenance",),
    "12000",
)
SERVICES = {"compute-availability": "compute", "storage-availability": "storage"}
CATALOG_EXCLUSIONS = [
    ref.RefExclusion("maintenance", ("service", "compute"), ((1791079200, 1791086400),)),  # 2026-10-04 02-04Z
    ref.RefExclusion("regulatory", ("slo", "storage-availability"), ((1791633600, 1791635400),)),
]


def _ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def _samples(tmp_path: Path) -> tuple[Path, list[ref.RefRow]]:
    """Bad minutes around the New York DST change (2026-11-01 06:00Z) and at the start of October."""
    rows = []
    for start, minutes, slo, good in [
        ("2026-11-01T03:50:00", 40, "compute-availability", 97.0),  # across New York midnight
        ("2026-11-01T05:30:00", 90, "storage-availability", 98.0),  # across 01:00-02:00 twice
        ("2026-11-01T05:30:00", 90, "compute-availability", 100.0),  # sum 198/200 = 0.99: up
        ("2026-11-02T10:00:00", 30, "compute-availability", 100.0),
        ("2026-11-02T10:00:00", 30, "storage-availability", 97.0),  # 197/200 < 0.99: down
        ("2026-10-04T01:00:00", 240, "compute-availability", 90.0),  # half inside the maintenance
        ("2026-10-10T11:50:00", 60, "storage-availability", 50.0),
        ("2026-09-15T10:00:00", 10, "compute-availability", 90.0),  # a September for the trend
        ("2026-09-20T08:00:00", 15, "storage-availability", 80.0),  # and a third quarter
    ]:
        t0 = _ts(start)
        rows += [ref.RefRow(slo, t0 + 60 * i, good, 100.0, 60) for i in range(minutes)]
    path = tmp_path / "samples.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["slo", "timestamp", "good", "total"])
        for r in rows:
            writer.writerow(
                [r.slo, datetime.fromtimestamp(r.start, UTC).isoformat(), int(r.good), int(r.total)]
            )
    return path, rows


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse usage errors
        code = int(exit_.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _evaluate(capsys: pytest.CaptureFixture[str], samples: Path, period: str, *extra: str) -> dict[str, dict]:  # type: ignore[type-arg]
    code, out, err = _run(
        capsys,
        "sla",
        "evaluate",
        "--catalog",
        str(CATALOG),
        "--samples",
        str(samples),
        "--period",
        period,
        *extra,
    )
    assert code == 0, err
    payload = json.loads(out)
    assert list(payload) == ["period", "catalog_digest", "contracts"]
    return {c["name"]: c for c in payload["contracts"]}


def _agrees(entry: dict, want: dict) -> None:  # type: ignore[type-arg]
    assert list(entry)[: len(FIELDS)] == FIELDS
    for key in ("minutes_total", "minutes_excluded", "minutes_down", "met"):
        assert entry[key] == want[key], key
    assert entry["attainment_percent"] == float(want["attainment"])
    assert Decimal(repr(entry["credit_percent"])) == want["credit_percent"]
    assert (entry["credit_amount"] is None) == (want["credit_amount"] is None)
    if want["credit_amount"] is not None:
        assert Decimal(repr(entry["credit_amount"])) == want["credit_amount"]


def test_new_york_month_across_dst_agrees_with_the_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples, rows = _samples(tmp_path)
    got = _evaluate(capsys, samples, "2026-11")
    globex = got["globex-storage"]
    assert (
        globex["period"]["start"] == "2026-11-01T04:00:00Z"
        and globex["period"]["end"] == "2026-12-01T05:00:00Z"
    )
    assert globex["period"]["start_local"] == "2026-11-01T00:00:00-04:00"
    assert globex["minutes_total"] == 30 * 1440 + 60
    want = ref.statement(GLOBEX, "2026-11", rows, CATALOG_EXCLUSIONS, SERVICES)
    _agrees(globex, want)
    assert globex["minutes_down"] == 30 + 30  # 03:50Z-04:30Z is 23:50-00:30 New York: 30 in November
    assert globex["minutes_down"] > 0 and globex["met"] is False and globex["credit_percent"] == 5
    assert got["acme-compute"]["minutes_total"] == 43200 and got["acme-compute"]["minutes_down"] == 0


def test_honoured_and_not_honoured_exclusions_agree_with_the_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples, rows = _samples(tmp_path)
    got = _evaluate(capsys, samples, "2026-10")
    acme = got["acme-compute"]
    want = ref.statement(ACME, "2026-10", rows, CATALOG_EXCLUSIONS, SERVICES)
    _agrees(acme, want)
    assert (acme["minutes_excluded"], acme["minutes_down"]) == (120, 120)
    assert acme["attainment_percent"] == float(Fraction(100 * (44520 - 120), 44520))
    assert acme["credit_percent"] == 10 and acme["credit_amount"] == 1200
    (kernel,) = acme["exclusions"]
    assert (kernel["name"], kernel["reason"], kernel["approved_by"], kernel["minutes"]) == (
        "compute-kernel-upgrade",
        "Kernel upgrade of the hypervisors",
        "change-board",
        120,
    )
    quarterly = got[
        "initech-quarterly"
    ]  # honours security_patch only: the regulatory shutdown is not excluded
    assert quarterly["minutes_excluded"] == 0 and quarterly["minutes_total"] == 31 * 1440 + 60
    assert [e["name"] for e in quarterly["exclusions_not_honoured"]] == ["storage-regulator-shutdown"]
    assert quarterly["minutes_down"] == 60


def test_quarter_in_berlin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples, rows = _samples(tmp_path)
    initech = _evaluate(capsys, samples, "2026-Q4", "--contract", "initech-quarterly")
    assert list(initech) == ["initech-quarterly"]
    entry = initech["initech-quarterly"]
    contract = ref.RefContract(
        ("storage-availability",),
        "Europe/Berlin",
        "0.9",
        "99.5",
        (("99.5", "10"),),
        ("security_patch",),
        None,
    )
    _agrees(entry, ref.statement(contract, "2026-Q4", rows, CATALOG_EXCLUSIONS, SERVICES))
    assert (
        entry["period"]["start"] == "2026-09-30T22:00:00Z"
        and entry["period"]["end"] == "2026-12-31T23:00:00Z"
    )
    assert entry["credit_amount"] is None


def test_runtime_exclusions_from_the_warehouse_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples, rows = _samples(tmp_path)
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    code, _, err = _run(
        capsys, "exclusions", "add", "--warehouse-url", url, "--scope", "service:compute",
        "--start", "2026-10-04T04:00:00Z", "--end", "2026-10-04T05:00:00Z", "--category", "maintenance",
        "--reason", "Extended upgrade", "--requester", "alice", "--approver", "change-board",
        "--id", "exc-extended", "--catalog", str(CATALOG),
    )  # fmt: skip
    assert code == 0, err
    # recorded after the fact, so it counts only once a second person approves it
    code, _, err = _run(
        capsys, "exclusions", "review", "exc-extended", "--warehouse-url", url, "--reviewer", "dana",
        "--decision", "approve", "--reason", "upgrade log confirms the hour",
    )  # fmt: skip
    assert code == 0, err
    acme = _evaluate(capsys, samples, "2026-10", "--warehouse", url, "--contract", "acme-compute")[
        "acme-compute"
    ]
    runtime = ref.RefExclusion(
        "maintenance", ("service", "compute"), ((_ts("2026-10-04T04:00:00"), _ts("2026-10-04T05:00:00")),)
    )
    _agrees(acme, ref.statement(ACME, "2026-10", rows, [*CATALOG_EXCLUSIONS, runtime], SERVICES))
    assert acme["minutes_excluded"] == 180 and acme["minutes_down"] == 60
    assert [(e["name"], e["approved_by"], e["minutes"]) for e in acme["exclusions"]] == [
        ("compute-kernel-upgrade", "change-board", 120),
        ("exc-extended", "change-board", 60),
    ]


def test_table_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples, _ = _samples(tmp_path)
    base = ["sla", "evaluate", "--catalog", str(CATALOG), "--samples", str(samples), "--period", "2026-10"]
    code, out, _ = _run(capsys, *base, "--format", "csv")
    assert code == 0
    table = list(csv.DictReader(io.StringIO(out)))
    acme = next(r for r in table if r["CONTRACT"] == "acme-compute")
    assert (acme["DOWN"], acme["MET"], acme["CREDIT AMOUNT"], acme["CURRENCY"]) == (
        "120",
        "no",
        "1200",
        "EUR",
    )
    code, out, _ = _run(capsys, *base, "--format", "table")
    assert code == 0
    assert "99.7304" in out and "1,200.00 EUR" in out  # 44400 / 44520, truncated to four decimals
    assert "Kernel upgrade of the hypervisors" in out and "storage-regulator-shutdown" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--period", "2026-13"], 2, "argument --period: not a period: use YYYY-MM for a month or YYYY-Qn"),
        (["--period", "2026-10", "--contract", "nope"], 2, "--contract: no SLAContract named 'nope'"),
        (["--period", "2026-10", "--samples", "missing.csv"], 1, "missing.csv: file not found"),
        (["--period", "2026-10", "--catalog", "/nonexistent"], 1, "/nonexistent"),
    ],
)
def test_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    samples, _ = _samples(tmp_path)
    options = {"--catalog": str(CATALOG), "--samples": str(samples)}
    for i in range(0, len(args), 2):
        options[args[i]] = str(tmp_path / args[i + 1]) if args[i + 1] == "missing.csv" else args[i + 1]
    flat = [x for k, v in options.items() for x in (k, v)]
    got, out, err = _run(capsys, "sla", "evaluate", *flat)
    assert got == code
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slo: error: ") and message in lines[0], err
    assert out == ""


def test_bad_sample_row_names_file_row_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("slo,timestamp,good,total\ncompute-availability,2026-10-01T00:00:00Z,5,3\n")
    code, out, err = _run(
        capsys, "sla", "evaluate", "--catalog", str(CATALOG), "--samples", str(bad), "--period", "2026-10"
    )
    assert code == 1 and out == ""
    assert err.startswith(f"slo: error: {bad} row 2 good:") and err.count("\n") == 1


COMPOSITE_CATALOG = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-journey}
spec:
  service: checkout
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives:
    - displayName: available
      target: 0.99
      compositeWeight: 2
      indicator:
        metadata: {name: checkout-ok}
        spec:
          ratioMetric:
            counter: true
            bad: {metricSource: {type: prometheus, spec: {query: 'sum(checkout_total{code="500"})'}}}
            total: {metricSource: {type: prometheus, spec: {query: sum(checkout_total)}}}
    - displayName: fast
      target: 0.9
      compositeWeight: 1
      indicator:
        metadata: {name: checkout-fast}
        spec:
          ratioMetric:
            counter: true
            good: {metricSource: {type: prometheus, spec: {query: 'sum(checkout_bucket{le="0.3"})'}}}
            total: {metricSource: {type: prometheus, spec: {query: sum(checkout_count)}}}
---
apiVersion: slo-pipelines/v1
kind: SLAContract
metadata: {name: journey}
spec:
  customer: "K"
  slos: [checkout-journey]
  period: {calendar: month, timeZone: UTC}
  downtime: {sliBelow: 0.95}
  target: 99.99
  credits: [{below: 99.99, credit: 10}]
  monthlyFee: 100
"""


def test_a_composite_slo_is_measured_from_its_objectives_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows keyed `SLO/objective` are the composite SLO's buckets, summed per minute: 10 minutes where
    each objective is 90/100 (down), 5 where 100/100 + 90/100 = 190/200 (up, exactly 0.95)."""
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "c.yaml").write_text(COMPOSITE_CATALOG)
    start = _ts("2026-10-01T00:00:00")
    lines = ["slo,timestamp,good,total"]
    for i in range(10):
        lines += [
            f"checkout-journey/available,{start + 60 * i},90,100",
            f"checkout-journey/fast,{start + 60 * i},90,100",
        ]
    for i in range(10, 15):
        lines += [
            f"checkout-journey/available,{start + 60 * i},100,100",
            f"checkout-journey/fast,{start + 60 * i},90,100",
        ]
    samples = tmp_path / "s.csv"
    samples.write_text("\n".join(lines) + "\n")
    code, out, err = _run(
        capsys, "sla", "evaluate", "--catalog", str(catalog), "--samples", str(samples), "--period", "2026-10"
    )
    assert code == 0, err
    (got,) = json.loads(out)["contracts"]
    assert got["minutes_down"] == 10
    assert got["attainment_percent"] == pytest.approx(100 * (44640 - 10) / 44640, abs=1e-9)
    assert (got["met"], got["credit_percent"], got["credit_amount"]) == (False, 10, 10)
    assert got["slo_coverage"] == {"checkout-journey": 15 / 44640}


def test_re_weighted_counts_at_sli_below_as_written_are_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """0.95 / 1 and 1.9 / 2 equal acme's sliBelow 0.95 as written (the floats 0.95 and 1.9 lie just under
    those decimals): up; 0.949 / 1 is down."""
    start = _ts("2026-12-01T00:00:00")
    samples = tmp_path / "s.csv"
    samples.write_text(
        "slo,timestamp,good,total\n"
        f"compute-availability,{start},0.95,1\n"
        f"compute-availability,{start + 60},1.9,2\n"
        f"compute-availability,{start + 120},0.949,1\n"
    )
    got = _evaluate(capsys, samples, "2026-12")["acme-compute"]
    assert got["minutes_down"] == 1
