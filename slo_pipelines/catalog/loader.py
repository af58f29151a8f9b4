"""`load_catalog`: read a directory (or one file) of YAML, validate everything, return a `Catalog`.

Validation never stops at the first problem: every issue in every file is collected and raised
together in one `CatalogError`, so `slo validate` lists all of them at once.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from slo_pipelines.catalog import openslo
from slo_pipelines.catalog.errors import CatalogError, CatalogIssue
from slo_pipelines.catalog.exclusions import exclusion_rule
from slo_pipelines.catalog.extensions import CHECKS, check_extension
from slo_pipelines.catalog.fields import Reporter, show
from slo_pipelines.catalog.incidents import check_catalog_incidents, service_names
from slo_pipelines.catalog.models import SLO, Catalog, Document, ExclusionRule, Indicator, Service
from slo_pipelines.catalog.openslo_schema import check_document
from slo_pipelines.catalog.registry import Registry
from slo_pipelines.catalog.yamlfiles import RawDocument, catalog_files, read_documents

OPENSLO_V1 = "openslo/v1"
EXTENSIONS_V1 = "slo-pipelines/v1"
KINDS: dict[str, tuple[str, ...]] = {
    OPENSLO_V1: (
        "Service",
        "SLI",
        "SLO",
        "DataSource",
        "AlertPolicy",
        "AlertCondition",
        "AlertNotificationTarget",
    ),
    EXTENSIONS_V1: ("MaintenanceWindow", "Exclusion", *CHECKS, "Incident", "IncidentSeverityPolicy"),
}


def load_catalog(path: str | Path) -> Catalog:
    root = Path(path)
    issues: list[CatalogIssue] = []
    warnings: list[CatalogIssue] = []
    top = Reporter(root.as_posix(), None, issues)
    raw: list[RawDocument] = []
    for on_disk, shown in catalog_files(root, top):
        raw.extend(read_documents(on_disk, shown, Reporter(shown, None, issues)))
    if not raw and not issues:
        top.error("", "the catalog holds no documents")
    registry = Registry()
    documents: list[Document] = []
    for item in raw:
        document = _header(Reporter(item.file, item.index, issues, warnings), registry, item)
        if document is not None:
            documents.append(document)
    catalog = _build(issues, warnings, registry, documents)
    if issues:
        raise CatalogError(sorted(issues, key=lambda i: (i.file, -1 if i.index is None else i.index)))
    return catalog


def _header(r: Reporter, registry: Registry, item: RawDocument) -> Document | None:
    """Check apiVersion, kind and metadata.name; register the name even when the header is wrong,
    so references to this document do not add a second, misleading error."""
    data = item.data
    if not isinstance(data, dict):
        r.error(
            "", f"a document must be a mapping with apiVersion, kind, metadata and spec (got {show(data)})"
        )
        return None
    api_version, kind = data.get("apiVersion"), data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    ok = True
    if api_version is None:
        r.error("apiVersion", f"is required ({OPENSLO_V1} or {EXTENSIONS_V1})")
        ok = False
    elif not isinstance(api_version, str) or api_version not in KINDS:
        r.error("apiVersion", f"must be {OPENSLO_V1} or {EXTENSIONS_V1} (got {show(api_version)})")
        ok = False
    if kind is None:
        r.error("kind", "is required")
        ok = False
    elif not isinstance(kind, str):
        r.error("kind", f"must be a string (got {show(kind)})")
        ok = False
    elif isinstance(api_version, str) and api_version in KINDS and kind not in KINDS[api_version]:
        owner = next((v for v, kinds in KINDS.items() if kind in kinds), None)
        known = ", ".join(KINDS[api_version])
        hint = f"; {kind} belongs to {owner}" if owner else f"; known kinds: {known}"
        r.error("kind", f"unknown kind for {api_version}{hint} (got {show(kind)})")
        ok = False
    if not isinstance(metadata, dict):
        r.error(
            "metadata", "is required" if metadata is None else f"must be a mapping (got {show(metadata)})"
        )
        ok = False
    elif name is None:
        r.error("metadata.name", "is required")
        ok = False
    elif not isinstance(name, str) or not name.strip():
        r.error("metadata.name", f"must be a non-empty string (got {show(name)})")
        ok = False
    if not isinstance(kind, str) or not isinstance(name, str) or not name.strip():
        return None
    if ok and api_version == OPENSLO_V1:
        check_document(r, kind, data)
    document = Document(item.file, item.index, str(api_version), kind, name, data)
    earlier = registry.add(document)
    if earlier is not None:
        r.error("metadata.name", f"{kind} {show(name)} is already defined at {earlier.file}[{earlier.index}]")
        return None
    return document if ok else None


def _build(
    issues: list[CatalogIssue], warnings: list[CatalogIssue], registry: Registry, documents: list[Document]
) -> Catalog:
    def reporter(document: Document) -> Reporter:
        return Reporter(document.file, document.index, issues, warnings)

    by_kind: dict[str, list[Document]] = {}
    for document in documents:
        by_kind.setdefault(document.kind, []).append(document)

    services: dict[str, Service] = {
        d.name: openslo.service(reporter(d), d) for d in by_kind.get("Service", [])
    }
    for d in by_kind.get("DataSource", []):
        openslo.data_source(reporter(d), d)
    indicators: dict[str, Indicator | None] = {
        d.name: openslo.sli(reporter(d), registry, d) for d in by_kind.get("SLI", [])
    }
    for kind, check in (
        ("AlertCondition", openslo.alert_condition_spec),
        ("AlertNotificationTarget", openslo.notification_target_spec),
    ):
        for d in by_kind.get(kind, []):
            spec = _spec(reporter(d), d)
            if spec is not None:
                check(reporter(d), spec, "spec")
    for d in by_kind.get("AlertPolicy", []):
        spec = _spec(reporter(d), d)
        if spec is not None:
            openslo.alert_policy_spec(reporter(d), registry, spec, "spec")

    slos: dict[str, SLO] = {}
    for d in by_kind.get("SLO", []):
        built = openslo.slo(reporter(d), registry, indicators, d)
        if built is not None:
            slos[d.name] = built
    _warn_missing_services(reporter, registry, by_kind.get("SLO", []))
    exclusions: list[ExclusionRule] = []
    for d in documents:
        if d.kind in ("MaintenanceWindow", "Exclusion"):
            rule = exclusion_rule(reporter(d), registry, d)
            if rule is not None:
                exclusions.append(rule)
    budget_policies: dict[str, dict[str, Any]] = {}
    for d in documents:
        if d.kind in CHECKS:
            spec = check_extension(reporter(d), registry, d)
            if d.kind == "BudgetPolicy" and spec is not None:
                budget_policies[d.name] = spec
    check_catalog_incidents(
        reporter, documents, service_names(services, (s.service for s in slos.values()), documents)
    )
    consumed = {"Service", "SLO", "MaintenanceWindow", "Exclusion", "BudgetPolicy"}
    return Catalog(
        documents=tuple(documents),
        services=services,
        slos=slos,
        exclusions=tuple(exclusions),
        budget_policies=budget_policies,
        other=tuple(d for d in documents if d.kind not in consumed),
        warnings=tuple(sorted(warnings, key=lambda i: (i.file, -1 if i.index is None else i.index))),
    )


def _warn_missing_services(
    reporter: Callable[[Document], Reporter], registry: Registry, slo_documents: list[Document]
) -> None:
    """OpenSLO lets `spec.service` name a service without a Service document ("may refer, depends on the
    implementation"): the name is used as is, with one warning per name at its first use."""
    warned: set[str] = set()
    for d in slo_documents:
        spec = d.body.get("spec")
        name = spec.get("service") if isinstance(spec, dict) else None
        if (
            isinstance(name, str)
            and name.strip()
            and not registry.has("Service", name)
            and name not in warned
        ):
            warned.add(name)
            reporter(d).warn(
                "spec.service",
                f"no Service document with this name; the name is used as is (got {show(name)})",
            )


def _spec(r: Reporter, document: Document) -> dict[str, Any] | None:
    spec = document.body.get("spec")
    if not isinstance(spec, dict):
        r.error("spec", "is required" if spec is None else f"must be a mapping (got {show(spec)})")
        return None
    return spec
