"""Which services and SLOs an incident affects (DESIGN.md §9).

A `Dependency` document says its `service` depends on its `upstream`, so impact flows from an upstream
to its dependents, transitively, and never from a dependent back to its upstream.
"""

from collections.abc import Iterable

from slo_pipelines.catalog.models import SLO, Catalog


def dependents(catalog: Catalog) -> dict[str, set[str]]:
    """upstream -> the services that declare a Dependency on it."""
    out: dict[str, set[str]] = {}
    for d in catalog.other:
        spec = d.body.get("spec")
        if d.kind != "Dependency" or not isinstance(spec, dict):
            continue
        service, upstream = spec.get("service"), spec.get("upstream")
        if isinstance(service, str) and isinstance(upstream, str):
            out.setdefault(upstream, set()).add(service)
    return out


def affected_services(catalog: Catalog, services: Iterable[str]) -> set[str]:
    """The listed services plus every service that depends on one of them, at any depth."""
    graph = dependents(catalog)
    seen = set(services)
    todo = list(seen)
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def affected_slos(catalog: Catalog, services: Iterable[str]) -> list[SLO]:
    """SLOs of the affected services, sorted by name."""
    reached = affected_services(catalog, services)
    return [catalog.slos[n] for n in sorted(catalog.slos) if catalog.slos[n].service in reached]
