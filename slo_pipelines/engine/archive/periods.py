"""Closed compliance periods and what the archive keeps for each (DESIGN.md §10).

A period is a calendar month in UTC, `YYYY-MM`; it is closed once its end is at or before the last
evaluated instant. Each closed period's records live under `records/<period>/`; the record class of a
report file follows the directory the report store wrote it to.
"""

from collections.abc import Mapping
from datetime import UTC, datetime

# Report-store sub-directory of a period -> record class (anything else is a compliance report).
REPORT_CLASSES = {"budget-report": "budget_report", "sla": "sla_statement", "statements": "sla_statement"}


def month_bounds(period: str) -> tuple[int, int]:
    """`YYYY-MM` -> [start, end) in epoch seconds UTC; ValueError naming the value otherwise."""
    try:
        start = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"--period: must be YYYY-MM (got {period!r})") from None
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return int(start.timestamp()), int(end.timestamp())


def closed_months(first_at: int, last_at: int) -> list[str]:
    """Months that end in `(first_at, last_at]`: closed, and with at least one evaluation inside."""
    moment = datetime.fromtimestamp(first_at, UTC).replace(day=1, hour=0, minute=0, second=0)
    months: list[str] = []
    while True:
        label = moment.strftime("%Y-%m")
        _, end = month_bounds(label)
        if end > last_at:
            return months
        if end > first_at:
            months.append(label)
        moment = datetime.fromtimestamp(end, UTC)


def report_record_class(relative: str) -> str:
    """The record class of a report file at `relative` inside its period's report directory."""
    return REPORT_CLASSES.get(relative.split("/", 1)[0], "compliance_report")


def period_records(
    period: str, report_files: Mapping[str, bytes], evidence: Mapping[str, bytes]
) -> list[tuple[str, bytes, str]]:
    """(path under records/, bytes, record class) for one period: every report file the report store
    produced (`reports/...`), then the evidence (`exclusions.json`, `incidents.json`, `inputs/...`),
    with `digests.json` last, so its presence marks a complete period."""
    records = [
        (f"{period}/reports/{name}", data, report_record_class(name))
        for name, data in sorted(report_files.items())
    ]
    for name, data in sorted(evidence.items()):
        if name == "digests.json":
            continue
        record_class = {"exclusions.json": "exclusions", "incidents.json": "incidents"}.get(name, "digests")
        records.append((f"{period}/{name}", data, record_class))
    if "digests.json" in evidence:
        records.append((f"{period}/digests.json", evidence["digests.json"], "digests"))
    return records
