"""The evidence of one incident for its postmortem (pure): impact per SLO, the burn of each affected SLO
around the incident window with the alerts that fired, the exclusions that applied, the declared vs
expected severity, and the attribution when incidents overlapped.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import Catalog
from slo_pipelines.engine.alerting.rules import ALERT_RULES
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator, applied_exclusions
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.incidents.impact import IncidentImpact

MARGIN_SECONDS = 3600  # the chart shows an hour either side of the incident


def postmortem_evidence(
    catalog: Catalog, buckets: pd.DataFrame, impacts: Sequence[IncidentImpact], name: str
) -> dict[str, Any]:
    """JSON-ready evidence for incident `name` (one of `impacts`); KeyError when it is not there."""
    impact = next((i for i in impacts if i.incident.name == name), None)
    if impact is None:
        raise KeyError(name)
    incident = impact.incident
    start, end = incident.start, impact.measured_end
    evaluator = CatalogEvaluator(catalog, buckets)
    slos = []
    for s in impact.slos:
        slo = catalog.slos[s.name]
        objective = next(o for o in slo.objectives if o.name == s.objective)
        lo, hi = start - MARGIN_SECONDS, end + MARGIN_SECONDS
        ev = evaluator.evaluator(slo, objective, lo, hi)
        step = ev.b
        ats = np.arange(-(-lo // step) * step, hi + 1, step, dtype=np.int64)
        series = ev.series(ats)
        period = slo.time_window.duration.nominal_seconds()
        alerts: list[dict[str, Any]] = []
        for rule in ALERT_RULES:
            column = series[f"alert_{rule.severity}_{rule.long_window}_{rule.short_window}"].to_numpy(
                dtype=bool
            )
            rising = np.flatnonzero(column & ~np.concatenate([[False], column[:-1]]))
            for k in rising:
                alerts.append(
                    {
                        "at": format_instant(int(ats[k])),
                        "epoch": int(ats[k]),
                        "severity": rule.severity,
                        "long_window": rule.long_window,
                        "short_window": rule.short_window,
                        "threshold": rule.threshold(period),
                    }
                )
        burn = series["burn_1h"].to_numpy(dtype=np.float64)
        slos.append(
            {
                **s.to_json(),
                "chart": {
                    "t": [int(t) for t in ats],
                    "burn_1h": [None if np.isnan(v) else float(v) for v in burn],
                    "page_threshold": ALERT_RULES[0].threshold(period),
                },
                "alerts": sorted(alerts, key=lambda a: int(a["epoch"])),
                "exclusions": [
                    {
                        "name": x.name,
                        "category": x.category,
                        "reason": x.reason,
                        "approved_by": x.approved_by,
                        "start": format_instant(x.start),
                        "end": format_instant(x.end),
                        "excluded_seconds": x.excluded_seconds,
                    }
                    for x in applied_exclusions(evaluator.intervals(slo, start, end), start, end)
                ],
            }
        )
    return {
        **impact.to_json(),
        "window": {"start": start, "end": end},
        "postmortem": incident.postmortem,
        "slos": slos,
    }
