"""Plain-text rows of SLA statements, shared by `slo sla evaluate --format table|csv` and the
statement CSV files. Rows take the statement JSON (`SLAStatement.to_json`), so what is printed is what
is archived."""

from decimal import ROUND_DOWN, Decimal
from typing import Any

CONTRACT_HEADERS = [
    "CONTRACT",
    "CUSTOMER",
    "PERIOD",
    "TIME ZONE",
    "MINUTES",
    "EXCLUDED",
    "DOWN",
    "ATTAINMENT %",
    "TARGET %",
    "MET",
    "CREDIT %",
    "CREDIT AMOUNT",
]
CSV_HEADERS = [*CONTRACT_HEADERS, "CURRENCY"]
EXCLUSION_HEADERS = ["CONTRACT", "EXCLUSION", "CATEGORY", "HONOURED", "MINUTES", "REASON", "APPROVED BY"]


def attainment_text(value: float | None) -> str:
    """Four decimals, truncated (never rounded up across a tier boundary); exact JSON keeps the rest."""
    if value is None:
        return "—"
    return str(Decimal(repr(value)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN))


def amount_text(value: float | int | None, currency: str | None) -> str:
    if value is None:
        return "—"
    text = f"{Decimal(repr(value)):,.2f}"
    return f"{text} {currency}" if currency else text


def contract_rows(contracts: list[dict[str, Any]], machine: bool = False) -> list[list[str]]:
    """One row per contract in CONTRACT_HEADERS order; `machine` (CSV) keeps exact numbers and puts
    the currency in its own column instead of formatting for people."""
    rows = []
    for c in contracts:
        if machine:
            rows.append(
                [
                    c["name"],
                    c["customer"],
                    c["period"]["label"],
                    c["period"]["time_zone"],
                    c["minutes_total"],
                    c["minutes_excluded"],
                    c["minutes_down"],
                    c["attainment_percent"],
                    c["target"],
                    "yes" if c["met"] else "no",
                    c["credit_percent"],
                    c["credit_amount"],
                    c.get("currency"),
                ]
            )
            continue
        rows.append(
            [
                c["name"],
                c["customer"],
                c["period"]["label"],
                c["period"]["time_zone"],
                str(c["minutes_total"]),
                str(c["minutes_excluded"]),
                str(c["minutes_down"]),
                attainment_text(c["attainment_percent"]),
                str(c["target"]),
                "yes" if c["met"] else "no",
                str(c["credit_percent"]),
                amount_text(c["credit_amount"], c.get("currency")),
            ]
        )
    return rows


def exclusion_rows(contracts: list[dict[str, Any]]) -> list[list[str]]:
    """Every exclusion that touched a contract's period, honoured ones first."""
    rows = []
    for c in contracts:
        for honoured, key in ((True, "exclusions"), (False, "exclusions_not_honoured")):
            for e in c.get(key, []):
                rows.append(
                    [
                        c["name"],
                        e["name"],
                        e["category"],
                        "yes" if honoured else "no",
                        str(e["minutes"]),
                        e["reason"],
                        e["approved_by"],
                    ]
                )
    return rows
