"""The `EdgeCasePolicy` kind: how the awkward requests in a log count towards an SLI.

Two teams reading the same access log can disagree by a whole nine depending on how they count
retries, timeouts, partial responses, client errors and sampled lines. The policy makes that choice
explicit, typed and printable, so every number computed from logs can say which rules produced it.

Every field is optional and has a documented default; unknown fields are refused, because a misspelt
field would otherwise silently fall back to a default and change the SLI.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from slo_pipelines.catalog.fields import (
    Reporter,
    boolean,
    choice,
    join,
    mapping,
    number,
    show,
    string,
    unknown_fields,
)
from slo_pipelines.catalog.models import Document, Scope, ThresholdOp

RetryRule = Literal["final_attempt", "every_attempt"]
TimeoutRule = Literal["bad"]
PartialRule = Literal["good", "bad", "excluded"]
ClientErrorRule = Literal["excluded", "good", "bad"]
LatencyUnit = Literal["s", "ms", "us", "ns"]

RETRY_RULES: tuple[str, ...] = ("final_attempt", "every_attempt")
TIMEOUT_RULES: tuple[str, ...] = ("bad",)
PARTIAL_RULES: tuple[str, ...] = ("good", "bad", "excluded")
CLIENT_ERROR_RULES: tuple[str, ...] = ("excluded", "good", "bad")
LATENCY_UNITS: tuple[str, ...] = ("s", "ms", "us", "ns")
THRESHOLD_OPS: tuple[str, ...] = ("lt", "lte", "gt", "gte")
SECONDS_PER_UNIT: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
DEFAULT_POLICY_NAME = "built-in default"

_TOP_KEYS = (
    "description",
    "scope",
    "retries",
    "timeouts",
    "partialResponses",
    "clientErrors",
    "sampling",
    "latency",
    "fields",
)
_SAMPLING_KEYS = ("sampleRateField", "errorsSampled")
_LATENCY_KEYS = ("field", "unit", "objectiveUnit", "threshold")
_THRESHOLD_KEYS = ("op", "value")


@dataclass(frozen=True)
class LogFields:
    """Names of the log fields the policy reads; access-log formats differ between proxies."""

    timestamp: str = "timestamp"
    status: str = "status"
    service: str = "service"
    request_id: str = "request_id"
    attempt: str = "attempt"
    timeout: str = "timeout"
    partial: str = "partial"


_FIELD_KEYS: dict[str, str] = {
    "timestamp": "timestamp",
    "status": "status",
    "service": "service",
    "requestId": "request_id",
    "attempt": "attempt",
    "timeout": "timeout",
    "partial": "partial",
}


@dataclass(frozen=True)
class SamplingRule:
    """Sampled lines are re-weighted by 1 / sample rate; a line without the field was not sampled."""

    rate_field: str = "sample_rate"
    errors_sampled: bool = False


@dataclass(frozen=True)
class LatencyRule:
    """Where a request's latency is and in which unit; `objective_unit` is the unit of objective values.

    OpenSLO thresholds usually come from Prometheus histograms, hence seconds by default. `threshold`
    makes a ratio SLO (e.g. "requests under 300 ms / all requests") a latency SLO for log ingestion.
    """

    field: str = "duration_ms"
    unit: LatencyUnit = "ms"
    objective_unit: LatencyUnit = "s"
    threshold_op: ThresholdOp | None = None
    threshold_value: float | None = None


@dataclass(frozen=True)
class EdgeCasePolicy:
    name: str = DEFAULT_POLICY_NAME
    scope: Scope = field(default_factory=Scope)
    retries: RetryRule = "final_attempt"
    timeouts: TimeoutRule = "bad"
    partial_responses: PartialRule = "bad"
    client_errors: ClientErrorRule = "excluded"
    sampling: SamplingRule = field(default_factory=SamplingRule)
    latency: LatencyRule = field(default_factory=LatencyRule)
    fields: LogFields = field(default_factory=LogFields)
    source: str = ""  # file[index] of the document, empty for the built-in default

    def describe(self) -> str:
        """One line stating every rule in force, printed wherever the policy shaped a number."""
        where = f" ({self.source})" if self.source else ""
        sampled = "sampled" if self.sampling.errors_sampled else "never sampled"
        threshold = ""
        if self.latency.threshold_op is not None:
            threshold = f", threshold {self.latency.threshold_op} {self.latency.threshold_value:g}"
            threshold += self.latency.objective_unit
        return (
            f"EdgeCasePolicy {self.name}{where}: retries={self.retries}, timeouts={self.timeouts}, "
            f"partialResponses={self.partial_responses}, clientErrors={self.client_errors}, "
            f"sampling=1/{self.sampling.rate_field} (errors {sampled}), "
            f"latency={self.latency.field} [{self.latency.unit}]{threshold}"
        )


DEFAULT_POLICY = EdgeCasePolicy()


class PolicyResolutionError(ValueError):
    """Two policies claim the same SLO with the same specificity; the user must pick one."""


def _scope(r: Reporter, spec: dict[str, Any]) -> Scope | None:
    if spec.get("scope") is None:
        return Scope()
    body = mapping(r, spec, "scope", "spec")
    if body is None:
        return None
    unknown = sorted(str(key) for key in body if key not in ("service", "slo"))
    if unknown:
        r.error(f"spec.scope.{unknown[0]}", "unknown scope field; use service or slo")
        return None
    if body.get("service") is not None and body.get("slo") is not None:
        r.error("spec.scope", "set either service or slo, not both")
        return None
    service = string(r, body, "service", "spec.scope")
    slo = string(r, body, "slo", "spec.scope")
    if (body.get("service") is not None and service is None) or (body.get("slo") is not None and slo is None):
        return None
    return Scope(service=service, slo=slo)


def _field_name(r: Reporter, parent: dict[str, Any], key: str, base: str, default: str) -> str | None:
    if parent.get(key) is None:
        return default
    value = string(r, parent, key, base)
    if value is not None and not value.strip():
        r.error(join(base, key), "must not be empty")
        return None
    return value


def _sampling(r: Reporter, spec: dict[str, Any]) -> SamplingRule | None:
    body = mapping(r, spec, "sampling", "spec")
    if body is None:
        return SamplingRule() if spec.get("sampling") is None else None
    before = len(r.sink)
    unknown_fields(r, body, _SAMPLING_KEYS, "spec.sampling")
    rate_field = _field_name(r, body, "sampleRateField", "spec.sampling", "sample_rate")
    errors_sampled = boolean(r, body, "errorsSampled", "spec.sampling")
    if len(r.sink) != before or rate_field is None:
        return None
    return SamplingRule(rate_field=rate_field, errors_sampled=bool(errors_sampled))


def _unit(r: Reporter, body: dict[str, Any], key: str, default: str) -> LatencyUnit | None:
    if body.get(key) is None:
        return cast(LatencyUnit, default)
    return cast(LatencyUnit | None, choice(r, body, key, "spec.latency", LATENCY_UNITS))


def _latency(r: Reporter, spec: dict[str, Any], scope: Scope | None) -> LatencyRule | None:
    body = mapping(r, spec, "latency", "spec")
    if body is None:
        return LatencyRule() if spec.get("latency") is None else None
    before = len(r.sink)
    unknown_fields(r, body, _LATENCY_KEYS, "spec.latency")
    name = _field_name(r, body, "field", "spec.latency", "duration_ms")
    unit = _unit(r, body, "unit", "ms")
    objective_unit = _unit(r, body, "objectiveUnit", "s")
    op: ThresholdOp | None = None
    value: float | None = None
    threshold = mapping(r, body, "threshold", "spec.latency")
    if threshold is not None:
        unknown_fields(r, threshold, _THRESHOLD_KEYS, "spec.latency.threshold")
        op = cast(
            ThresholdOp | None,
            choice(r, threshold, "op", "spec.latency.threshold", THRESHOLD_OPS, required=True),
        )
        value = number(r, threshold, "value", "spec.latency.threshold", required=True)
        if value is not None and value < 0:
            r.error("spec.latency.threshold.value", f"must be >= 0 (got {show(threshold['value'])})")
        if scope is not None and scope.slo is None:
            # a service holds availability SLOs too; a threshold there would turn them into latency SLOs
            r.error("spec.latency.threshold", "needs scope.slo: a threshold applies to one SLO")
    if len(r.sink) != before or name is None or unit is None or objective_unit is None:
        return None
    return LatencyRule(
        field=name, unit=unit, objective_unit=objective_unit, threshold_op=op, threshold_value=value
    )


def _fields(r: Reporter, spec: dict[str, Any]) -> LogFields | None:
    body = mapping(r, spec, "fields", "spec")
    if body is None:
        return LogFields() if spec.get("fields") is None else None
    before = len(r.sink)
    unknown_fields(r, body, _FIELD_KEYS, "spec.fields")
    names: dict[str, str] = {}
    for key, attr in _FIELD_KEYS.items():
        value = _field_name(r, body, key, "spec.fields", getattr(LogFields(), attr))
        if value is not None:
            names[attr] = value
    if len(r.sink) != before:
        return None
    return LogFields(**names)


def parse_edge_case_policy(
    spec: Any, name: str = "", source: str = ""
) -> tuple[EdgeCasePolicy | None, list[tuple[str, str]]]:
    """The typed policy and no issues, or None and every `(path, message)` problem of the spec.

    Scope names are only checked for shape here; the catalog loader checks they exist.
    """
    r = Reporter("", None)
    if not isinstance(spec, dict):
        r.error("spec", "is required" if spec is None else f"must be a mapping (got {show(spec)})")
        return None, [(i.path, i.message) for i in r.sink]
    hint = "; sampledLogs is now sampling: {sampleRateField, errorsSampled}" if "sampledLogs" in spec else ""
    unknown_fields(r, spec, _TOP_KEYS, "spec", hint)
    string(r, spec, "description", "spec")
    scope = _scope(r, spec)
    retries = choice(r, spec, "retries", "spec", RETRY_RULES)
    timeouts = choice(r, spec, "timeouts", "spec", TIMEOUT_RULES)
    partial = choice(r, spec, "partialResponses", "spec", PARTIAL_RULES)
    client = choice(r, spec, "clientErrors", "spec", CLIENT_ERROR_RULES)
    sampling = _sampling(r, spec)
    latency = _latency(r, spec, scope)
    fields = _fields(r, spec)
    if r.sink or scope is None or sampling is None or latency is None or fields is None:
        return None, [(i.path, i.message) for i in r.sink]
    policy = EdgeCasePolicy(
        name=name or "unnamed",
        scope=scope,
        retries=cast(RetryRule, retries or DEFAULT_POLICY.retries),
        timeouts=cast(TimeoutRule, timeouts or DEFAULT_POLICY.timeouts),
        partial_responses=cast(PartialRule, partial or DEFAULT_POLICY.partial_responses),
        client_errors=cast(ClientErrorRule, client or DEFAULT_POLICY.client_errors),
        sampling=sampling,
        latency=latency,
        fields=fields,
        source=source,
    )
    return policy, []


def policy_for(policies: Iterable[EdgeCasePolicy], slo: str, service: str) -> EdgeCasePolicy:
    """The most specific policy for an SLO: scope slo, then service, then unscoped, then the default."""
    ranked: dict[int, list[EdgeCasePolicy]] = {}
    for policy in policies:
        if policy.scope.applies_to(slo, service):
            rank = 0 if policy.scope.slo is not None else 1 if policy.scope.service is not None else 2
            ranked.setdefault(rank, []).append(policy)
    for rank in sorted(ranked):
        found = ranked[rank]
        if len(found) > 1:
            names = ", ".join(sorted(p.name for p in found))
            raise PolicyResolutionError(
                f"SLO {slo!r}: several EdgeCasePolicy documents apply with the same scope ({names}); "
                "narrow their scopes so exactly one applies"
            )
        return found[0]
    return DEFAULT_POLICY


def catalog_policies(documents: Iterable[Document]) -> list[EdgeCasePolicy]:
    """Every EdgeCasePolicy of a loaded (hence already validated) catalog, typed."""
    out: list[EdgeCasePolicy] = []
    for document in documents:
        if document.kind != "EdgeCasePolicy":
            continue
        policy, _ = parse_edge_case_policy(
            document.body.get("spec"), document.name, f"{document.file}[{document.index}]"
        )
        if policy is not None:
            out.append(policy)
    return out
