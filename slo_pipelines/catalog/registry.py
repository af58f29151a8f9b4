"""Names of every document by kind, so references can be checked in any file order."""

from dataclasses import dataclass, field
from typing import Any

from slo_pipelines.catalog.fields import Reporter, join, show, string
from slo_pipelines.catalog.models import Document


@dataclass
class Registry:
    by_kind: dict[str, dict[str, Document]] = field(default_factory=dict)
    slo_services: set[str] = field(default_factory=set)  # names SLOs give in spec.service

    def add(self, document: Document) -> Document | None:
        """Register a document; returns the earlier document of that kind and name, if any."""
        spec = document.body.get("spec")
        if document.kind == "SLO" and isinstance(spec, dict) and isinstance(spec.get("service"), str):
            self.slo_services.add(spec["service"])
        names = self.by_kind.setdefault(document.kind, {})
        earlier = names.get(document.name)
        if earlier is None:
            names[document.name] = document
        return earlier

    def get(self, kind: str, name: str) -> Document | None:
        return self.by_kind.get(kind, {}).get(name)

    def has(self, kind: str, name: str) -> bool:
        return self.get(kind, name) is not None

    def has_service(self, name: str) -> bool:
        """A Service document is optional (OpenSLO): a service an SLO names exists too."""
        return self.has("Service", name) or name in self.slo_services


def reference(
    r: Reporter,
    registry: Registry,
    parent: dict[str, Any],
    key: str,
    base: str,
    kind: str,
    *,
    required: bool = False,
) -> str | None:
    """A name that must match a document of `kind` somewhere in the catalog."""
    name = string(r, parent, key, base, required=required)
    if name is None:
        return None
    if not (registry.has_service(name) if kind == "Service" else registry.has(kind, name)):
        r.error(join(base, key), f"no {kind} with this name in the catalog (got {show(name)})")
        return None
    return name
