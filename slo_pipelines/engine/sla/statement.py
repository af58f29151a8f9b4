"""One contract over one period: the SLA statement (DESIGN.md §2 and §6 `slo sla evaluate`).

    minutes_total     minutes of the period in the contract's zone (a DST month has its true length)
    minutes_excluded  minutes whose start lies in an exclusion the contract honours (its category is in
                      `honours`; a MaintenanceWindow is `maintenance`) that covers any of its SLOs;
                      overlapping exclusions count once; runtime exclusions count like catalog ones
    minutes_down      eligible minutes whose summed SLI is below `sliBelow` (see `minutes`)
    attainment        (eligible − down) / eligible × 100, an exact `Fraction`; None when nothing is eligible
    met               attainment >= target (exactly); a period with nothing eligible is met
    credit_percent    the most severe tier whose `below` the attainment is strictly under, else 0
    credit_amount     monthlyFee × months in the period × credit_percent / 100, a `Decimal`

Every exclusion that touched the period is listed with reason, approver and the minutes it excluded
(its own minutes; the union is `minutes_excluded`), and whether the contract honours it.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import SLO, Catalog, ExclusionRule
from slo_pipelines.catalog.sla_contract import CreditTier, SLAContract, catalog_sla_contracts
from slo_pipelines.engine.budgets.buckets import SLOBuckets, empty_buckets, group_buckets
from slo_pipelines.engine.common.timeutil import format_instant, local_to_epoch, zone
from slo_pipelines.engine.exclusions.intervals import expand_rule, merge
from slo_pipelines.engine.sla.minutes import excluded_mask, longest_run, minute_states
from slo_pipelines.engine.sla.periods import ContractPeriod, PeriodLabel, place


def json_number(value: Decimal | Fraction | None) -> int | float | None:
    """An exact number for JSON: an int when whole, else the nearest float (shortest repr)."""
    if value is None:
        return None
    if value == int(value):
        return int(value)
    return float(value)


@dataclass(frozen=True)
class AppliedExclusion:
    """An exclusion that touched the period; `minutes` are the period's minutes its occurrences cover."""

    rule: ExclusionRule
    honoured: bool
    minutes: int
    intervals: tuple[tuple[int, int], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.rule.name,
            "kind": self.rule.kind,
            "category": self.rule.category,
            "reason": self.rule.reason,
            "approved_by": self.rule.approved_by,
            "evidence": self.rule.evidence,
            "source": self.rule.source_file,
            "honoured": self.honoured,
            "minutes": self.minutes,
            "intervals": [{"start": format_instant(s), "end": format_instant(e)} for s, e in self.intervals],
        }


@dataclass(frozen=True)
class DayMinutes:
    date: str  # local calendar day in the contract's zone
    minutes: int
    excluded: int
    down: int


@dataclass(frozen=True)
class SLAStatement:
    contract: SLAContract
    period: ContractPeriod
    minutes_total: int
    minutes_excluded: int
    minutes_down: int
    minutes_without_data: int  # eligible minutes with no bucket of any of the contract's SLOs
    longest_down_minutes: int  # longest run of consecutive down minutes
    attainment: Fraction | None
    tier: CreditTier | None
    exclusions: tuple[AppliedExclusion, ...]
    days: tuple[DayMinutes, ...]
    slo_coverage: dict[str, float | None]  # per SLO: eligible minutes with its data / eligible minutes
    input_digest: str

    @property
    def minutes_eligible(self) -> int:
        return self.minutes_total - self.minutes_excluded

    @property
    def met(self) -> bool:
        return self.attainment is None or self.attainment >= Fraction(self.contract.target)

    @property
    def credit_percent(self) -> Decimal:
        return self.tier.credit if self.tier is not None else Decimal(0)

    @property
    def credit_amount(self) -> Decimal | None:
        fee = self.contract.monthly_fee
        if fee is None:
            return None
        return fee * self.period.label.months * self.credit_percent / 100

    def to_json(self, days: bool = False) -> dict[str, Any]:
        """The `slo sla evaluate` entry: the fixed fields of DESIGN.md §6 first, then the details;
        `days` adds the per-day minutes (local calendar days) that statements chart."""
        c, p = self.contract, self.period
        return {
            "name": c.name,
            "customer": c.customer,
            "period": {
                "start": format_instant(p.start),
                "end": format_instant(p.end),
                "label": str(p.label),
                "time_zone": p.time_zone,
                "start_local": p.local_iso(p.start),
                "end_local": p.local_iso(p.end),
            },
            "minutes_total": self.minutes_total,
            "minutes_excluded": self.minutes_excluded,
            "minutes_down": self.minutes_down,
            "attainment_percent": None if self.attainment is None else float(self.attainment),
            "target": json_number(c.target),
            "met": self.met,
            "credit_percent": json_number(self.credit_percent),
            "credit_amount": json_number(self.credit_amount),
            "currency": c.currency,
            "minutes_eligible": self.minutes_eligible,
            "minutes_up": self.minutes_eligible - self.minutes_down,
            "minutes_without_data": self.minutes_without_data,
            "longest_down_minutes": self.longest_down_minutes,
            "contract_period": c.calendar,
            "slos": list(c.slos),
            "sli_below": json_number(c.sli_below),
            "honours": list(c.honours),
            "monthly_fee": json_number(c.monthly_fee),
            "credit_tier": None
            if self.tier is None
            else {"below": json_number(self.tier.below), "credit": json_number(self.tier.credit)},
            "credit_tiers": [
                {"below": json_number(t.below), "credit": json_number(t.credit)} for t in c.credits
            ],
            "slo_coverage": self.slo_coverage,
            "exclusions": [e.to_json() for e in self.exclusions if e.honoured],
            "exclusions_not_honoured": [e.to_json() for e in self.exclusions if not e.honoured],
            "input_digest": self.input_digest,
        } | ({"days": [self._day(d) for d in self.days]} if days else {})

    @staticmethod
    def _day(d: DayMinutes) -> dict[str, Any]:
        return {"date": d.date, "minutes": d.minutes, "minutes_excluded": d.excluded, "minutes_down": d.down}


def _days(period: ContractPeriod, excluded: np.ndarray, down: np.ndarray) -> tuple[DayMinutes, ...]:
    tz = zone(period.time_zone)
    day = datetime.fromtimestamp(period.start, tz).replace(tzinfo=None)
    out: list[DayMinutes] = []
    while True:
        lo = local_to_epoch(day, tz)
        if lo >= period.end:
            return tuple(out)
        hi = min(period.end, local_to_epoch(day + timedelta(days=1), tz))
        a, b = (lo - period.start) // 60, (hi - period.start) // 60
        out.append(DayMinutes(day.date().isoformat(), b - a, int(excluded[a:b].sum()), int(down[a:b].sum())))
        day += timedelta(days=1)


def covers_contract(rule: ExclusionRule, contract: SLAContract, slos: Mapping[str, SLO]) -> bool:
    return any(rule.scope.applies_to(name, slos[name].service) for name in contract.slos if name in slos)


def evaluate_contract(
    contract: SLAContract,
    label: PeriodLabel,
    slos: Mapping[str, SLO],
    buckets: Mapping[str, SLOBuckets],
    rules: Sequence[ExclusionRule],
) -> SLAStatement:
    """The statement of `contract` for the period `label` read in the contract's zone.

    `buckets`: per data key (SLO name, or `SLO/objective` for an objective with its own indicator), as
    `group_buckets` returns them (missing keys have no data);
    `rules`: the catalog's exclusions plus active runtime ones. Raises SLAInputError for bucket sizes
    that do not fit minutes."""
    period = place(label, contract.time_zone)
    start, n = period.start, period.minutes
    # A composite SLO's rows are keyed by its objectives' data keys (`SLO/objective`): all of them are
    # the SLO's buckets, summed with the others'.
    keys_of = {name: slos[name].data_keys() if name in slos else (name,) for name in contract.slos}
    mine = {
        key: buckets.get(key) or empty_buckets(slos[name].bucket_seconds if name in slos else 60)
        for name, keys in keys_of.items()
        for key in keys
    }
    states = minute_states(start, n, mine, Fraction(contract.sli_below))
    applied, honoured_intervals = [], []
    for rule in rules:
        if not covers_contract(rule, contract, slos):
            continue
        intervals = merge((iv.start, iv.end) for iv in expand_rule(rule, period.start, period.end))
        own = excluded_mask(start, n, intervals)
        if not intervals or not own.any():
            continue
        honoured = rule.category in contract.honours
        clipped = tuple((max(s, period.start), min(e, period.end)) for s, e in intervals)
        applied.append(AppliedExclusion(rule, honoured, int(own.sum()), clipped))
        if honoured:
            honoured_intervals.extend(intervals)
    excluded = excluded_mask(start, n, merge(honoured_intervals))
    eligible = ~excluded
    down = states.down & eligible
    minutes_excluded, minutes_down = int(excluded.sum()), int(down.sum())
    minutes_eligible = n - minutes_excluded
    attainment = (
        Fraction(100 * (minutes_eligible - minutes_down), minutes_eligible) if minutes_eligible else None
    )
    digest = hashlib.sha256()
    for key, b in mine.items():
        digest.update(b.digest(key, start - b.bucket_seconds + 1, period.end).encode())
    coverage = {
        name: (
            float(
                (np.logical_or.reduce([states.slo_has_data[k] for k in keys]) & eligible).sum()
                / minutes_eligible
            )
            if minutes_eligible
            else None
        )
        for name, keys in keys_of.items()
    }
    return SLAStatement(
        contract=contract,
        period=period,
        minutes_total=n,
        minutes_excluded=minutes_excluded,
        minutes_down=minutes_down,
        minutes_without_data=int((eligible & ~states.has_data).sum()),
        longest_down_minutes=longest_run(down),
        attainment=attainment,
        tier=None if attainment is None else contract.tier_for(attainment),
        exclusions=tuple(sorted(applied, key=lambda a: (a.intervals[0][0], a.rule.name))),
        days=_days(period, excluded, down),
        slo_coverage=coverage,
        input_digest=digest.hexdigest(),
    )


def evaluate_contracts(
    catalog: Catalog, frame: pd.DataFrame, label: PeriodLabel, names: Sequence[str] = ()
) -> list[SLAStatement]:
    """Every contract of the catalog (or those named) over `label`, each read in its own zone.

    `frame`: validated buckets (slo, start, good, total, optional bucket_seconds); the catalog's
    exclusions include the runtime ones when the caller added them (`with_runtime_exclusions`).
    Raises KeyError naming an unknown contract."""
    contracts = catalog_sla_contracts(catalog.documents)
    known = {c.name for c in contracts}
    for name in names:
        if name not in known:
            raise KeyError(name)
    buckets = group_buckets(frame, catalog.slos_by_data_key())
    return [
        evaluate_contract(c, label, catalog.slos, buckets, catalog.exclusions)
        for c in contracts
        if not names or c.name in names
    ]
