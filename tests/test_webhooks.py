"""The signed webhook inbox on a real port: genuine deliveries stored, forged (wrong secret), unsigned,
replayed and malformed ones refused with a recorded reason, secrets rotated without downtime."""

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from slo_pipelines.engine.incidents.webhooks import sign, signature_problem
from slo_pipelines.resources.incident_store import IncidentStore
from slo_pipelines.resources.warehouse import WarehouseResource
from slo_pipelines.resources.webhook_inbox import PAGERDUTY_PATH, make_server

ROOT = Path(__file__).resolve().parent.parent


def event(event_id: str = "01EVT", status: str = "triggered") -> dict[str, Any]:
    return {
        "event": {
            "id": event_id,
            "event_type": f"incident.{status}",
            "resource_type": "incident",
            "occurred_at": "2026-10-05T01:00:00.123Z",
            "data": {
                "id": "Q1",
                "type": "incident",
                "number": 7,
                "status": status,
                "created_at": "2026-10-05T00:10:00Z",
                "title": "Checkout 5xx",
                "service": {"id": "S", "summary": "checkout"},
                "urgency": "high",
            },
        }
    }


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[tuple[str, IncidentStore]]:
    store = IncidentStore(WarehouseResource(url=f"sqlite:///{tmp_path / 'wh.db'}"))
    server = make_server("127.0.0.1", 0, store, ["old-secret", "new-secret"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{PAGERDUTY_PATH}", store
    finally:
        server.shutdown()
        server.server_close()


def post(url: str, body: bytes, signature: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature
    return requests.post(url, data=body, headers=headers, timeout=10)


def test_signature_rules() -> None:
    body = b'{"event": {}}'
    assert signature_problem(body, sign(body, "s1"), ["s1"]) is None
    # PagerDuty sends one v1= per secret during its own rotation; any match will do
    assert signature_problem(body, f"v1=deadbeef, {sign(body, 's2')}", ["s1", "s2"]) is None
    assert signature_problem(body, sign(body, "s1").upper().replace("V1=", "v1="), ["s1"]) is None
    assert (
        signature_problem(body, sign(body, "wrong"), ["s1"])
        == "signature does not match any configured secret"
    )
    assert signature_problem(body + b" ", sign(body, "s1"), ["s1"]) is not None  # body altered after signing
    assert signature_problem(body, None, ["s1"]) == "missing X-PagerDuty-Signature header"
    assert signature_problem(body, "v0=abc", ["s1"]) == "X-PagerDuty-Signature carries no v1= signature"


def test_forged_delivery_signed_with_a_wrong_secret_is_refused_and_recorded(
    inbox: tuple[str, IncidentStore], caplog: pytest.LogCaptureFixture
) -> None:
    url, store = inbox
    body = json.dumps(event()).encode()
    with caplog.at_level(logging.WARNING, logger="slo_pipelines.webhooks"):
        forged = post(url, body, sign(body, "attacker-secret"))
    assert forged.status_code == 401 and "does not match" in forged.json()["message"]
    assert store.inbox_after(0) == []
    [rejection] = store.rejections()
    assert rejection["reason"] == "signature does not match any configured secret"
    assert rejection["remote_address"] == "127.0.0.1" and len(rejection["body_sha256"]) == 64
    assert any("refused webhook delivery" in r.getMessage() for r in caplog.records)


def test_genuine_deliveries_are_stored_under_either_secret_and_replays_refused(
    inbox: tuple[str, IncidentStore],
) -> None:
    url, store = inbox
    first = json.dumps(event("01A")).encode()
    second = json.dumps(event("01B", "resolved")).encode()
    assert post(url, first, sign(first, "old-secret")).status_code == 202
    assert post(url, second, sign(second, "new-secret")).status_code == 202
    replay = post(url, first, sign(first, "old-secret"))
    assert replay.status_code == 409 and "replayed delivery" in replay.json()["message"]
    stored = store.inbox_after(0)
    assert [(r["delivery_id"], r["event_type"]) for r in stored] == [
        ("01A", "incident.triggered"),
        ("01B", "incident.resolved"),
    ]
    assert stored[0]["payload"] == event("01A")
    assert [r["reason"] for r in store.rejections()] == ["replayed delivery: event 01A was already received"]


def test_unsigned_malformed_and_oversized_bodies_are_refused(inbox: tuple[str, IncidentStore]) -> None:
    url, store = inbox
    body = json.dumps(event()).encode()
    assert post(url, body, None).status_code == 401
    garbage = b"{not json"
    assert post(url, garbage, sign(garbage, "new-secret")).status_code == 400
    odd = json.dumps({"messages": []}).encode()
    assert post(url, odd, sign(odd, "new-secret")).status_code == 400
    big = b" " * 1_000_001
    assert post(url, big, sign(big, "new-secret")).status_code == 413
    assert requests.post(url.replace(PAGERDUTY_PATH, "/other"), data=body, timeout=10).status_code == 404
    reasons = [r["reason"] for r in store.rejections()]
    assert reasons[:3] == [
        "missing X-PagerDuty-Signature header",
        "body is not JSON",
        "body is not a v3 webhook event (event.id, event.event_type)",
    ]
    assert reasons[3].startswith("body length") and store.inbox_after(0) == []


def test_slo_webhooks_serve_command(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PAGERDUTY_WEBHOOK_SECRETS", None)
    missing = subprocess.run(
        [sys.executable, "-m", "slo_pipelines.cli", "webhooks", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert missing.returncode == 2 and missing.stderr.startswith(
        "slo: error: PAGERDUTY_WEBHOOK_SECRETS is not set"
    )
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "slo_pipelines.cli", "webhooks", "serve", "--port", "0", "--warehouse", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PAGERDUTY_WEBHOOK_SECRETS": "s1,s2"},
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        endpoint = line.split()[-1]
        body = json.dumps(event("01Z")).encode()
        assert post(endpoint, body, sign(body, "s2")).status_code == 202
        assert post(endpoint, body, sign(body, "nope")).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    store = IncidentStore(WarehouseResource(url=url))
    assert [r["delivery_id"] for r in store.inbox_after(0)] == ["01Z"]
    assert len(store.rejections()) == 1
