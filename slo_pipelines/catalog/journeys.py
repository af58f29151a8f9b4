"""The `UserJourney` kind: a user-facing flow (checkout, month-end billing) and the SLOs that serve it.

Reports group SLOs by journey, because a shopper experiences "checkout", not five services. A journey
can also say how to recognise its traces (`match`: the root span's name, or one attribute of the root
span or of its resource) and which SLO its end-to-end trace latency feeds (`latencySlo`), so trace
ingestion can count journeys that were fast enough.

For a ratio `latencySlo` the threshold comes, in this order, from `spec.latencyThreshold`
(`{op, value}` in seconds) or from the single `le="X"` bucket boundary of the SLO's good query
(meaning `lte X`); a thresholdMetric SLO states its own threshold. Unknown fields are refused: a
misspelt `match` would otherwise leave the journey silently unfed.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from slo_pipelines.catalog.fields import (
    Reporter,
    as_mapping,
    choice,
    mapping,
    number,
    show,
    string,
    unknown_fields,
)
from slo_pipelines.catalog.models import Catalog, Document, ThresholdOp

THRESHOLD_OPS: tuple[str, ...] = ("lt", "lte", "gt", "gte")
_TOP_KEYS = ("description", "slos", "match", "latencySlo", "latencyThreshold")
_MATCH_KEYS = ("rootSpan", "attribute")


@dataclass(frozen=True)
class JourneyMatch:
    """Which traces belong to the journey: by root span name, or by one attribute of the root span."""

    root_span: str | None = None
    attribute_key: str | None = None
    attribute_value: str | None = None  # compared as text: 200, "200" and true/"true" are the same

    def describe(self) -> str:
        if self.root_span is not None:
            return f"root span {self.root_span!r}"
        return f"root span attribute {self.attribute_key}={self.attribute_value!r}"


@dataclass(frozen=True)
class UserJourney:
    name: str
    slos: tuple[str, ...]
    description: str = ""
    match: JourneyMatch | None = None
    latency_slo: str | None = None
    threshold_op: ThresholdOp | None = None  # spec.latencyThreshold, seconds
    threshold_seconds: float | None = None
    source: str = ""  # file[index] of the document


def attribute_text(value: object) -> str:
    """One textual form for attribute values from YAML and from OTLP, so 200 matches intValue "200"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _match(r: Reporter, spec: dict[str, Any]) -> JourneyMatch | None:
    body = mapping(r, spec, "match", "spec")
    if body is None:
        return None
    unknown_fields(r, body, _MATCH_KEYS, "spec.match")
    has_root = body.get("rootSpan") is not None
    has_attribute = body.get("attribute") is not None
    if has_root == has_attribute:
        r.error("spec.match", "set exactly one of rootSpan or attribute")
        return None
    if has_root:
        name = string(r, body, "rootSpan", "spec.match", required=True)
        return None if name is None else JourneyMatch(root_span=name)
    attribute = as_mapping(r, body["attribute"], "spec.match.attribute")
    if attribute is None:
        return None
    unknown_fields(r, attribute, ("key", "value"), "spec.match.attribute")
    key = string(r, attribute, "key", "spec.match.attribute", required=True)
    value = attribute.get("value")
    if value is None:
        r.error("spec.match.attribute.value", "is required")
        return None
    if not isinstance(value, str | int | float | bool):
        r.error("spec.match.attribute.value", f"must be a string, number or boolean (got {show(value)})")
        return None
    return None if key is None else JourneyMatch(attribute_key=key, attribute_value=attribute_text(value))


def _threshold(r: Reporter, spec: dict[str, Any]) -> tuple[ThresholdOp | None, float | None]:
    body = mapping(r, spec, "latencyThreshold", "spec")
    if body is None:
        return None, None
    unknown_fields(r, body, ("op", "value"), "spec.latencyThreshold")
    op = choice(r, body, "op", "spec.latencyThreshold", THRESHOLD_OPS, required=True)
    value = number(r, body, "value", "spec.latencyThreshold", required=True)
    if value is not None and value < 0:
        r.error("spec.latencyThreshold.value", f"must be >= 0 seconds (got {show(body['value'])})")
        return None, None
    return cast(ThresholdOp | None, op), value


def parse_user_journey(
    spec: Any, name: str = "", source: str = ""
) -> tuple[UserJourney | None, list[tuple[str, str]]]:
    """The typed journey and no issues, or None and every `(path, message)` problem of the spec.

    SLO names are only checked for shape here; the catalog loader checks they exist.
    """
    r = Reporter("", None)
    if not isinstance(spec, dict):
        r.error("spec", "is required" if spec is None else f"must be a mapping (got {show(spec)})")
        return None, [(i.path, i.message) for i in r.sink]
    unknown_fields(r, spec, _TOP_KEYS, "spec")
    description = string(r, spec, "description", "spec")
    slos: list[str] = []
    items = spec.get("slos")
    if items is None:
        r.error("spec.slos", "is required")
    elif not isinstance(items, list):
        r.error("spec.slos", f"must be a list (got {show(items)})")
    elif not items:
        r.error("spec.slos", "must not be empty")
    else:
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                r.error(f"spec.slos[{i}]", f"must be a non-empty string (got {show(item)})")
            else:
                slos.append(item)
    match = _match(r, spec)
    latency_slo = string(r, spec, "latencySlo", "spec")
    op, seconds = _threshold(r, spec)
    if latency_slo is not None:
        if isinstance(items, list) and items and latency_slo not in slos:
            r.error("spec.latencySlo", f"must be one of spec.slos (got {show(latency_slo)})")
        if spec.get("match") is None:
            r.error("spec.latencySlo", "needs spec.match: without it no trace belongs to the journey")
    elif spec.get("latencyThreshold") is not None:
        r.error("spec.latencyThreshold", "needs spec.latencySlo: the threshold judges that SLO's traces")
    if r.sink:
        return None, [(i.path, i.message) for i in r.sink]
    journey = UserJourney(
        name=name or "unnamed",
        slos=tuple(slos),
        description=description or "",
        match=match,
        latency_slo=latency_slo,
        threshold_op=op,
        threshold_seconds=seconds,
        source=source,
    )
    return journey, []


def catalog_journeys(documents: Iterable[Document]) -> list[UserJourney]:
    """Every UserJourney of a loaded (hence already validated) catalog, typed, in name order."""
    out: list[UserJourney] = []
    for document in documents:
        if document.kind != "UserJourney":
            continue
        journey, _ = parse_user_journey(
            document.body.get("spec"), document.name, f"{document.file}[{document.index}]"
        )
        if journey is not None:
            out.append(journey)
    return sorted(out, key=lambda j: j.name)


def journey_groups(catalog: Catalog) -> dict[str, list[str]]:
    """Journey name → its SLOs in the order the journey lists them, for reports that group by journey.

    An SLO may serve several journeys and appears under each; SLOs of no journey are not listed.
    """
    return {j.name: list(j.slos) for j in catalog_journeys(catalog.documents)}
