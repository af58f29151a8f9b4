"""Shape checks for our other kinds (SLAContract, BudgetPolicy, Team, Dependency, UserJourney,
EdgeCasePolicy). They are consumed by later features; checking them at load time means a typo in a
contract fails `slo validate` instead of a month-end report.
"""

from typing import Any

from slo_pipelines.catalog.budget_policy import parse_budget_policy
from slo_pipelines.catalog.edge_case_policy import parse_edge_case_policy
from slo_pipelines.catalog.exclusions import scope
from slo_pipelines.catalog.fields import (
    Reporter,
    boolean,
    mapping,
    show,
    string,
    string_list,
)
from slo_pipelines.catalog.journeys import parse_user_journey
from slo_pipelines.catalog.models import Document, Scope
from slo_pipelines.catalog.registry import Registry, reference
from slo_pipelines.catalog.sla_contract import parse_sla_contract


def check_extension(r: Reporter, registry: Registry, document: Document) -> dict[str, Any] | None:
    """Validate one extension document; returns its spec when it is usable."""
    spec = mapping(r, document.body, "spec", "", required=True)
    if spec is None:
        return None
    before = len(r.sink)
    CHECKS[document.kind](r, registry, spec)
    return spec if len(r.sink) == before else None


def _slo_names(r: Reporter, registry: Registry, spec: dict[str, Any], key: str, *, required: bool) -> None:
    for i, name in enumerate(string_list(r, spec, key, "spec", required=required) or []):
        if not registry.has("SLO", name):
            r.error(f"spec.{key}[{i}]", f"no SLO with this name in the catalog (got {show(name)})")


def _sla_contract(r: Reporter, registry: Registry, spec: dict[str, Any]) -> None:
    parse_sla_contract(r, registry, "", spec)


def _budget_policy(r: Reporter, registry: Registry, spec: dict[str, Any]) -> None:
    parse_budget_policy(r, "", spec, scope(r, registry, spec, "spec") or Scope())


def _team(r: Reporter, registry: Registry, spec: dict[str, Any]) -> None:
    string_list(r, spec, "owners", "spec", required=True)
    string_list(r, spec, "members", "spec")
    for i, name in enumerate(string_list(r, spec, "services", "spec") or []):
        if not registry.has_service(name):
            r.error(f"spec.services[{i}]", f"no Service with this name in the catalog (got {show(name)})")
    escalation = spec.get("escalation")
    if escalation is not None and not isinstance(escalation, dict | list):
        r.error("spec.escalation", f"must be a mapping or a list (got {show(escalation)})")


def _dependency(r: Reporter, registry: Registry, spec: dict[str, Any]) -> None:
    reference(r, registry, spec, "service", "spec", "Service", required=True)
    string(r, spec, "upstream", "spec", required=True)
    reference(r, registry, spec, "slo", "spec", "SLO")
    reference(r, registry, spec, "indicatorRef", "spec", "SLI")
    boolean(r, spec, "critical", "spec")
    boolean(r, spec, "vendorManaged", "spec")


def _user_journey(r: Reporter, registry: Registry, spec: dict[str, Any]) -> None:
    _slo_names(r, registry, spec, "slos", required=True)  # the names must exist; shape checked once, here
    for path, message in parse_user_journey(spec)[1]:
        if path != "spec.slos" and not path.startswith("spec.slos["):
            r.error(path, message)


def _edge_case_policy(r: Reporter, registry: Registry, spec: dict[str, Any]) -> None:
    scope(r, registry, spec, "spec")  # the scope's names must exist; its shape is checked once, here
    _, issues = parse_edge_case_policy(spec)
    for path, message in issues:
        if path != "spec.scope" and not path.startswith("spec.scope."):
            r.error(path, message)


CHECKS = {
    "SLAContract": _sla_contract,
    "BudgetPolicy": _budget_policy,
    "Team": _team,
    "Dependency": _dependency,
    "UserJourney": _user_journey,
    "EdgeCasePolicy": _edge_case_policy,
}
