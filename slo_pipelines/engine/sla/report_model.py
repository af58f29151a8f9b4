"""The compliance report of one period: each contract's statement with its trend, and an executive
summary across contracts (met / missed, credits owed per currency, attainment over the last periods).

Plain dicts shaped like `slo sla evaluate`'s JSON, so the report renders (HTML, JSON, CSV) and archives
what the command prints. Which contracts a period label reports: a month label (`2026-10`) reports the
monthly contracts, a quarter label (`2026-Q4`) the quarterly ones; a month that closes a quarter
(`2026-12` in the pipeline) also closes `2026-Q4` for the quarterly contracts.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd

from slo_pipelines.catalog.models import Catalog
from slo_pipelines.catalog.sla_contract import SLAContract, catalog_sla_contracts
from slo_pipelines.engine.budgets.buckets import group_buckets
from slo_pipelines.engine.sla.gaps import contract_gaps
from slo_pipelines.engine.sla.periods import PeriodLabel, place
from slo_pipelines.engine.sla.statement import evaluate_contract

DEFAULT_TREND_PERIODS = 6
TREND_PERIODS = {"month": 6, "quarter": 4}


def contractual(contract: SLAContract, label: PeriodLabel) -> bool:
    """Whether `label` is one of the contract's own periods (a month for a monthly contract...)."""
    return contract.calendar == label.calendar


def closing_labels(month: PeriodLabel) -> list[PeriodLabel]:
    """The contractual periods a closed month closes: itself, and its quarter when it is the last month."""
    labels = [month]
    if month.months == 1 and month.first_month % 3 == 0:
        labels.append(PeriodLabel(month.year, month.first_month - 2, 3))
    return labels


def reported_contracts(
    catalog: Catalog, labels: Sequence[PeriodLabel], closed_by: int | None = None
) -> list[tuple[SLAContract, PeriodLabel]]:
    """(contract, its period) for every contract one of `labels` is a contractual period of; with
    `closed_by` (epoch seconds) only the periods that have ended by then in the contract's zone."""
    return [
        (c, label)
        for label in labels
        for c in catalog_sla_contracts(catalog.documents)
        if contractual(c, label) and (closed_by is None or place(label, c.time_zone).end <= closed_by)
    ]


def history_span(
    catalog: Catalog, labels: Sequence[PeriodLabel], closed_by: int | None = None
) -> tuple[int, int] | None:
    """`[start, end)` in UTC that holds every period a report over `labels` reads, trend included."""
    spans = []
    for contract, label in reported_contracts(catalog, labels, closed_by):
        first = trend_labels(label, TREND_PERIODS[contract.calendar])[0]
        spans.append((place(first, contract.time_zone).start, place(label, contract.time_zone).end))
    if not spans:
        return None
    return min(s for s, _ in spans) - 86400, max(e for _, e in spans)


def period_report(
    catalog: Catalog,
    frame: pd.DataFrame,
    label: PeriodLabel,
    title: str,
    generated_at: str,
    closed_by: int | None = None,
) -> dict[str, Any]:
    """The compliance report of the contracts whose period is `label` (closed by `closed_by`), with
    their trend over the previous periods (periods without any data are left out of the trend:
    nothing was measured)."""
    buckets = group_buckets(frame, catalog.slos_by_data_key())
    statements, history = [], {}
    for contract, _ in reported_contracts(catalog, [label], closed_by):

        def run(period: PeriodLabel, days: bool = False, contract: SLAContract = contract) -> dict[str, Any]:
            return evaluate_contract(contract, period, catalog.slos, buckets, catalog.exclusions).to_json(
                days
            )

        statements.append(run(label, days=True))
        earlier = [run(p) for p in trend_labels(label, TREND_PERIODS[contract.calendar])[:-1]]
        history[contract.name] = [h for h in earlier if h["minutes_without_data"] < h["minutes_eligible"]]
    report = compliance_report(title, statements, history, catalog.digest(), generated_at)
    reported = [c for c, _ in reported_contracts(catalog, [label], closed_by)]
    coverage = {(s["name"], slo): share for s in statements for slo, share in s["slo_coverage"].items()}
    report["gaps"] = [g.to_json() for g in contract_gaps(reported, catalog.slos, coverage)]
    return report


def trend_labels(label: PeriodLabel, count: int = DEFAULT_TREND_PERIODS) -> list[PeriodLabel]:
    """`count` periods ending with `label`, oldest first."""
    out = [label]
    while len(out) < count:
        out.insert(0, out[0].previous())
    return out


def _amount(value: float | int | None) -> Decimal:
    return Decimal(0) if value is None else Decimal(repr(value))


def compliance_report(
    title: str,
    statements: Sequence[Mapping[str, Any]],
    history: Mapping[str, Sequence[Mapping[str, Any]]],
    catalog_digest: str,
    generated_at: str,
) -> dict[str, Any]:
    """`statements`: this period's statement JSON per contract (with `days`); `history`: per contract,
    earlier statements (any order; their `period.label` places them) for the trend."""
    contracts = []
    owed: dict[str, Decimal] = {}
    for s in sorted(statements, key=lambda s: (s["customer"], s["name"])):
        earlier = sorted(history.get(s["name"], []), key=lambda h: h["period"]["start"])
        points = [h for h in earlier if h["period"]["start"] < s["period"]["start"]][
            -(DEFAULT_TREND_PERIODS - 1) :
        ]
        trend = [
            {
                "label": h["period"]["label"],
                "attainment_percent": h["attainment_percent"],
                "met": h["met"],
                "credit_amount": h["credit_amount"],
            }
            for h in [*points, s]
        ]
        contracts.append({**s, "trend": trend})
        if s["credit_amount"] is not None and s["credit_amount"] > 0:
            currency = s.get("currency") or ""
            owed[currency] = owed.get(currency, Decimal(0)) + _amount(s["credit_amount"])
    missed = [c["name"] for c in contracts if not c["met"]]
    return {
        "title": title,
        "generated_at": generated_at,
        "catalog_digest": catalog_digest,
        "contracts": contracts,
        "summary": {
            "contracts": len(contracts),
            "met": len(contracts) - len(missed),
            "missed": len(missed),
            "missed_contracts": missed,
            "credits_owed": [
                {"currency": currency or None, "amount": int(v) if v == int(v) else float(v)}
                for currency, v in sorted(owed.items())
            ],
        },
    }
