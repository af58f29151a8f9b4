"""The `Incident` and `IncidentSeverityPolicy` kinds (DESIGN.md §9).

An incident names the services it directly affects, its window `[start, end)` (no `end` while it is
open) and its declared severity SEV1..SEV4. Incidents come from catalog files, from an incidents file
(`slo incidents impact --incidents FILE`: YAML documents of kind Incident, or a JSON list of them), and
from the PagerDuty/Opsgenie sources, which build the same records. Errors use the catalog's form
`file[index] field.path: message (got value)` and are all reported at once.

An `IncidentSeverityPolicy` replaces the default tiers that map the largest budget consumed by an
incident to its expected severity (≥ 0.20 SEV1, ≥ 0.05 SEV2, ≥ 0.01 SEV3, else SEV4):
```yaml
apiVersion: slo-pipelines/v1
kind: IncidentSeverityPolicy
metadata: {name: severity}
spec:
  tiers:                      # most severe first; thresholds strictly decreasing
    - {severity: SEV1, budgetConsumedAtLeast: 0.25}
    - {severity: SEV2, budgetConsumedAtLeast: 0.05}
    - {severity: SEV3, budgetConsumedAtLeast: 0.005}
  otherwise: SEV4             # optional, default SEV4
```
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slo_pipelines.catalog.errors import CatalogError, CatalogIssue
from slo_pipelines.catalog.fields import (
    Reporter,
    as_mapping,
    join,
    mapping,
    number,
    sequence,
    show,
    string,
    string_list,
    unknown_fields,
)
from slo_pipelines.catalog.models import Catalog, Document
from slo_pipelines.catalog.timeparse import TimeValueError, instant
from slo_pipelines.catalog.yamlfiles import read_documents

SEVERITIES: tuple[str, ...] = ("SEV1", "SEV2", "SEV3", "SEV4")
INCIDENT_API_VERSION = "slo-pipelines/v1"
_INCIDENT_FIELDS = (
    "title",
    "severity",
    "start",
    "end",
    "services",
    "rootCauses",
    "source",
    "postmortem",
    "updatedAt",
    "status",
)
_SOURCE_FIELDS = ("system", "id", "url")
_ROOT_CAUSE_FIELDS = ("id", "description")


def format_instant(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RootCause:
    id: str
    description: str = ""


@dataclass(frozen=True)
class IncidentSource:
    """Where the record came from (`system` is e.g. pagerduty, opsgenie, manual) and its id there."""

    system: str
    id: str
    url: str | None = None


@dataclass(frozen=True)
class Incident:
    """One version of an incident; instants are UTC epoch seconds, `end` is None while it is open."""

    name: str
    title: str
    severity: str  # SEV1..SEV4
    start: int
    end: int | None
    services: tuple[str, ...]
    root_causes: tuple[RootCause, ...] = ()
    source: IncidentSource | None = None
    postmortem: str | None = None
    updated_at: int | None = None  # the version's timestamp in its source system
    status: str | None = None  # triggered | acknowledged | resolved, when the source says
    file: str = ""
    index: int = 0

    @property
    def is_open(self) -> bool:
        return self.end is None

    def to_document(self) -> dict[str, Any]:
        """The catalog document for this version (the inverse of `parse_incident`)."""
        spec: dict[str, Any] = {
            "title": self.title,
            "severity": self.severity,
            "start": format_instant(self.start),
            "services": list(self.services),
        }
        if self.end is not None:
            spec["end"] = format_instant(self.end)
        if self.root_causes:
            spec["rootCauses"] = [{"id": c.id, "description": c.description} for c in self.root_causes]
        if self.source is not None:
            source = {"system": self.source.system, "id": self.source.id}
            if self.source.url:
                source["url"] = self.source.url
            spec["source"] = source
        if self.postmortem:
            spec["postmortem"] = self.postmortem
        if self.updated_at is not None:
            spec["updatedAt"] = format_instant(self.updated_at)
        if self.status:
            spec["status"] = self.status
        return {
            "apiVersion": INCIDENT_API_VERSION,
            "kind": "Incident",
            "metadata": {"name": self.name},
            "spec": spec,
        }


@dataclass(frozen=True)
class SeverityTiers:
    """Expected severity by budget consumed: the first tier whose threshold the ratio reaches."""

    tiers: tuple[tuple[str, float], ...] = (("SEV1", 0.20), ("SEV2", 0.05), ("SEV3", 0.01))
    otherwise: str = "SEV4"
    policy: str | None = None  # the IncidentSeverityPolicy's name, None for the default tiers


def known_services(catalog: Catalog) -> set[str]:
    """Service names an incident may list: Service documents, SLOs' services, and both ends of
    every Dependency (an upstream such as a payment provider need not be one of our Services)."""
    return service_names(catalog.services, (slo.service for slo in catalog.slos.values()), catalog.other)


def service_names(
    services: Iterable[str], slo_services: Iterable[str], documents: Iterable[Document]
) -> set[str]:
    names = set(services) | set(slo_services)
    for d in documents:
        if d.kind == "Dependency" and isinstance(d.body.get("spec"), dict):
            for key in ("service", "upstream"):
                value = d.body["spec"].get(key)
                if isinstance(value, str):
                    names.add(value)
    return names


def _instant(r: Reporter, spec: dict[str, Any], key: str, *, required: bool) -> int | None:
    value = spec.get(key)
    if value is None:
        if required:
            r.error(f"spec.{key}", "is required")
        return None
    try:
        return instant(value)
    except TimeValueError as exc:
        r.error(f"spec.{key}", str(exc))
        return None


def parse_incident(r: Reporter, document: Document, services: set[str] | None) -> Incident | None:
    """One Incident document; `services` (when given) are the names its `spec.services` may use."""
    spec = mapping(r, document.body, "spec", "", required=True)
    if spec is None:
        return None
    before = len(r.sink)
    unknown_fields(r, spec, _INCIDENT_FIELDS, "spec")
    title = string(r, spec, "title", "spec", required=True)
    severity = string(r, spec, "severity", "spec", required=True)
    if severity is not None and severity not in SEVERITIES:
        r.error("spec.severity", f"must be one of {', '.join(SEVERITIES)} (got {show(severity)})")
    start = _instant(r, spec, "start", required=True)
    end = _instant(r, spec, "end", required=False)
    if start is not None and end is not None and end <= start:
        r.error("spec.end", f"must be after spec.start {spec['start']} (got {show(spec['end'])})")
    updated_at = _instant(r, spec, "updatedAt", required=False)
    names = string_list(r, spec, "services", "spec", required=True) or []
    if services is not None:
        for i, name in enumerate(names):
            if name not in services:
                r.error(
                    f"spec.services[{i}]",
                    f"unknown service: no Service, SLO or Dependency names it (got {show(name)})",
                )
    causes: list[RootCause] = []
    for i, item in enumerate(sequence(r, spec, "rootCauses", "spec") or []):
        path = f"spec.rootCauses[{i}]"
        body = as_mapping(r, item, path)
        if body is None:
            continue
        unknown_fields(r, body, _ROOT_CAUSE_FIELDS, path)
        cause_id = string(r, body, "id", path, required=True)
        description = string(r, body, "description", path) or ""
        if cause_id is not None:
            causes.append(RootCause(cause_id, description))
    source = None
    body = mapping(r, spec, "source", "spec")
    if body is not None:
        unknown_fields(r, body, _SOURCE_FIELDS, "spec.source")
        system = string(r, body, "system", "spec.source", required=True)
        source_id = string(r, body, "id", "spec.source", required=True)
        url = string(r, body, "url", "spec.source")
        if system is not None and source_id is not None:
            source = IncidentSource(system, source_id, url)
    postmortem = string(r, spec, "postmortem", "spec")
    status = string(r, spec, "status", "spec")
    if len(r.sink) != before or title is None or severity is None or start is None:
        return None
    return Incident(
        name=document.name,
        title=title,
        severity=severity,
        start=start,
        end=end,
        services=tuple(names),
        root_causes=tuple(causes),
        source=source,
        postmortem=postmortem,
        updated_at=updated_at,
        status=status,
        file=document.file,
        index=document.index,
    )


def parse_severity_policy(r: Reporter, document: Document) -> SeverityTiers | None:
    spec = mapping(r, document.body, "spec", "", required=True)
    if spec is None:
        return None
    before = len(r.sink)
    unknown_fields(r, spec, ("tiers", "otherwise"), "spec")
    tiers: list[tuple[str, float]] = []
    for i, item in enumerate(sequence(r, spec, "tiers", "spec", required=True) or []):
        path = f"spec.tiers[{i}]"
        body = as_mapping(r, item, path)
        if body is None:
            continue
        unknown_fields(r, body, ("severity", "budgetConsumedAtLeast"), path)
        severity = string(r, body, "severity", path, required=True)
        threshold = number(r, body, "budgetConsumedAtLeast", path, required=True)
        if severity is not None and severity not in SEVERITIES:
            r.error(join(path, "severity"), f"must be one of {', '.join(SEVERITIES)} (got {show(severity)})")
        elif severity is not None and threshold is not None:
            if threshold <= 0:
                r.error(join(path, "budgetConsumedAtLeast"), f"must be > 0 (got {show(threshold)})")
            elif tiers and (
                SEVERITIES.index(severity) <= SEVERITIES.index(tiers[-1][0]) or threshold >= tiers[-1][1]
            ):
                r.error(
                    path,
                    "tiers must go from the most severe down, with strictly decreasing thresholds "
                    f"(got {severity} at {threshold:g} after {tiers[-1][0]} at {tiers[-1][1]:g})",
                )
            else:
                tiers.append((severity, threshold))
    otherwise = string(r, spec, "otherwise", "spec") or "SEV4"
    if otherwise not in SEVERITIES:
        r.error("spec.otherwise", f"must be one of {', '.join(SEVERITIES)} (got {show(otherwise)})")
    elif tiers and SEVERITIES.index(otherwise) <= SEVERITIES.index(tiers[-1][0]):
        r.error(
            "spec.otherwise", f"must be less severe than the last tier {tiers[-1][0]} (got {show(otherwise)})"
        )
    if len(r.sink) != before:
        return None
    return SeverityTiers(tuple(tiers), otherwise, document.name)


def check_catalog_incidents(
    r_for: Callable[[Document], Reporter], documents: list[Document], services: set[str]
) -> None:
    """Validate the catalog's Incident and IncidentSeverityPolicy documents (issues go to `r_for(doc)`)."""
    policies = [d for d in documents if d.kind == "IncidentSeverityPolicy"]
    for d in documents:
        if d.kind == "Incident":
            parse_incident(r_for(d), d, services)
    for d in policies:
        parse_severity_policy(r_for(d), d)
    for d in policies[1:]:
        r_for(d).error(
            "metadata.name",
            f"only one IncidentSeverityPolicy may exist; {policies[0].name} is at "
            f"{policies[0].file}[{policies[0].index}] (got {show(d.name)})",
        )


def catalog_incidents(catalog: Catalog) -> tuple[Incident, ...]:
    """The Incident documents of a loaded (hence valid) catalog."""
    out = []
    for d in catalog.other:
        if d.kind == "Incident":
            incident = parse_incident(Reporter(d.file, d.index), d, None)
            if incident is not None:
                out.append(incident)
    return tuple(out)


def severity_tiers(catalog: Catalog) -> SeverityTiers:
    """The catalog's IncidentSeverityPolicy, or the default tiers of DESIGN.md §9."""
    for d in catalog.other:
        if d.kind == "IncidentSeverityPolicy":
            tiers = parse_severity_policy(Reporter(d.file, d.index), d)
            if tiers is not None:
                return tiers
    return SeverityTiers()


def load_incidents(path: str | Path, catalog: Catalog) -> tuple[Incident, ...]:
    """Incidents from a file of YAML documents of kind Incident, or a JSON (or YAML) list of them.

    Raises CatalogError with every problem: a missing file, malformed YAML/JSON, another kind, a bad
    field, an unknown service, an end before the start, a name given twice.
    """
    shown = Path(path).as_posix()
    issues: list[CatalogIssue] = []
    top = Reporter(shown, None, issues)
    if not Path(path).is_file():
        top.error("", "no such file")
        raise CatalogError(issues)
    raw: list[tuple[int, Any]] = []
    for item in read_documents(Path(path), shown, top):
        if isinstance(item.data, list):  # a JSON list, or the go-sdk style top-level YAML list
            raw.extend(enumerate(item.data))
        else:
            raw.append((item.index, item.data))
    if not raw and not issues:
        top.error("", "the file holds no incidents")
    services = known_services(catalog)
    out: list[Incident] = []
    seen: dict[str, int] = {}
    for index, data in raw:
        r = Reporter(shown, index, issues)
        if not isinstance(data, dict):
            r.error(
                "",
                f"an incident must be a mapping with apiVersion, kind, metadata and spec (got {show(data)})",
            )
            continue
        if data.get("apiVersion") != INCIDENT_API_VERSION:
            r.error("apiVersion", f"must be {INCIDENT_API_VERSION} (got {show(data.get('apiVersion'))})")
        if data.get("kind") != "Incident":
            r.error("kind", f"must be Incident (got {show(data.get('kind'))})")
        metadata = data.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str) or not name.strip():
            r.error("metadata.name", f"must be a non-empty string (got {show(name)})")
            continue
        if name in seen:
            r.error("metadata.name", f"incident {show(name)} is already defined at {shown}[{seen[name]}]")
            continue
        seen[name] = index
        document = Document(shown, index, INCIDENT_API_VERSION, "Incident", name, data)
        incident = parse_incident(r, document, services)
        if incident is not None:
            out.append(incident)
    if issues:
        raise CatalogError(sorted(issues, key=lambda i: -1 if i.index is None else i.index))
    return tuple(out)
