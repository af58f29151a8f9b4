"""Build each owed notification with its budget context, from the evaluator's own data."""

from collections.abc import Sequence

import numpy as np

from slo_pipelines.catalog.models import Catalog
from slo_pipelines.engine.alerting.notification_log import Owed
from slo_pipelines.engine.alerting.payloads import (
    SEND,
    BudgetContext,
    Decision,
    KnownIncident,
    Links,
    Notification,
    build_notification,
    events_between,
    gate,
    links_from_annotations,
    top_burning_hour,
)
from slo_pipelines.engine.alerting.rules import LOOKBACKS, window_seconds
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from slo_pipelines.engine.exclusions.intervals import applicable, expand_rules


def _none_if_nan(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def prepare_notification(
    owed: Owed,
    catalog: Catalog,
    evaluator: CatalogEvaluator,
    incidents: Sequence[KnownIncident] = (),
    min_events: int = 100,
    links: Links | None = None,
) -> tuple[Notification, Decision]:
    """The notification for `owed` at its instant, and whether the trigger gate lets it through."""
    event, at = owed.event, owed.at
    slo = catalog.slos[event.slo]
    objective = next(o for o in slo.objectives if o.name == event.objective)
    row = evaluator.evaluator(slo, objective, at, at).series(np.array([at])).iloc[0]
    buckets = evaluator.by_slo[slo.data_key(objective)]
    ws, we = int(row["window_start"]), int(row["window_end"])
    top = top_burning_hour(buckets.starts, buckets.good, buckets.total, ws, we)
    context = BudgetContext(
        service=slo.service,
        target=objective.target,
        remaining_ratio=_none_if_nan(float(row["remaining_ratio"])),
        burn_rates={k: _none_if_nan(float(row[f"burn_{k}"])) for k in LOOKBACKS},
        window_start=ws,
        window_end=we,
        long_window_events=events_between(
            buckets.starts, buckets.total, at - window_seconds(event.long_window), at
        ),
        top_burning_hour=top[0] if top else None,
        top_burning_hour_bad=top[1] if top else None,
        links=links_from_annotations(slo.annotations, links or Links()),
    )
    notification = build_notification(event, context, owed.action)
    if owed.action != "trigger":
        return notification, SEND  # a delivered trigger always gets its resolve
    maintenance = applicable(expand_rules(catalog.exclusions, at, at + 1), slo.name, slo.service)
    return notification, gate(event, context, at, incidents, maintenance, min_events)
