"""PagerDuty and Opsgenie incidents as `Incident` versions: priorities, services, windows (pure).

Severity from the source's priority (documented in docs/incidents.md):

| source    | priority / urgency                | severity |
|-----------|-----------------------------------|----------|
| PagerDuty | P1                                | SEV1     |
| PagerDuty | P2                                | SEV2     |
| PagerDuty | P3                                | SEV3     |
| PagerDuty | P4, P5                            | SEV4     |
| PagerDuty | no priority, urgency `high`       | SEV2     |
| PagerDuty | no priority, urgency `low`        | SEV4     |
| PagerDuty | neither                           | SEV3     |
| Opsgenie  | P1 / P2 / P3 / P4, P5             | SEV1 / SEV2 / SEV3 / SEV4 |
| Opsgenie  | none (Opsgenie's default is P3)   | SEV3     |

Services: a source service maps to our `Service` through the Service document's annotation
`slo-pipelines.io/pagerduty-services` (or `slo-pipelines.io/opsgenie-services`): a comma-separated list
of the source's service ids. Otherwise a source service whose name equals one of our services
(case-insensitively) maps to it; anything else keeps the source's name, so nothing is lost, and
`unmapped` names it for the operator.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slo_pipelines.catalog.incidents import Incident, IncidentSource
from slo_pipelines.catalog.models import Catalog

PAGERDUTY_PRIORITY = {"P1": "SEV1", "P2": "SEV2", "P3": "SEV3", "P4": "SEV4", "P5": "SEV4"}
PAGERDUTY_URGENCY = {"high": "SEV2", "low": "SEV4"}
OPSGENIE_PRIORITY = {"P1": "SEV1", "P2": "SEV2", "P3": "SEV3", "P4": "SEV4", "P5": "SEV4"}
DEFAULT_SEVERITY = "SEV3"
ANNOTATION = {
    "pagerduty": "slo-pipelines.io/pagerduty-services",
    "opsgenie": "slo-pipelines.io/opsgenie-services",
}


class SourceRecordError(ValueError):
    """A record from PagerDuty/Opsgenie that cannot be read; the message names the record and field."""


def pagerduty_severity(priority: str | None, urgency: str | None) -> str:
    if priority:
        key = priority.strip().upper()
        if key in PAGERDUTY_PRIORITY:
            return PAGERDUTY_PRIORITY[key]
    if urgency and urgency.lower() in PAGERDUTY_URGENCY:
        return PAGERDUTY_URGENCY[urgency.lower()]
    return DEFAULT_SEVERITY


def opsgenie_severity(priority: str | None) -> str:
    return OPSGENIE_PRIORITY.get((priority or "").strip().upper(), DEFAULT_SEVERITY)


@dataclass
class ServiceMap:
    """(system, source service id) -> our service name, plus our names for matching by name."""

    by_id: dict[tuple[str, str], str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # lower-case -> our spelling
    unmapped: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> "ServiceMap":
        out = cls(names={n.lower(): n for n in catalog.services})
        for d in catalog.documents:
            if d.kind != "Service":
                continue
            metadata = d.body.get("metadata") or {}
            annotations = metadata.get("annotations") or {} if isinstance(metadata, dict) else {}
            for system, key in ANNOTATION.items():
                value = annotations.get(key) if isinstance(annotations, dict) else None
                if isinstance(value, str):
                    for source_id in (v.strip() for v in value.split(",")):
                        if source_id:
                            out.by_id[(system, source_id)] = d.name
        return out

    def resolve(self, system: str, source_id: str | None, source_name: str | None) -> str:
        if source_id and (system, source_id) in self.by_id:
            return self.by_id[(system, source_id)]
        if source_name and source_name.lower() in self.names:
            return self.names[source_name.lower()]
        shown = source_name or source_id or "unknown"
        self.unmapped.add((system, shown))
        return shown


def source_instant(value: Any, where: str) -> int:
    """Epoch seconds (fractions dropped) of a source's ISO 8601 time; SourceRecordError naming `where`."""
    if not isinstance(value, str):
        raise SourceRecordError(f"{where}: must be an ISO 8601 time (got {value!r})")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SourceRecordError(f"{where}: must be an ISO 8601 time (got {value!r})") from None
    if moment.tzinfo is None:
        raise SourceRecordError(f"{where}: has no UTC offset (got {value!r})")
    return int(moment.timestamp())


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
        raise SourceRecordError(f"{where}.{key}: is required (got {value!r})")
    return str(value)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _window(start: int, end: int | None, where: str) -> int | None:
    if end is not None and end <= start:
        raise SourceRecordError(f"{where}: resolved at or before it was created ({end} <= {start})")
    return end


def from_pagerduty(obj: Any, services: ServiceMap, event_time: int | None = None) -> Incident:
    """A REST `GET /incidents` item, or the `data` of a v3 webhook incident event (then `event_time`
    is the event's `occurred_at`, used as the version time and, for a resolve, as the end)."""
    if not isinstance(obj, dict):
        raise SourceRecordError(f"pagerduty incident: must be a JSON object (got {type(obj).__name__})")
    source_id = _text(obj, "id", "pagerduty incident")
    where = f"pagerduty incident {source_id}"
    start = source_instant(obj.get("created_at"), f"{where}.created_at")
    status = obj.get("status")
    if status not in ("triggered", "acknowledged", "resolved"):
        raise SourceRecordError(
            f"{where}.status: must be triggered, acknowledged or resolved (got {status!r})"
        )
    if event_time is not None:
        updated = event_time
    else:
        updated_text = obj.get("updated_at") or obj.get("last_status_change_at") or obj.get("created_at")
        updated = source_instant(updated_text, f"{where}.updated_at")
    end = None
    if status == "resolved":
        resolved = obj.get("resolved_at") or obj.get("last_status_change_at")
        end = source_instant(resolved, f"{where}.resolved_at") if resolved is not None else updated
    service = _mapping(obj.get("service"))
    priority = _mapping(obj.get("priority"))
    name = services.resolve("pagerduty", service.get("id"), service.get("summary") or service.get("name"))
    number = obj.get("incident_number") or obj.get("number")
    return Incident(
        name=f"PD-{number}" if number else f"PD-{source_id}",
        title=str(obj.get("title") or obj.get("summary") or source_id),
        severity=pagerduty_severity(priority.get("summary") or priority.get("name"), obj.get("urgency")),
        start=start,
        end=_window(start, end, where),
        services=(name,),
        source=IncidentSource("pagerduty", source_id, obj.get("html_url")),
        updated_at=updated,
        status=status,
    )


def from_opsgenie(obj: Any, services: ServiceMap) -> Incident:
    """An item of Opsgenie's `GET /v1/incidents` list (status open | resolved | closed)."""
    if not isinstance(obj, dict):
        raise SourceRecordError(f"opsgenie incident: must be a JSON object (got {type(obj).__name__})")
    source_id = _text(obj, "id", "opsgenie incident")
    where = f"opsgenie incident {source_id}"
    start = source_instant(obj.get("createdAt"), f"{where}.createdAt")
    updated = source_instant(obj.get("updatedAt") or obj.get("createdAt"), f"{where}.updatedAt")
    status = obj.get("status")
    if status not in ("open", "resolved", "closed"):
        raise SourceRecordError(f"{where}.status: must be open, resolved or closed (got {status!r})")
    end = updated if status in ("resolved", "closed") else None
    impacted = obj.get("impactedServices") or []
    if not isinstance(impacted, list):
        raise SourceRecordError(f"{where}.impactedServices: must be a list (got {impacted!r})")
    names = tuple(dict.fromkeys(services.resolve("opsgenie", str(s), None) for s in impacted))
    links = _mapping(obj.get("links"))
    tiny = obj.get("tinyId")
    return Incident(
        name=f"OG-{tiny}" if tiny else f"OG-{source_id}",
        title=str(obj.get("message") or source_id),
        severity=opsgenie_severity(obj.get("priority")),
        start=start,
        end=_window(start, end, where),
        services=names,
        source=IncidentSource("opsgenie", source_id, links.get("web")),
        updated_at=updated,
        status=status,
    )


def pagerduty_webhook_incident(event: Any, services: ServiceMap) -> Incident | None:
    """The incident version a v3 webhook delivery carries (`{"event": {...}}`), or None for events that
    are not about an incident's state (notes, annotations, ...)."""
    if not isinstance(event, dict) or not isinstance(event.get("event"), dict):
        raise SourceRecordError("pagerduty webhook: body must be a JSON object with an `event` object")
    body = event["event"]
    event_type = body.get("event_type")
    if not isinstance(event_type, str) or not event_type.startswith("incident."):
        return None
    data = body.get("data")
    if not isinstance(data, dict) or data.get("type") not in ("incident", None):
        return None
    occurred = source_instant(body.get("occurred_at"), f"pagerduty webhook {body.get('id')}.occurred_at")
    return from_pagerduty(data, services, event_time=occurred)


def spanned_days(incident: Incident, until: int, day: int = 86400) -> list[int]:
    """Starts of the UTC days `[start, end or until)` touches (the daily partitions to re-run)."""
    end = incident.end if incident.end is not None else until
    first = (incident.start // day) * day
    last = max(first, ((max(end, incident.start + 1) - 1) // day) * day)
    return list(range(first, last + day, day))


def latest_versions(versions: Iterable[Incident]) -> list[Incident]:
    """The latest version (largest updated_at) of each (system, id), in start order."""
    best: dict[tuple[str, str], Incident] = {}
    for v in versions:
        key = (v.source.system, v.source.id) if v.source else ("catalog", v.name)
        old = best.get(key)
        if old is None or (v.updated_at or 0) >= (old.updated_at or 0):
            best[key] = v
    return sorted(best.values(), key=lambda i: (i.start, i.name))
