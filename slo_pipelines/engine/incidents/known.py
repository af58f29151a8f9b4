"""Incidents as the notification gate sees them: who is already on which service (pure).

An incident suppresses pages of the SLOs it affects while it is open: the services it lists and,
through `Dependency` documents, the services that depend on them (DESIGN.md §9). Every suppression is
recorded in the delivery log with the incident's name, never silent.
"""

from collections.abc import Iterable

from slo_pipelines.catalog.incidents import Incident
from slo_pipelines.catalog.models import Catalog
from slo_pipelines.engine.alerting.payloads import KnownIncident
from slo_pipelines.engine.incidents.affected import affected_services


def known_incidents(catalog: Catalog, incidents: Iterable[Incident]) -> list[KnownIncident]:
    """One `KnownIncident` per incident and affected service, with the incident's window."""
    out = []
    for incident in incidents:
        for service in sorted(affected_services(catalog, incident.services)):
            out.append(KnownIncident(incident.name, service, incident.start, incident.end, incident.title))
    return out
