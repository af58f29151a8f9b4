"""The signed webhook inbox: a small HTTP receiver (standard library `http.server`) for PagerDuty v3
webhooks that appends verified deliveries to the warehouse's `webhook_inbox`.

`POST /webhooks/pagerduty` answers
- 202 when the delivery is verified and stored;
- 401 when its `X-PagerDuty-Signature` matches none of the secrets (forged, or signed with an old secret);
- 409 when its event id was already received (a replay);
- 400 for a body that is not a JSON webhook event, 413 for a body over `max_body_bytes`, 404 elsewhere.
Every refusal is logged with its reason and recorded in `webhook_rejections` (with the body's sha256,
never the body). Secrets come only from the environment: `PAGERDUTY_WEBHOOK_SECRETS`, a comma-separated
list so a secret can be rotated without downtime.
"""

import hashlib
import json
import logging
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dagster as dg
from pydantic import Field

from slo_pipelines.engine.incidents.sources import SourceRecordError, source_instant
from slo_pipelines.engine.incidents.webhooks import signature_problem
from slo_pipelines.resources.incident_store import IncidentStore
from slo_pipelines.resources.settings import configured

LOG = logging.getLogger("slo_pipelines.webhooks")
PAGERDUTY_PATH = "/webhooks/pagerduty"


class WebhookInboxResource(dg.ConfigurableResource):
    """Configuration of the receiver; set `secrets` with `dg.EnvVar("PAGERDUTY_WEBHOOK_SECRETS")`."""

    secrets: str = Field(default="", description="Comma-separated PagerDuty webhook secrets (rotation).")
    max_body_bytes: int = Field(default=1_000_000, gt=0)

    def secret_list(self) -> list[str]:
        return [s.strip() for s in configured(self.secrets).split(",") if s.strip()]


def _event(payload: Any) -> tuple[str, str, int | None] | None:
    """(event id, event type, occurred_at) of a v3 webhook body, or None when it is not one."""
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), dict):
        return None
    event = payload["event"]
    event_id, event_type = event.get("id"), event.get("event_type")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str) or not event_type:
        return None
    occurred = event.get("occurred_at")
    try:
        return event_id, event_type, None if occurred is None else source_instant(occurred, "occurred_at")
    except SourceRecordError:
        return None


def make_server(
    host: str, port: int, store: IncidentStore, secrets: Sequence[str], max_body_bytes: int = 1_000_000
) -> ThreadingHTTPServer:
    """A receiver bound to (host, port); call `serve_forever()` (port 0 picks a free port)."""
    if not secrets:
        raise ValueError("no webhook secret: set PAGERDUTY_WEBHOOK_SECRETS (comma-separated for rotation)")
    secrets = tuple(secrets)

    class Handler(BaseHTTPRequestHandler):
        server_version = "slo-webhooks"

        def _answer(self, status: int, message: str) -> None:
            body = json.dumps({"status": status, "message": message}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _refuse(self, status: int, reason: str, body: bytes, delivery_id: str | None = None) -> None:
            remote = self.client_address[0] if self.client_address else None
            LOG.warning("refused webhook delivery from %s: %s", remote, reason)
            store.record_rejection("pagerduty", reason, hashlib.sha256(body).hexdigest(), delivery_id, remote)
            self._answer(status, reason)

        def do_POST(self) -> None:
            if self.path.split("?")[0] != PAGERDUTY_PATH:
                self._answer(404, "not found")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > max_body_bytes:
                self._refuse(413, f"body length {self.headers.get('Content-Length')!r} not accepted", b"")
                return
            body = self.rfile.read(length)
            problem = signature_problem(body, self.headers.get("X-PagerDuty-Signature"), secrets)
            if problem is not None:
                self._refuse(401, problem, body, self.headers.get("X-Webhook-Id"))
                return
            try:
                payload = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                self._refuse(400, "body is not JSON", body, self.headers.get("X-Webhook-Id"))
                return
            event = _event(payload)
            if event is None:
                self._refuse(400, "body is not a v3 webhook event (event.id, event.event_type)", body)
                return
            event_id, event_type, occurred = event
            if store.append_inbox("pagerduty", event_id, event_type, occurred, payload) is None:
                self._refuse(409, f"replayed delivery: event {event_id} was already received", body, event_id)
                return
            LOG.info("accepted webhook event %s (%s)", event_id, event_type)
            self._answer(202, "accepted")

        def do_GET(self) -> None:
            self._answer(
                200 if self.path == "/healthz" else 404, "ok" if self.path == "/healthz" else "not found"
            )

        def log_message(self, format: str, *args: object) -> None:
            LOG.debug(format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
