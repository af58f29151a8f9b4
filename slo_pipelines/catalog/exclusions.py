"""MaintenanceWindow and Exclusion documents turned into `ExclusionRule`s.

Every rule names its reason and approver because excluded time is reported to auditors.
Recurring rules are checked here (RRULE syntax, first occurrence) but expanded by the engine.
"""

from datetime import datetime, timedelta
from typing import Any, Literal, cast

from dateutil.rrule import rrule, rrulestr

from slo_pipelines.catalog.durations import DurationError, parse_fixed_seconds
from slo_pipelines.catalog.fields import Reporter, join, mapping, show, string
from slo_pipelines.catalog.models import Document, ExclusionRule, Scope
from slo_pipelines.catalog.registry import Registry, reference
from slo_pipelines.catalog.timeparse import TimeValueError, instant, local_iso, local_time, zone

EXCLUSION_CATEGORIES: tuple[str, ...] = ("dependency_outage", "security_patch", "regulatory", "other")
ALL_CATEGORIES: tuple[str, ...] = ("maintenance", *EXCLUSION_CATEGORIES)


def scope(r: Reporter, registry: Registry, parent: dict[str, Any], base: str) -> Scope | None:
    """`{}`/omitted for every SLO, `{service: NAME}` or `{slo: NAME}`."""
    if parent.get("scope") is None:
        return Scope()
    body = mapping(r, parent, "scope", base)
    if body is None:
        return None
    path = join(base, "scope")
    unknown = sorted(str(key) for key in body if key not in ("service", "slo"))
    if unknown:
        r.error(join(path, unknown[0]), "unknown scope field; use service or slo")
        return None
    if body.get("service") is not None and body.get("slo") is not None:
        r.error(path, "set either service or slo, not both")
        return None
    if body.get("slo") is not None:
        slo = reference(r, registry, body, "slo", path, "SLO")
        return None if slo is None else Scope(slo=slo)
    if body.get("service") is not None:
        service = reference(r, registry, body, "service", path, "Service")
        return None if service is None else Scope(service=service)
    return Scope()


def exclusion_rule(r: Reporter, registry: Registry, document: Document) -> ExclusionRule | None:
    spec = mapping(r, document.body, "spec", "", required=True)
    if spec is None:
        return None
    kind = cast(Literal["MaintenanceWindow", "Exclusion"], document.kind)
    category: str | None = "maintenance"
    if kind == "Exclusion":
        category = string(r, spec, "category", "spec", required=True)
        if category is not None and category not in EXCLUSION_CATEGORIES:
            hint = " (maintenance belongs in a MaintenanceWindow)" if category == "maintenance" else ""
            r.error(
                "spec.category",
                f"must be one of {', '.join(EXCLUSION_CATEGORIES)}{hint} (got {show(category)})",
            )
            category = None
    rule_scope = scope(r, registry, spec, "spec")
    reason = string(r, spec, "reason", "spec", required=True)
    approved_by = string(r, spec, "approvedBy", "spec", required=True)
    evidence, evidence_ok = _evidence(r, spec)
    timing = _recurring(r, spec) if spec.get("rrule") is not None else _one_off(r, spec)
    if None in (category, rule_scope, reason, approved_by, timing) or not evidence_ok:
        return None
    assert timing is not None and rule_scope is not None
    return ExclusionRule(
        name=document.name,
        kind=kind,
        category=str(category),
        scope=rule_scope,
        reason=str(reason),
        approved_by=str(approved_by),
        evidence=evidence,
        source_file=document.file,
        **timing,
    )


def _evidence(r: Reporter, spec: dict[str, Any]) -> tuple[str | None, bool]:
    """(a link or note, or several joined by newlines; whether the field is usable)."""
    value = spec.get("evidence")
    if value is None:
        return None, True
    if isinstance(value, str) and value.strip():
        return value, True
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return "\n".join(value), True
    r.error("spec.evidence", f"must be a string or a list of strings (got {show(value)})")
    return None, False


def _one_off(r: Reporter, spec: dict[str, Any]) -> dict[str, Any] | None:
    start = _instant(r, spec, "start")
    if spec.get("end") is not None and spec.get("duration") is not None:
        r.error("spec", "set either end or duration, not both")
        return None
    if spec.get("duration") is not None:
        seconds = _seconds(r, spec, "duration")
        end = None if start is None or seconds is None else start + seconds
    else:
        end = _instant(r, spec, "end")
        if spec.get("end") is None:
            r.error("spec.end", "is required (or duration, or rrule for a recurring window)")
    if start is None or end is None:
        return None
    if end <= start:
        r.error("spec.end", f"must be after start (got {show(spec.get('end'))})")
        return None
    return {"start": start, "end": end}


def _recurring(r: Reporter, spec: dict[str, Any]) -> dict[str, Any] | None:
    time_zone: str | None = "UTC"
    if spec.get("timeZone") is not None:
        try:
            time_zone = zone(spec["timeZone"]).key
        except TimeValueError as exc:
            r.error("spec.timeZone", str(exc))
            time_zone = None
    if spec.get("end") is not None:
        r.error("spec.end", "recurring windows take duration, not end")
    first: datetime | None = None
    if spec.get("start") is None:
        r.error("spec.start", "is required (the first occurrence, local time)")
    else:
        try:
            first = local_time(spec["start"], "spec.timeZone")
        except TimeValueError as exc:
            r.error("spec.start", str(exc))
    seconds = _seconds(r, spec, "duration") if spec.get("duration") is not None else None
    if spec.get("duration") is None:
        r.error("spec.duration", "is required for a recurring window")
    rule = string(r, spec, "rrule", "spec")
    rule_ok = rule is not None and first is not None and _check_rrule(r, rule, first)
    until = _instant(r, spec, "until") if spec.get("until") is not None else None
    if first is None or time_zone is None or seconds is None or not rule_ok or spec.get("end") is not None:
        return None
    if spec.get("until") is not None and until is None:
        return None
    if until is not None and until <= int(first.replace(tzinfo=zone(time_zone)).timestamp()):
        r.error("spec.until", f"must be after the first occurrence (got {show(spec['until'])})")
        return None
    return {
        "start_local": local_iso(first),
        "rrule": rule,
        "duration_seconds": seconds,
        "time_zone": time_zone,
        "until": until,
    }


def _check_rrule(r: Reporter, text: str, first: datetime) -> bool:
    if "DTSTART" in text.upper():
        r.error(
            "spec.rrule", f"must not contain DTSTART; the first occurrence is spec.start (got {show(text)})"
        )
        return False
    try:
        parsed = rrulestr(text, dtstart=first)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        detail = str(exc)
        if "UNTIL" in detail:
            detail = "UNTIL must be local time without Z; or give spec.until with an offset"
        elif not detail.startswith(("invalid", "unknown")):
            detail = "not a valid RRULE such as FREQ=WEEKLY;BYDAY=SU"
        r.error("spec.rrule", f"{detail} (got {show(text)})")
        return False
    if not isinstance(parsed, rrule):
        r.error("spec.rrule", f"must be a single RRULE (got {show(text)})")
        return False
    if parsed.after(first - timedelta(seconds=1)) is None:
        r.error("spec.rrule", f"has no occurrence at or after spec.start (got {show(text)})")
        return False
    return True


def _instant(r: Reporter, spec: dict[str, Any], key: str) -> int | None:
    if spec.get(key) is None:
        if key == "start":
            r.error("spec.start", "is required")
        return None
    try:
        return instant(spec[key])
    except TimeValueError as exc:
        r.error(f"spec.{key}", str(exc))
        return None


def _seconds(r: Reporter, spec: dict[str, Any], key: str) -> int | None:
    try:
        return parse_fixed_seconds(spec.get(key))
    except DurationError as exc:
        r.error(f"spec.{key}", str(exc))
        return None
