"""Budget consumed by root cause and by service over a range, ranked: input for reliability planning.

Each incident whose start lies in the range contributes, per affected SLO objective, its attributed
share of the budget (`attributed_bad / allowed_bad`, so overlapping incidents are not counted twice).
An incident's share is split equally among its root causes (`unattributed` when it names none); a
service's share is the sum over its SLOs. The default range is the calendar quarter (UTC) holding the
evaluation instant.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dateutil.relativedelta import relativedelta

from slo_pipelines.engine.incidents.impact import IncidentImpact

UNATTRIBUTED = "unattributed"


def quarter_containing(at: int) -> tuple[int, int]:
    """`[start, end)` of the UTC calendar quarter holding `at`."""
    moment = datetime.fromtimestamp(at, UTC)
    first = datetime(moment.year, (moment.month - 1) // 3 * 3 + 1, 1, tzinfo=UTC)
    return int(first.timestamp()), int((first + relativedelta(months=3)).timestamp())


@dataclass(frozen=True)
class Ranked:
    key: str  # root cause id or service name
    budget_consumed: float  # Σ attributed share of a period's budget, over SLO objectives
    incidents: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"name": self.key, "budget_consumed": self.budget_consumed, "incidents": list(self.incidents)}


def rank(impacts: Sequence[IncidentImpact], start: int, end: int) -> dict[str, list[Ranked]]:
    """{"root_causes": [...], "services": [...]}, each sorted by budget consumed, largest first."""
    causes: dict[str, tuple[float, set[str]]] = {}
    services: dict[str, tuple[float, set[str]]] = {}

    def add(table: dict[str, tuple[float, set[str]]], key: str, amount: float, name: str) -> None:
        total, names = table.get(key, (0.0, set()))
        names.add(name)
        table[key] = (total + amount, names)

    for impact in impacts:
        incident = impact.incident
        if not start <= incident.start < end:
            continue
        shares = [s.attributed_bad / s.allowed_bad for s in impact.slos if s.allowed_bad > 0]
        for s in impact.slos:
            if s.allowed_bad > 0:
                add(services, s.service, s.attributed_bad / s.allowed_bad, incident.name)
        ids = [c.id for c in incident.root_causes] or [UNATTRIBUTED]
        for cause in ids:
            add(causes, cause, sum(shares) / len(ids), incident.name)

    def ordered(table: dict[str, tuple[float, set[str]]]) -> list[Ranked]:
        items = [Ranked(k, v, tuple(sorted(n))) for k, (v, n) in table.items()]
        return sorted(items, key=lambda r: (-r.budget_consumed, r.key))

    return {"root_causes": ordered(causes), "services": ordered(services)}
