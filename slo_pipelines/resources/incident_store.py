"""Incident versions, the webhook inbox, refused deliveries and incident impact in the SLO warehouse.

Every version of an incident is kept, keyed by `(system, incident_id, updated_at)`: opened, updated,
resolved. Recording the same version twice is a no-op (a sensor restart, a webhook and a poll
reporting the same change), and a version older than one already stored is kept too (sources deliver
out of order) while `latest()` always answers with the largest `updated_at`. `seq` (incident versions)
and `id` (inbox) grow in arrival order: the sensors' cursors. A catalog incident without `updatedAt`
takes its end (or start) as its version time.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from slo_pipelines.catalog.fields import Reporter
from slo_pipelines.catalog.incidents import Incident, parse_incident
from slo_pipelines.catalog.models import Document
from slo_pipelines.resources import warehouse_schema as schema
from slo_pipelines.resources.warehouse import WarehouseResource


def incident_key(incident: Incident) -> tuple[str, str, int]:
    """(system, id, updated_at) of a version."""
    system, source_id = (
        (incident.source.system, incident.source.id) if incident.source else ("catalog", incident.name)
    )
    version = incident.updated_at
    if version is None:
        version = incident.end if incident.end is not None else incident.start
    return system, source_id, version


def run_key(incident: Incident) -> str:
    """`{system}:{id}:{updated_at}` (DESIGN.md §9): one run per incident version, forever."""
    system, source_id, version = incident_key(incident)
    return f"{system}:{source_id}:{version}"


@dataclass(frozen=True)
class StoredVersion:
    seq: int
    incident: Incident
    source_priority: str | None


def _document_incident(payload: Mapping[str, Any]) -> Incident:
    document = Document(
        "warehouse", 0, "slo-pipelines/v1", "Incident", payload["metadata"]["name"], dict(payload)
    )
    incident = parse_incident(Reporter("warehouse", 0), document, None)
    if incident is None:  # written by record_versions from a valid Incident: cannot happen
        raise ValueError(f"incident_versions: stored document {payload['metadata']['name']!r} is invalid")
    return incident


class IncidentStore:
    """Incident tables of one warehouse."""

    def __init__(self, warehouse: WarehouseResource) -> None:
        self.warehouse = warehouse

    # ---- incident versions ----------------------------------------------------------------------

    def record_versions(
        self, incidents: Sequence[Incident], priorities: Mapping[str, str | None] | None = None
    ) -> list[StoredVersion]:
        """Store the versions not stored yet; returns them with their seq, in the order given."""
        t = schema.incident_versions
        fresh: list[StoredVersion] = []
        with self.warehouse.get_engine().begin() as conn:
            for incident in incidents:
                system, source_id, version = incident_key(incident)
                exists = conn.execute(
                    sa.select(t.c.seq).where(
                        t.c.system == system, t.c.incident_id == source_id, t.c.updated_at == version
                    )
                ).first()
                if exists is not None:
                    continue
                priority = (priorities or {}).get(incident.name)
                result = conn.execute(
                    t.insert().values(
                        system=system,
                        incident_id=source_id,
                        updated_at=version,
                        name=incident.name,
                        severity=incident.severity,
                        status=incident.status,
                        start=incident.start,
                        end=incident.end,
                        services=list(incident.services),
                        source_priority=priority,
                        document=incident.to_document(),
                        recorded_at=datetime.now(UTC),
                    )
                )
                key = result.inserted_primary_key
                assert key is not None
                fresh.append(StoredVersion(int(key[0]), incident, priority))
        return fresh

    def versions_after(self, seq: int, limit: int = 500) -> list[StoredVersion]:
        """Versions recorded after `seq`, oldest first (a cursor page)."""
        t = schema.incident_versions
        query = sa.select(t.c.seq, t.c.document, t.c.source_priority).where(t.c.seq > seq).order_by(t.c.seq)
        with self.warehouse.get_engine().connect() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [StoredVersion(int(r.seq), _document_incident(r.document), r.source_priority) for r in rows]

    def history(self, system: str, incident_id: str) -> list[Incident]:
        """Every version of one incident, by version time."""
        t = schema.incident_versions
        query = (
            sa.select(t.c.document)
            .where(t.c.system == system, t.c.incident_id == incident_id)
            .order_by(t.c.updated_at, t.c.seq)
        )
        with self.warehouse.get_engine().connect() as conn:
            return [_document_incident(r.document) for r in conn.execute(query).all()]

    def latest(self) -> list[Incident]:
        """The latest version of every incident (largest updated_at), by start."""
        t = schema.incident_versions
        newest = (
            sa.select(t.c.system, t.c.incident_id, sa.func.max(t.c.updated_at).label("updated_at"))
            .group_by(t.c.system, t.c.incident_id)
            .subquery()
        )
        query = sa.select(t.c.document).join(
            newest,
            (t.c.system == newest.c.system)
            & (t.c.incident_id == newest.c.incident_id)
            & (t.c.updated_at == newest.c.updated_at),
        )
        with self.warehouse.get_engine().connect() as conn:
            found = [_document_incident(r.document) for r in conn.execute(query).all()]
        return sorted(found, key=lambda i: (i.start, i.name))

    def latest_impact(self) -> list[dict[str, Any]]:
        """One row per incident and affected SLO objective, from each incident's latest version and the
        impact stored for that version: slo, objective, name, title, severity, start, end,
        budget_consumed_ratio (for reports that mark incidents on budget charts)."""
        latest = {incident_key(i)[:2]: i for i in self.latest()}
        rows = []
        for row in self.read_impact():
            incident = latest.get((row["system"], row["incident_id"]))
            if incident is None or row["updated_at"] != incident_key(incident)[2]:
                continue  # an older version's numbers
            rows.append(
                {
                    "slo": row["slo"],
                    "objective": row["objective"],
                    "name": incident.name,
                    "title": incident.title,
                    "severity": incident.severity,
                    "start": incident.start,
                    "end": incident.end,
                    "budget_consumed_ratio": row["budget_consumed_ratio"],
                }
            )
        return rows

    # ---- webhook inbox ------------------------------------------------------------------------------

    def append_inbox(
        self, provider: str, delivery_id: str, event_type: str, occurred_at: int | None, payload: Any
    ) -> int | None:
        """Append a verified delivery; None when this delivery id was already received (a replay)."""
        t = schema.webhook_inbox
        with self.warehouse.get_engine().begin() as conn:
            if conn.execute(sa.select(t.c.id).where(t.c.delivery_id == delivery_id)).first() is not None:
                return None
            try:
                result = conn.execute(
                    t.insert().values(
                        provider=provider,
                        delivery_id=delivery_id,
                        event_type=event_type,
                        occurred_at=occurred_at,
                        payload=payload,
                        received_at=datetime.now(UTC),
                    )
                )
            except sa.exc.IntegrityError:  # the same delivery arrived on two connections at once
                return None
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def inbox_after(self, last_id: int, limit: int = 500) -> list[dict[str, Any]]:
        t = schema.webhook_inbox
        query = sa.select(t).where(t.c.id > last_id).order_by(t.c.id).limit(limit)
        with self.warehouse.get_engine().connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def record_rejection(
        self, provider: str, reason: str, body_sha256: str, delivery_id: str | None, remote: str | None
    ) -> None:
        with self.warehouse.get_engine().begin() as conn:
            conn.execute(
                schema.webhook_rejections.insert().values(
                    provider=provider,
                    reason=reason,
                    delivery_id=delivery_id,
                    remote_address=remote,
                    body_sha256=body_sha256,
                    received_at=datetime.now(UTC),
                )
            )

    def rejections(self) -> list[dict[str, Any]]:
        t = schema.webhook_rejections
        with self.warehouse.get_engine().connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(t).order_by(t.c.id)).mappings().all()]

    # ---- impact -----------------------------------------------------------------------------------

    def upsert_impact(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Replace the impact rows of the incident versions in `rows` (idempotent per version)."""
        if not rows:
            return 0
        t = schema.incident_impact
        versions = {(r["system"], r["incident_id"], r["updated_at"]) for r in rows}
        now = datetime.now(UTC)
        with self.warehouse.get_engine().begin() as conn:
            for system, source_id, version in versions:
                conn.execute(
                    t.delete().where(
                        t.c.system == system, t.c.incident_id == source_id, t.c.updated_at == version
                    )
                )
            conn.execute(t.insert(), [{**r, "computed_at": now} for r in rows])
        return len(rows)

    def read_impact(self, system: str | None = None, incident_id: str | None = None) -> list[dict[str, Any]]:
        t = schema.incident_impact
        query = sa.select(t).order_by(t.c.system, t.c.incident_id, t.c.updated_at, t.c.slo, t.c.objective)
        if system is not None:
            query = query.where(t.c.system == system)
        if incident_id is not None:
            query = query.where(t.c.incident_id == incident_id)
        with self.warehouse.get_engine().connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]


def impact_rows(impacts: Sequence[Any]) -> list[dict[str, Any]]:
    """`incident_impact` rows of `engine.incidents.impact.IncidentImpact`s, keyed by incident version."""
    rows = []
    for impact in impacts:
        system, source_id, version = incident_key(impact.incident)
        for s in impact.slos:
            rows.append(
                {
                    "system": system,
                    "incident_id": source_id,
                    "updated_at": version,
                    "slo": s.name,
                    "objective": s.objective,
                    "name": impact.incident.name,
                    "measured_until": impact.measured_end,
                    "bad": s.bad,
                    "total": s.total,
                    "allowed_bad": s.allowed_bad,
                    "budget_consumed_ratio": s.budget_consumed_ratio,
                    "attributed_bad": s.attributed_bad,
                    "peak_burn_rate_1h": s.peak_burn_rate_1h,
                    "severity": impact.incident.severity,
                    "expected_severity": impact.expected_severity,
                }
            )
    return rows
