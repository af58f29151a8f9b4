"""Scheduled releases and their expected budget cost; concurrent releases are planned against the
remaining budget so that, when their sum would pass it, the later ones are paused.

A release file holds `Release` documents (YAML, `---`-separated, or a JSON list), DESIGN.md §2 style:

    apiVersion: slo-pipelines/v1
    kind: Release
    metadata: {name: checkout-v42}
    spec:
      service: payments-api
      start: "2026-11-20T10:00:00Z"     # when it is scheduled to start (ISO 8601 with offset)
      changeType: feature               # feature (default) | reliability | security
      expectedBudgetCost: 0.05          # fraction of each affected objective's error budget
      slos: [payments-availability]     # optional: only these SLOs of the service
      causedIncidents:                  # past releases: incidents they caused, with the budget spent
        - {name: INC-1042, budgetConsumedRatio: 0.12}

A release scheduled at or after the decision instant without `expectedBudgetCost` gets the cost its
service's history implies: the budget spent by change-caused incidents divided by the number of past
releases (an expected cost per release, counting releases that caused nothing as 0).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slo_pipelines.engine.common.timeutil import TimeParseError, format_instant, parse_instant

CHANGE_TYPES = ("feature", "reliability", "security")
_SPEC_KEYS = (
    "service",
    "start",
    "end",
    "changeType",
    "expectedBudgetCost",
    "slos",
    "causedIncidents",
    "description",
)


class ReleaseInputError(ValueError):
    """A bad release document; the message names the file, document index, field and value."""


@dataclass(frozen=True)
class CausedIncident:
    name: str
    budget_consumed_ratio: float


@dataclass(frozen=True)
class Release:
    name: str
    service: str
    start: int
    change_type: str = "feature"
    expected_budget_cost: float | None = None
    slos: tuple[str, ...] = ()
    caused_incidents: tuple[CausedIncident, ...] = ()
    end: int | None = None
    description: str = ""

    def touches(self, slo: str, service: str) -> bool:
        return service == self.service and (not self.slos or slo in self.slos)


@dataclass(frozen=True)
class ScheduledRelease:
    """A release with the cost used for planning and where that number came from."""

    release: Release
    cost: float
    cost_source: str


def field_error(where: str, field: str, message: str, value: Any) -> ReleaseInputError:
    return ReleaseInputError(f"{where} {field}: {message} (got {value!r})")


def instant_field(where: str, field: str, value: Any) -> int:
    try:
        return parse_instant(value)
    except TimeParseError as exc:
        raise field_error(where, field, str(exc), value) from None


def fraction_field(where: str, field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        raise field_error(where, field, "must be a number >= 0 (a fraction of the error budget)", value)
    return float(value)


def parse_release(document: Any, where: str, kind: str = "Release") -> Release:
    """One `Release` document; `where` is `FILE[index]` for messages."""
    if not isinstance(document, dict):
        raise field_error(where, "", "a document must be a mapping", document)
    if document.get("apiVersion") != "slo-pipelines/v1":
        raise field_error(where, "apiVersion", "must be slo-pipelines/v1", document.get("apiVersion"))
    if document.get("kind") != kind:
        raise field_error(where, "kind", f"must be {kind}", document.get("kind"))
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not name:
        raise field_error(where, "metadata.name", "is required", name)
    spec = document.get("spec")
    if not isinstance(spec, dict):
        raise field_error(where, "spec", "must be a mapping", spec)
    for key in spec:
        if key not in _SPEC_KEYS:
            raise field_error(where, f"spec.{key}", f"unknown field; known: {', '.join(_SPEC_KEYS)}", key)
    service = spec.get("service")
    if not isinstance(service, str) or not service:
        raise field_error(where, "spec.service", "is required (a service name)", service)
    if "start" not in spec:
        raise field_error(where, "spec.start", "is required", None)
    start = instant_field(where, "spec.start", spec["start"])
    end = instant_field(where, "spec.end", spec["end"]) if spec.get("end") is not None else None
    if end is not None and end <= start:
        raise field_error(where, "spec.end", "must be after spec.start", spec["end"])
    change_type = spec.get("changeType", "feature")
    if change_type not in CHANGE_TYPES:
        raise field_error(where, "spec.changeType", f"must be one of {', '.join(CHANGE_TYPES)}", change_type)
    cost = spec.get("expectedBudgetCost")
    slos = spec.get("slos") or []
    if not isinstance(slos, list) or not all(isinstance(s, str) for s in slos):
        raise field_error(where, "spec.slos", "must be a list of SLO names", slos)
    caused = []
    for i, item in enumerate(spec.get("causedIncidents") or []):
        path = f"spec.causedIncidents[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise field_error(where, f"{path}.name", "is required", item)
        ratio = fraction_field(where, f"{path}.budgetConsumedRatio", item.get("budgetConsumedRatio"))
        caused.append(CausedIncident(item["name"], ratio))
    return Release(
        name=name,
        service=service,
        start=start,
        change_type=str(change_type),
        expected_budget_cost=None if cost is None else fraction_field(where, "spec.expectedBudgetCost", cost),
        slos=tuple(slos),
        caused_incidents=tuple(caused),
        end=end,
        description=str(spec.get("description") or ""),
    )


def parse_releases(documents: Sequence[tuple[str, Any]]) -> list[Release]:
    """(where, document) pairs to releases; names are unique."""
    out: list[Release] = []
    seen: dict[str, str] = {}
    for where, document in documents:
        release = parse_release(document, where)
        if release.name in seen:
            raise field_error(
                where, "metadata.name", f"already defined at {seen[release.name]}", release.name
            )
        seen[release.name] = where
        out.append(release)
    return out


def check_known(releases: Sequence[Release], slo_services: Mapping[str, str], services: set[str]) -> None:
    """Services and SLOs a release names must exist in the catalog (`slo_services`: SLO -> service)."""
    for r in releases:
        if r.service not in services:
            raise ReleaseInputError(f"release {r.name} spec.service: unknown service (got {r.service!r})")
        for slo in r.slos:
            if slo_services.get(slo) != r.service:
                raise ReleaseInputError(
                    f"release {r.name} spec.slos: not an SLO of {r.service} (got {slo!r})"
                )


def history_cost(releases: Sequence[Release], service: str, at: int) -> tuple[float, str] | None:
    """Expected budget cost per release of `service` from its releases started before `at`:
    Σ budget consumed by the incidents they caused / number of those releases; None without history."""
    past = [r for r in releases if r.service == service and r.start < at]
    if not past:
        return None
    incidents = [i for r in past for i in r.caused_incidents]
    spent = sum(i.budget_consumed_ratio for i in incidents)
    cost = spent / len(past)
    return (
        cost,
        f"history: {len(incidents)} change-caused incidents spent {spent:.4g} over {len(past)} releases",
    )


def scheduled(releases: Sequence[Release], at: int, service: str | None = None) -> list[ScheduledRelease]:
    """Releases starting at or after `at` (those before are already in the measured budget), in start
    order, each with its declared cost or, failing that, the cost its service's history implies."""
    out = []
    for r in sorted(releases, key=lambda r: (r.start, r.name)):
        if r.start < at or (service is not None and r.service != service):
            continue
        if r.expected_budget_cost is not None:
            out.append(ScheduledRelease(r, r.expected_budget_cost, "declared"))
            continue
        estimate = history_cost(releases, r.service, at)
        if estimate is None:
            raise ReleaseInputError(
                f"release {r.name} spec.expectedBudgetCost: is required when {r.service} has no past "
                f"releases to estimate it from (got None)"
            )
        out.append(ScheduledRelease(r, *estimate))
    return out


def release_json(s: ScheduledRelease) -> dict[str, Any]:
    r = s.release
    return {
        "name": r.name,
        "service": r.service,
        "start": format_instant(r.start),
        "change_type": r.change_type,
        "expected_budget_cost": s.cost,
        "cost_source": s.cost_source,
    }
