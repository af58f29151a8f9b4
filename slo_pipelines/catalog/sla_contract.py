"""The `SLAContract` kind, typed: what a customer was promised and what a miss costs (DESIGN.md §2).

Percentages, the downtime threshold and the fee are kept as `Decimal` made from the YAML text of the
number (`99.95` stays 99.95, not the nearest binary float), so tier boundaries and credit amounts are
compared and computed exactly.

    spec:
      customer: "ACME Corp"
      slos: [compute-availability]          # their buckets are summed per minute
      period: {calendar: month, timeZone: UTC}          # month | quarter, in the contract's zone
      downtime: {sliBelow: 0.95}            # a minute is down when its SLI < sliBelow
      target: 99.99                         # percent of eligible minutes that must be up
      credits: [{below: 99.99, credit: 10}, {below: 99.0, credit: 30}]
      honours: [maintenance]                # exclusion categories the contract excludes
      monthlyFee: 12000                     # optional
      currency: EUR                         # optional, printed beside credit amounts
      measurementInterval: 1m               # optional (default 1m): the interval the contract measures
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Any, Literal, cast

from slo_pipelines.catalog.durations import DurationError, parse_fixed_seconds
from slo_pipelines.catalog.exclusions import ALL_CATEGORIES
from slo_pipelines.catalog.fields import (
    Reporter,
    as_mapping,
    choice,
    join,
    mapping,
    number,
    sequence,
    show,
    string,
    string_list,
    unknown_fields,
)
from slo_pipelines.catalog.models import Document
from slo_pipelines.catalog.registry import Registry
from slo_pipelines.catalog.timeparse import TimeValueError, zone

ContractCalendar = Literal["month", "quarter"]
MONTHS_IN_PERIOD: dict[str, int] = {"month": 1, "quarter": 3}
_TOP_KEYS = (
    "description",
    "customer",
    "slos",
    "period",
    "downtime",
    "target",
    "credits",
    "honours",
    "monthlyFee",
    "currency",
    "measurementInterval",
)


@dataclass(frozen=True)
class CreditTier:
    """`credit` percent of the period's fee is owed when attainment is strictly under `below` percent."""

    below: Decimal
    credit: Decimal


@dataclass(frozen=True)
class SLAContract:
    name: str
    customer: str
    slos: tuple[str, ...]
    calendar: ContractCalendar
    time_zone: str
    sli_below: Decimal  # ratio in (0, 1]
    target: Decimal  # percent
    credits: tuple[CreditTier, ...] = ()  # sorted from the mildest (highest `below`) to the most severe
    honours: tuple[str, ...] = ()
    monthly_fee: Decimal | None = None
    currency: str | None = None
    measurement_interval_seconds: int = 60
    description: str = ""
    source_file: str = ""

    @property
    def months_in_period(self) -> int:
        return MONTHS_IN_PERIOD[self.calendar]

    def tier_for(self, attainment: Fraction | Decimal | int) -> CreditTier | None:
        """The most severe tier whose `below` the attainment is strictly under (lowest `below` wins),
        compared exactly (no floats)."""
        matching = [t for t in self.credits if Fraction(attainment) < Fraction(t.below)]
        return min(matching, key=lambda t: (t.below, -t.credit)) if matching else None


def exact(value: int | float) -> Decimal:
    """The number as written in YAML: `Decimal(str(0.95))` is 0.95, where `Decimal(0.95)` is not."""
    return Decimal(value) if isinstance(value, int) else Decimal(repr(float(value)))


def _bounded(r: Reporter, parent: dict[str, Any], key: str, base: str) -> Decimal | None:
    value = number(r, parent, key, base, required=True)
    if value is None:
        return None
    if not 0 <= value <= 100:
        r.error(join(base, key), f"must be between 0 and 100 (got {show(parent[key])})")
        return None
    return exact(parent[key])


def _period(r: Reporter, spec: dict[str, Any]) -> tuple[str | None, str | None]:
    period = mapping(r, spec, "period", "spec", required=True)
    if period is None:
        return None, None
    unknown_fields(r, period, ("calendar", "timeZone"), "spec.period")
    calendar = choice(r, period, "calendar", "spec.period", ("month", "quarter"), required=True)
    time_zone: str | None = "UTC"
    if period.get("timeZone") is not None:
        try:
            time_zone = zone(period["timeZone"]).key
        except TimeValueError as exc:
            r.error("spec.period.timeZone", str(exc))
            time_zone = None
    return calendar, time_zone


def _credits(r: Reporter, spec: dict[str, Any]) -> tuple[CreditTier, ...] | None:
    tiers: list[CreditTier] = []
    ok = True
    for i, tier in enumerate(sequence(r, spec, "credits", "spec") or []):
        path = f"spec.credits[{i}]"
        body = as_mapping(r, tier, path)
        if body is None:
            ok = False
            continue
        unknown_fields(r, body, ("below", "credit"), path)
        below, credit = _bounded(r, body, "below", path), _bounded(r, body, "credit", path)
        if below is None or credit is None:
            ok = False
            continue
        if any(t.below == below for t in tiers):
            r.error(join(path, "below"), f"another tier has the same bound (got {show(body['below'])})")
            ok = False
        tiers.append(CreditTier(below, credit))
    ordered = sorted(tiers, key=lambda t: t.below, reverse=True)
    for milder, severe in pairwise(ordered):
        if severe.credit < milder.credit:
            r.error(
                "spec.credits",
                f"a lower attainment must not earn a smaller credit (below {severe.below}: credit "
                f"{severe.credit} < below {milder.below}: credit {milder.credit})",
            )
            ok = False
    return tuple(ordered) if ok else None


def parse_sla_contract(
    r: Reporter, registry: Registry | None, name: str, spec: dict[str, Any], source_file: str = ""
) -> SLAContract | None:
    """Typed contract, or None with every problem reported (paths like `spec.credits[1].below`).

    With a `registry`, the covered SLO names must exist in the catalog."""
    before = len(r.sink)
    unknown_fields(r, spec, _TOP_KEYS, "spec")
    customer = string(r, spec, "customer", "spec", required=True)
    slos = string_list(r, spec, "slos", "spec", required=True) or []
    if not slos and isinstance(spec.get("slos"), list):
        r.error("spec.slos", "must name at least one SLO")
    for i, slo in enumerate(slos):
        if registry is not None and not registry.has("SLO", slo):
            r.error(f"spec.slos[{i}]", f"no SLO with this name in the catalog (got {show(slo)})")
        elif slos.index(slo) != i:
            r.error(f"spec.slos[{i}]", f"listed twice (got {show(slo)})")
    calendar, time_zone = _period(r, spec)
    sli_below: Decimal | None = None
    downtime = mapping(r, spec, "downtime", "spec", required=True)
    if downtime is not None:
        unknown_fields(r, downtime, ("sliBelow",), "spec.downtime")
        below = number(r, downtime, "sliBelow", "spec.downtime", required=True)
        if below is not None and not 0 < below <= 1:
            r.error("spec.downtime.sliBelow", f"must be > 0 and <= 1 (got {show(downtime['sliBelow'])})")
        elif below is not None:
            sli_below = exact(downtime["sliBelow"])
    target: Decimal | None = None
    value = number(r, spec, "target", "spec", required=True)
    if value is not None and not 0 < value <= 100:
        r.error("spec.target", f"must be a percentage > 0 and <= 100 (got {show(spec['target'])})")
    elif value is not None:
        target = exact(spec["target"])
    credits = _credits(r, spec)
    honours = string_list(r, spec, "honours", "spec") or []
    for i, category in enumerate(honours):
        if category not in ALL_CATEGORIES:
            r.error(
                f"spec.honours[{i}]", f"must be one of {', '.join(ALL_CATEGORIES)} (got {show(category)})"
            )
    fee: Decimal | None = None
    raw_fee = number(r, spec, "monthlyFee", "spec")
    if raw_fee is not None and raw_fee < 0:
        r.error("spec.monthlyFee", f"must be >= 0 (got {show(spec['monthlyFee'])})")
    elif raw_fee is not None:
        fee = exact(spec["monthlyFee"])
    currency = string(r, spec, "currency", "spec")
    interval = 60
    if spec.get("measurementInterval") is not None:
        try:
            interval = parse_fixed_seconds(spec["measurementInterval"])
        except DurationError as exc:
            r.error("spec.measurementInterval", str(exc))
    description = spec.get("description")
    if len(r.sink) != before or None in (customer, calendar, time_zone, sli_below, target, credits):
        return None
    return SLAContract(
        name=name,
        customer=str(customer),
        slos=tuple(slos),
        calendar=cast(ContractCalendar, calendar),
        time_zone=str(time_zone),
        sli_below=cast(Decimal, sli_below),
        target=cast(Decimal, target),
        credits=cast(tuple[CreditTier, ...], credits),
        honours=tuple(dict.fromkeys(honours)),
        monthly_fee=fee,
        currency=currency,
        measurement_interval_seconds=interval,
        description=description if isinstance(description, str) else "",
        source_file=source_file,
    )


def catalog_sla_contracts(documents: Iterable[Document]) -> list[SLAContract]:
    """Every SLAContract of a loaded (hence validated) catalog, typed, sorted by name."""
    out = []
    for d in documents:
        if d.kind != "SLAContract":
            continue
        contract = parse_sla_contract(
            Reporter(d.file, d.index), None, d.name, d.body.get("spec") or {}, d.file
        )
        if contract is not None:
            out.append(contract)
    return sorted(out, key=lambda c: c.name)
