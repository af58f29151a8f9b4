"""SLA statements (engine/sla) against the minute-by-minute reference in tests/reference_sla.py."""

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slo_pipelines.catalog import CatalogError, load_catalog
from slo_pipelines.catalog.models import SLO, Duration, ExclusionRule, Indicator, Objective, Scope, TimeWindow
from slo_pipelines.catalog.sla_contract import CreditTier, SLAContract, catalog_sla_contracts
from slo_pipelines.engine.budgets.buckets import group_buckets
from slo_pipelines.engine.sla.minutes import SLAInputError
from slo_pipelines.engine.sla.periods import PeriodError, closed_periods, parse_period, place
from slo_pipelines.engine.sla.statement import evaluate_contract
from tests import reference_sla as ref

SERVICES = {"api-availability": "api", "api-latency": "api", "db-availability": "db"}
CATEGORIES = ("maintenance", "dependency_outage", "security_patch", "regulatory", "other")
TIERS = (("99.9", "10"), ("99", "25"), ("95", "100"))


def _slo(name: str, bucket: int = 60) -> SLO:
    return SLO(
        name=name,
        service=SERVICES[name],
        description="",
        indicator=Indicator(name=f"{name}-sli", kind="ratio"),
        time_window=TimeWindow(Duration(28, "d"), is_rolling=True),
        budgeting_method="Occurrences",
        objectives=(Objective(name="objective-0", index=0, target=0.999),),
        bucket_seconds=bucket,
    )


def _contract(c: ref.RefContract) -> SLAContract:
    return SLAContract(
        name="acme",
        customer="ACME",
        slos=c.slos,
        calendar="month",
        time_zone=c.time_zone,
        sli_below=Decimal(c.sli_below),
        target=Decimal(c.target),
        credits=tuple(CreditTier(Decimal(b), Decimal(p)) for b, p in c.credits),
        honours=c.honours,
        monthly_fee=None if c.monthly_fee is None else Decimal(c.monthly_fee),
    )


def _scope(scope: tuple[str, str] | None) -> Scope:
    if scope is None:
        return Scope()
    return Scope(slo=scope[1]) if scope[0] == "slo" else Scope(service=scope[1])


def _frame(rows: list[ref.RefRow]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "slo": [r.slo for r in rows],
            "start": [r.start for r in rows],
            "good": [r.good for r in rows],
            "total": [r.total for r in rows],
            "bucket_seconds": [r.bucket_seconds for r in rows],
        }
    ).astype({"start": "int64", "good": "float64", "total": "float64", "bucket_seconds": "int64"})


def _run(
    contract: ref.RefContract,
    label: str,
    rows: list[ref.RefRow],
    exclusions: list[tuple[ExclusionRule, ref.RefExclusion]],
    latency_bucket: int = 60,
):  # type: ignore[no-untyped-def]
    slos = {n: _slo(n, latency_bucket if n == "api-latency" else 60) for n in SERVICES}
    buckets = group_buckets(_frame(sorted(rows, key=lambda r: (r.slo, r.start))), slos)
    got = evaluate_contract(
        _contract(contract), parse_period(label), slos, buckets, [e for e, _ in exclusions]
    )
    want = ref.statement(contract, label, rows, [x for _, x in exclusions], SERVICES)
    return got, want


def _one_off(i: int, category: str, scope: tuple[str, str] | None, s: int, e: int):  # type: ignore[no-untyped-def]
    kind = "MaintenanceWindow" if category == "maintenance" else "Exclusion"
    rule = ExclusionRule(f"x{i}", kind, category, _scope(scope), "why", "board", start=s, end=e)  # type: ignore[arg-type]
    return rule, ref.RefExclusion(category, scope, ((s, e),))


@st.composite
def cases(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    zone = draw(st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata"]))
    label = draw(st.sampled_from(["2026-03", "2026-10", "2026-11", "2026-02", "2026-Q1", "2026-Q4"]))
    start, end, _ = ref.period_bounds(label, zone)
    names = draw(st.lists(st.sampled_from(sorted(SERVICES)), min_size=1, max_size=3, unique=True))
    latency_bucket = draw(st.sampled_from([30, 60, 300]))
    contract = ref.RefContract(
        slos=tuple(names),
        time_zone=zone,
        sli_below=draw(st.sampled_from(["0.95", "0.99", "0.999", "1", "0.5", "0.7"])),
        target=draw(st.sampled_from(["99.9", "99", "95", "99.95"])),
        credits=TIERS,
        honours=tuple(draw(st.lists(st.sampled_from(CATEGORIES), unique=True, max_size=3))),
        monthly_fee=draw(st.sampled_from(["12000", "99.99", None])),
    )
    rows: dict[tuple[str, int], ref.RefRow] = {}
    minutes = (end - start) // 60
    hot = draw(st.integers(0, minutes - 1))  # a burst of rows somewhere in the period
    for _ in range(draw(st.integers(0, 60))):
        slo = draw(st.sampled_from(sorted(SERVICES)))
        size = latency_bucket if slo == "api-latency" else 60
        near = draw(st.booleans())
        offset = hot + draw(st.integers(-6, 6)) if near else draw(st.integers(-10, minutes + 10))
        t = start + 60 * offset + (draw(st.sampled_from([0, 30])) if size == 30 else 0)
        t -= t % size
        total = draw(st.sampled_from([0, 1, 3, 10, 20, 1000, 7]))
        good = draw(st.sampled_from([total, total - 1, 0, (total * 19) // 20, (total * 7) // 10]))
        rows[(slo, t)] = ref.RefRow(slo, t, float(max(0, good)), float(total), size)
    exclusions = []
    for i in range(draw(st.integers(0, 3))):
        scope = draw(st.sampled_from([None, ("service", "api"), ("service", "db"), ("slo", "api-latency")]))
        s = start + draw(st.integers(-3600, end - start))
        exclusions.append(
            _one_off(i, draw(st.sampled_from(CATEGORIES)), scope, s, s + draw(st.integers(1, 300_000)))
        )
    if draw(st.booleans()):  # Sundays 02:00-04:00 local, across DST changes
        rule = ExclusionRule(
            "sunday-patching",
            "MaintenanceWindow",
            "maintenance",
            Scope(),
            "weekly patching",
            "change-board",
            start_local="2026-01-04T02:00:00",
            rrule="FREQ=WEEKLY;BYDAY=SU",
            duration_seconds=7200,
            time_zone=zone,
        )
        intervals = tuple(ref.weekly_local(zone, 6, 2, 120, start, end))
        exclusions.append((rule, ref.RefExclusion("maintenance", None, intervals)))
    return contract, label, list(rows.values()), exclusions, latency_bucket


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_statement_matches_minute_by_minute_reference(case) -> None:  # type: ignore[no-untyped-def]
    contract, label, rows, exclusions, latency_bucket = case
    got, want = _run(contract, label, rows, exclusions, latency_bucket)
    assert got.minutes_total == want["minutes_total"]
    assert got.minutes_excluded == want["minutes_excluded"]
    assert got.minutes_down == want["minutes_down"]
    assert got.attainment == want["attainment"]
    assert got.met == want["met"]
    assert got.credit_percent == want["credit_percent"]
    assert got.credit_amount == want["credit_amount"]
    assert sum(d.down for d in got.days) == got.minutes_down
    assert sum(d.minutes for d in got.days) == got.minutes_total


def _down_rows(start: int, minutes: int, slo: str = "api-availability") -> list[ref.RefRow]:
    return [ref.RefRow(slo, start + 60 * i, 94.0, 100.0, 60) for i in range(minutes)]


UTC_CONTRACT = ref.RefContract(
    ("api-availability",), "UTC", "0.95", "99.95", TIERS, ("maintenance",), "12000"
)


@pytest.mark.parametrize(
    ("down", "attainment", "credit"), [(2231, None, 25), (2232, 95, 25), (2233, None, 100)]
)
def test_95_percent_is_exact_at_2232_down_minutes_of_a_31_day_month(down: int, attainment, credit) -> None:  # type: ignore[no-untyped-def]
    start, _, _ = ref.period_bounds("2026-10", "UTC")
    got, want = _run(UTC_CONTRACT, "2026-10", _down_rows(start, down), [])
    assert got.minutes_total == 44640 and got.minutes_down == down
    if attainment is not None:
        assert got.attainment == attainment and got.to_json()["attainment_percent"] == 95.0
    assert got.credit_percent == credit == want["credit_percent"]
    assert got.credit_amount == Decimal(12000) * credit / 100
    assert not got.met


@pytest.mark.parametrize(("down", "met", "credit"), [(20, True, 0), (21, False, 10)])
def test_target_boundary_with_honoured_maintenance(down: int, met: bool, credit: int) -> None:
    """4,640 maintenance minutes leave 40,000 eligible: 20 down is exactly 99.95 %, the target."""
    start, _, _ = ref.period_bounds("2026-10", "UTC")
    maintenance = _one_off(0, "maintenance", None, start + 86400, start + 86400 + 4640 * 60)
    ignored = _one_off(1, "security_patch", ("service", "api"), start, start + 600)
    rows = _down_rows(start + 86400, 100) + _down_rows(start + 2 * 86400 + 4640 * 60, down)
    contract = ref.RefContract(
        ("api-availability",),
        "UTC",
        "0.95",
        "99.95",
        (("99.95", "10"), *TIERS[1:]),
        ("maintenance",),
        "12000",
    )
    got, want = _run(contract, "2026-10", rows, [maintenance, ignored])
    assert (
        (got.minutes_excluded, got.minutes_down)
        == (4640, down)
        == (want["minutes_excluded"], want["minutes_down"])
    )
    assert got.met is met and got.credit_percent == credit
    body = got.to_json()
    assert [(e["name"], e["minutes"], e["reason"], e["approved_by"]) for e in body["exclusions"]] == [
        ("x0", 4640, "why", "board")
    ]
    assert [(e["name"], e["category"], e["minutes"]) for e in body["exclusions_not_honoured"]] == [
        ("x1", "security_patch", 10)
    ]


@pytest.mark.parametrize(
    ("zone", "label", "minutes", "start"),
    [
        ("America/New_York", "2026-11", 30 * 1440 + 60, "2026-11-01T04:00:00Z"),
        ("America/New_York", "2026-03", 31 * 1440 - 60, "2026-03-01T05:00:00Z"),
        ("Europe/Berlin", "2026-10", 31 * 1440 + 60, "2026-09-30T22:00:00Z"),
        ("Europe/Berlin", "2026-Q1", 90 * 1440 - 60, "2025-12-31T23:00:00Z"),
    ],
)
def test_periods_have_their_true_length_in_the_contract_zone(
    zone: str, label: str, minutes: int, start: str
) -> None:
    period = place(parse_period(label), zone)
    assert period.minutes == minutes
    contract = ref.RefContract(("api-availability",), zone, "0.95", "99.9", TIERS, (), None)
    got, _ = _run(contract, label, [], [])
    assert got.to_json()["period"]["start"] == start
    assert got.attainment == 100 and got.met and got.credit_amount is None


def test_sli_exactly_at_the_threshold_is_up_and_just_below_is_down() -> None:
    start, _, _ = ref.period_bounds("2026-10", "UTC")
    contract = ref.RefContract(("api-availability", "db-availability"), "UTC", "0.7", "99.9", TIERS, (), None)
    rows = [
        ref.RefRow("api-availability", start, 4.0, 5.0, 60),  # 0.8 + 0.3 over 5 + 5 = 0.7: up
        ref.RefRow("db-availability", start, 3.0, 5.0, 60),
        ref.RefRow("api-availability", start + 60, 0.7, 1.0, 60),  # 0.7 as written is 7/10: up
        ref.RefRow("api-availability", start + 120, 0.0, 0.0, 60),  # no traffic: up
        ref.RefRow("api-availability", start + 180, 1.4, 2.0, 60),  # 1.4 / 2 = 7/10: up
        ref.RefRow("api-availability", start + 240, 0.6999999999999999, 1.0, 60),  # just under: down
    ]
    got, want = _run(contract, "2026-10", rows, [])
    assert got.minutes_down == want["minutes_down"] == 1


def test_a_five_minute_bucket_counts_at_its_per_minute_rate_beside_one_minute_buckets() -> None:
    """0 good of 25 over five minutes is 5 bad per minute: beside 100/100 that minute is 100/105 >= 0.95."""
    start, _, _ = ref.period_bounds("2026-10", "UTC")
    contract = ref.RefContract(("api-availability", "api-latency"), "UTC", "0.95", "99.9", TIERS, (), None)
    rows = [
        ref.RefRow("api-availability", start, 100.0, 100.0, 60),
        ref.RefRow("api-latency", start, 0.0, 25.0, 300),
    ]
    got, want = _run(contract, "2026-10", rows, [], 300)
    assert got.minutes_down == want["minutes_down"] == 4
    assert got.slo_coverage["api-latency"] == 5 / 44640


def test_bucket_sizes_that_do_not_fit_minutes_are_refused() -> None:
    start, _, _ = ref.period_bounds("2026-10", "UTC")
    with pytest.raises(SLAInputError, match=r"api-latency.*90 s"):
        contract = ref.RefContract(("api-latency",), "UTC", "0.95", "99.9", TIERS, (), None)
        _run(contract, "2026-10", [ref.RefRow("api-latency", start, 1.0, 1.0, 90)], [], 90)


def test_period_labels() -> None:
    assert str(parse_period("2026-Q4")) == "2026-Q4" and parse_period("2026-Q4").months == 3
    assert (
        str(parse_period("2026-10").next()) == "2026-11"
        and str(parse_period("2026-01").previous()) == "2025-12"
    )
    for bad in ("2026-13", "2026-Q5", "26-10", "2026/10"):
        with pytest.raises(PeriodError, match="YYYY-MM"):
            parse_period(bad)
    _, end, _ = ref.period_bounds("2026-11", "America/New_York")
    closed = closed_periods("America/New_York", 1, end - 100 * 86400, end)
    assert [str(p.label) for p in closed] == ["2026-08", "2026-09", "2026-10", "2026-11"]


SLA_CATALOG = Path(__file__).resolve().parent / "fixtures" / "sla_catalog"


def _write(tmp_path: Path, spec: dict[str, object]) -> Path:
    """The fixture catalog's services and SLOs with one contract of `spec` in c.yaml (document 1)."""
    (tmp_path / "services.yaml").write_text((SLA_CATALOG / "services.yaml").read_text())
    doc = {
        "apiVersion": "slo-pipelines/v1",
        "kind": "SLAContract",
        "metadata": {"name": "acme"},
        "spec": spec,
    }
    filler = {
        "apiVersion": "slo-pipelines/v1",
        "kind": "Team",
        "metadata": {"name": "t"},
        "spec": {"owners": ["a"]},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump_all([filler, doc]))
    return tmp_path


BASE = {
    "customer": "ACME",
    "slos": ["compute-availability"],
    "period": {"calendar": "quarter", "timeZone": "America/New_York"},
    "downtime": {"sliBelow": 0.95},
    "target": 99.9,
    "credits": [{"below": 99.9, "credit": 10}, {"below": 99.0, "credit": 25}],
    "honours": ["maintenance", "regulatory"],
    "monthlyFee": 1000.5,
    "currency": "USD",
}


def test_contract_is_typed_with_exact_decimals(tmp_path: Path) -> None:
    (contract,) = catalog_sla_contracts(load_catalog(_write(tmp_path, BASE)).documents)
    assert contract.calendar == "quarter" and contract.time_zone == "America/New_York"
    assert contract.sli_below == Decimal("0.95") and contract.target == Decimal("99.9")
    assert contract.monthly_fee == Decimal("1000.5") and contract.months_in_period == 3
    assert contract.tier_for(Fraction(999, 10)) is None
    assert contract.tier_for(Fraction(98999, 1000)) == CreditTier(Decimal("99.0"), Decimal(25))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"credits": [{"below": 99.9, "credit": 30}, {"below": 99.0, "credit": 10}]},
            "spec.credits: a lower attainment must not earn a smaller credit",
        ),
        (
            {"credits": [{"below": 99.9, "credit": 10}, {"below": 99.9, "credit": 20}]},
            "spec.credits[1].below: another tier has the same bound (got 99.9)",
        ),
        ({"credits": [{"below": 99.9, "credit": 10, "cap": 1}]}, "spec.credits[0].cap: unknown field"),
        ({"monthlyFees": 10}, "spec.monthlyFees: unknown field"),
        ({"downtime": {"sliBelow": 1.5}}, "spec.downtime.sliBelow: must be > 0 and <= 1 (got 1.5)"),
        ({"measurementInterval": "1M"}, "spec.measurementInterval: needs a fixed-length unit"),
        ({"slos": []}, "spec.slos: must not be empty"),
    ],
)
def test_contract_errors_name_file_index_and_field(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog(_write(tmp_path, {**BASE, **change}))
    lines = str(caught.value).splitlines()
    assert any(line.startswith(f"{tmp_path.as_posix()}/c.yaml[1] {message}") for line in lines), lines
