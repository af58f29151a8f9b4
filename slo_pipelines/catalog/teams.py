"""Which team owns which SLO (DESIGN.md §12): the `Team` whose `spec.services` lists the SLO's service,
else the Service's `slo-pipelines.io/team` annotation. Access control keys every row on this."""

from slo_pipelines.catalog.models import Catalog

TEAM_ANNOTATION = "slo-pipelines.io/team"


def team_names(catalog: Catalog) -> list[str]:
    """Every team the catalog declares (Team documents and Service annotations), sorted."""
    return sorted({team for team in service_teams(catalog).values()} | _declared(catalog))


def _declared(catalog: Catalog) -> set[str]:
    return {d.name for d in catalog.documents if d.kind == "Team"}


def service_teams(catalog: Catalog) -> dict[str, str]:
    """service -> team for every service with an owner; a Team document wins over an annotation."""
    owners: dict[str, str] = {}
    for d in catalog.documents:
        if d.kind == "Service":
            annotations = (d.body.get("metadata") or {}).get("annotations") or {}
            team = annotations.get(TEAM_ANNOTATION)
            if isinstance(team, str) and team.strip():
                owners[d.name] = team.strip()
    for d in catalog.documents:
        if d.kind == "Team":
            for service in (d.body.get("spec") or {}).get("services") or []:
                owners[str(service)] = d.name
    return owners


def slo_teams(catalog: Catalog) -> dict[str, tuple[str, str | None]]:
    """slo -> (service, team or None when no team owns the service), for every `slo` value rows may
    carry: the SLO names and the `SLO/objective` keys of objectives with their own indicator
    (`Catalog.slos_by_data_key`), so the rows of a composite SLO's objectives reach its team too."""
    owners = service_teams(catalog)
    keyed = {**catalog.slos, **catalog.slos_by_data_key()}
    return {key: (slo.service, owners.get(slo.service)) for key, slo in keyed.items()}
