"""Compliance reports of a contract period: an HTML statement, a JSON and a CSV file per contract, and
an executive summary across contracts (`index.html`, `report.json`, `summary.csv`).

Input: the report dict of `engine/sla/report_model.compliance_report`. HTML is autoescaped jinja2 with
inline SVG charts; JSON is canonical (sorted keys) so identical reports give identical bytes for the
archive's digests; CSV rows are `reports/sla_tables` rows, exactly what `slo sla evaluate` prints.
"""

import json
import re
from decimal import Decimal
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from slo_pipelines.reports.sla_svg import daily_minutes_svg, trend_svg
from slo_pipelines.reports.sla_tables import (
    CSV_HEADERS,
    EXCLUSION_HEADERS,
    amount_text,
    attainment_text,
    contract_rows,
    exclusion_rows,
)
from slo_pipelines.reports.tables import render_table

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(contract: str) -> str:
    """A contract name as a file name (RFC 1123 names pass unchanged)."""
    return _SAFE_NAME.sub("_", contract).strip("._") or "contract"


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("slo_pipelines.reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["attainment"] = attainment_text
    env.filters["amount"] = amount_text
    env.filters["statement_file"] = lambda name: f"{file_stem(name)}.html"
    return env


def _tiers(contract: dict[str, Any]) -> list[dict[str, Any]]:
    applied = contract.get("credit_tier")
    return [
        {**tier, "applied": applied is not None and tier["below"] == applied["below"]}
        for tier in contract.get("credit_tiers", [])
    ]


def render_statement_html(report: dict[str, Any], contract: dict[str, Any]) -> str:
    return (
        _env()
        .get_template("sla_statement.html.j2")
        .render(
            report=report,
            c=contract,
            tiers=_tiers(contract),
            daily_svg=Markup(daily_minutes_svg(contract.get("days", []))),
            trend_svg=Markup(trend_svg(contract["trend"], float(contract["target"]))),
        )
    )


def render_summary_html(report: dict[str, Any]) -> str:
    trends = [Markup(trend_svg(c["trend"], float(c["target"]))) for c in report["contracts"]]
    return _env().get_template("sla_summary.html.j2").render(report=report, trends=trends)


def _json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_compliance_files(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """kind -> (file name, text) for every file of the period's report directory."""
    contracts = report["contracts"]
    files: dict[str, tuple[str, str]] = {
        "html": ("index.html", render_summary_html(report)),
        "json": ("report.json", _json(report)),
        "csv": (
            "summary.csv",
            render_table(contract_rows(contracts, machine=True), CSV_HEADERS, "csv") + "\n",
        ),
    }
    for c in contracts:
        stem = file_stem(c["name"])
        files[f"statement:{c['name']}:html"] = (f"{stem}.html", render_statement_html(report, c))
        files[f"statement:{c['name']}:json"] = (f"{stem}.json", _json(c))
        rows = render_table(contract_rows([c], machine=True), CSV_HEADERS, "csv")
        excluded = exclusion_rows([c])
        if excluded:
            rows += "\n\n" + render_table(excluded, EXCLUSION_HEADERS, "csv")
        files[f"statement:{c['name']}:csv"] = (f"{stem}.csv", rows + "\n")
    return files


def render_compliance_markdown(report: dict[str, Any]) -> str:
    """A compact table for Dagster metadata."""
    lines = ["| contract | period | attainment % | target % | met | credit |", "|---|---|---|---|---|---|"]
    for c in report["contracts"]:
        amount = amount_text(c["credit_amount"], c.get("currency"))
        lines.append(
            f"| {c['name']} | {c['period']['label']} | {attainment_text(c['attainment_percent'])} | "
            f"{c['target']} | {'yes' if c['met'] else 'no'} | {amount} |"
        )
    owed = (
        ", ".join(amount_text(o["amount"], o["currency"]) for o in report["summary"]["credits_owed"])
        or "none"
    )
    return "\n".join([*lines, "", f"credits owed: {owed}"])


def total_owed(report: dict[str, Any]) -> Decimal:
    """Credits owed across currencies (for a single-currency metric); exact."""
    return sum((Decimal(repr(o["amount"])) for o in report["summary"]["credits_owed"]), Decimal(0))
