"""Deliver burn-rate notifications to PagerDuty (Events API v2) or Opsgenie (Alert API v2).

One `Notifier` interface, so the Opsgenie APIs' end (2027-04-05) is a configuration change. A notifier
never raises for a delivery problem: every notification ends as a `DeliveryRecord` (delivered, failed
with the reason, or suppressed) that the caller stores; failed ones stay owed and are retried on the next
run (`engine.notification_log.owed_notifications`). Within one call, 429, 5xx, network errors and
garbled answers are retried by the shared `http_retry.RetryPolicy` (exponential backoff, Retry-After
honoured) — safe because the dedup key / alias makes a repeated request idempotent at the provider.
Other 4xx are not retried: the request itself is wrong.
"""

import json
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import dagster as dg
import requests
from pydantic import Field

from slo_pipelines.engine.alerting.notification_log import DeliveryRecord, Owed, suppressed_record
from slo_pipelines.engine.alerting.payloads import Decision, Notification
from slo_pipelines.resources.http_retry import (
    RETRY_STATUSES,
    RetryableError,
    RetryPolicy,
    retry_after_seconds,
)
from slo_pipelines.resources.settings import configured

OPSGENIE_MESSAGE_MAX = 130
OPSGENIE_SOURCE_MAX = 100
OPSGENIE_DESCRIPTION_MAX = 15000
OPSGENIE_TAG_MAX = 50
# PagerDuty severity (PROVIDER_SEVERITY) → Opsgenie priority
OPSGENIE_PRIORITY = {"critical": "P1", "error": "P2", "warning": "P3", "info": "P5"}


class NotifierError(RuntimeError):
    """A notification could not be delivered; the message names the endpoint and what was wrong."""


class _Retryable(RetryableError, NotifierError):
    """A failure worth another attempt (throttled, server error, network, garbled answer)."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any]


class Notifier(dg.ConfigurableResource, ABC):
    """Base of the notification providers. Subclasses build the request and check the answer."""

    base_url: str = Field(description="Provider API root; tests point it at 127.0.0.1.")
    timeout_seconds: float = Field(default=10.0, gt=0)
    attempts: int = Field(
        default=4, ge=1, description="Tries per notification on 429, 5xx and network errors."
    )
    backoff_seconds: float = Field(default=1.0, ge=0, description="First retry delay; doubles each retry.")
    max_backoff_seconds: float = Field(
        default=30.0, ge=0, description="Cap on one delay, Retry-After included."
    )

    @abstractmethod
    def provider(self) -> str:
        """Name stored in the delivery log (pagerduty | opsgenie)."""

    @abstractmethod
    def build_request(self, notification: Notification) -> HttpRequest:
        """The provider's HTTP request for `notification`; raises NotifierError when misconfigured."""

    @abstractmethod
    def accepted(self, payload: Any, url: str) -> str:
        """Check a 2xx answer and return the provider's reference; raise _Retryable when it makes no sense."""

    # ---- delivery ------------------------------------------------------------------------------

    def send(self, notification: Notification, now: int | None = None) -> DeliveryRecord:
        """Deliver one notification with retries; the outcome, never an exception."""
        attempted_at = int(time.time()) if now is None else now
        record = _Recorder(self.provider(), notification, attempted_at)
        try:
            request = self.build_request(notification)
        except NotifierError as exc:
            return record.failed(str(exc), 0)
        made = 0

        def once(attempt: int) -> tuple[int, str]:
            nonlocal made
            made = attempt
            return self._attempt(request)

        try:
            code, reference = self.retry_policy().run(once)
        except _Retryable as exc:
            return record.failed(f"{exc}; gave up after {made} attempts", made, exc.status)
        except NotifierError as exc:
            return record.failed(str(exc), made, _status_of(exc))
        return record.delivered(made, code, reference)

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.attempts, self.backoff_seconds, self.max_backoff_seconds)

    def suppress(
        self, notification: Notification, decision: Decision, now: int | None = None
    ) -> DeliveryRecord:
        """The record of a notification a gate held back; nothing is sent."""
        attempted_at = int(time.time()) if now is None else now
        return _Recorder(self.provider(), notification, attempted_at).suppressed(decision)

    def deliver(
        self,
        owed: Sequence[Owed],
        prepare: Callable[[Owed], tuple[Notification, Decision]],
        now: int | None = None,
    ) -> list[DeliveryRecord]:
        """Work through `owed` in order: record suppressions, send the rest, one record each.

        `prepare` builds the notification and its gate decision (the caller has the budget context).
        A resolve goes out only for a trigger that was sent: when its trigger failed in this same call
        it is held back (failed, so still owed); when the gate suppressed its trigger in this call, the
        resolve is recorded as suppressed too (`trigger_not_delivered`), never sent.
        """
        attempted_at = int(time.time()) if now is None else now
        records: list[DeliveryRecord] = []
        trigger_outcomes: dict[tuple[str, int], str] = {}
        for item in owed:
            if not item.send:
                records.append(suppressed_record(item, self.provider(), item.rule, item.reason, attempted_at))
                if item.action == "trigger":
                    trigger_outcomes[(item.dedup_key, item.event.started_at)] = "suppressed"
                continue
            earlier = trigger_outcomes.get((item.dedup_key, item.event.started_at))
            if item.needs_trigger and earlier == "suppressed":
                records.append(
                    suppressed_record(
                        item,
                        self.provider(),
                        "trigger_not_delivered",
                        "its trigger was suppressed",
                        attempted_at,
                    )
                )
                continue
            if item.needs_trigger and earlier != "delivered":
                records.append(
                    _Recorder.for_owed(self.provider(), item, attempted_at).failed(
                        "its trigger was not delivered yet; resolve held back", 0
                    )
                )
                continue
            notification, decision = prepare(item)
            record = (
                self.send(notification, attempted_at)
                if decision.send
                else self.suppress(notification, decision, attempted_at)
            )
            if item.action == "trigger":
                trigger_outcomes[(item.dedup_key, item.event.started_at)] = record.outcome
            records.append(record)
        return records

    def _attempt(self, request: HttpRequest) -> tuple[int, str]:
        where = f"{request.method} {request.url}"
        try:
            response = requests.request(
                request.method,
                request.url,
                json=request.body,
                headers=request.headers,
                timeout=self.timeout_seconds,
            )
        except requests.Timeout:
            raise _Retryable(f"{where}: no response within {self.timeout_seconds:g} s") from None
        except requests.ConnectionError as exc:
            raise _Retryable(f"{where}: cannot connect ({type(exc).__name__})") from None
        code = response.status_code
        if code in RETRY_STATUSES:
            raise _Retryable(
                f"{where}: HTTP {code}{_excerpt(response.text)}", code, retry_after_seconds(response.headers)
            )
        if code >= 400 or code < 200:
            raise _HttpError(f"{where}: HTTP {code}{_excerpt(response.text)} (not retried)", code)
        try:
            payload = response.json()
        except ValueError:
            raise _Retryable(
                f"{where}: HTTP {code} but the body is not JSON{_excerpt(response.text)}", code
            ) from None
        return code, self.accepted(payload, where)


class PagerDutyNotifier(Notifier):
    """Events API v2: `POST {base_url}/v2/enqueue`, grouped by `dedup_key`, resolved by the same key."""

    base_url: str = Field(default="https://events.pagerduty.com")
    routing_key: str = Field(
        default="", description="Integration (routing) key; set it with dg.EnvVar('PAGERDUTY_ROUTING_KEY')."
    )
    routing_key_env: str = Field(
        default="PAGERDUTY_ROUTING_KEY", description="Env var read at send time when routing_key is empty."
    )
    client: str = Field(default="slo-pipelines", description="Shown in PagerDuty as the alert's client.")

    def provider(self) -> str:
        return "pagerduty"

    def build_request(self, notification: Notification) -> HttpRequest:
        key = configured(self.routing_key) or os.environ.get(self.routing_key_env, "")
        if not key:
            raise NotifierError(
                f"PagerDutyNotifier.routing_key: empty (set it with dg.EnvVar or the {self.routing_key_env} "
                "environment variable)"
            )
        body: dict[str, Any] = {
            "routing_key": key,
            "event_action": notification.action,
            "dedup_key": notification.dedup_key,
        }
        if notification.action == "trigger":
            body["payload"] = {
                "summary": notification.summary,
                "source": notification.source,
                "severity": notification.severity,
                "timestamp": notification.details["started_at"],
                "component": notification.slo,
                "group": notification.service,
                "class": f"slo-burn-rate-{notification.alert_severity}",
                "custom_details": notification.details,
            }
            body["client"] = self.client
            if notification.links.dashboard_url:
                body["client_url"] = notification.links.dashboard_url
            links = [
                {"href": url, "text": text}
                for url, text in (
                    (notification.links.runbook_url, "Runbook"),
                    (notification.links.dashboard_url, "Dashboard"),
                )
                if url
            ]
            if links:
                body["links"] = links
        root = _root(configured(self.base_url), "PagerDutyNotifier")
        return HttpRequest("POST", root + "/v2/enqueue", {}, body)

    def accepted(self, payload: Any, url: str) -> str:
        if not isinstance(payload, dict) or payload.get("status") != "success":
            raise _Retryable(f"{url}: unexpected answer {_excerpt_json(payload)}")
        return str(payload.get("dedup_key") or "")


class OpsgenieNotifier(Notifier):
    """Alert API v2: create with `POST /v2/alerts` keyed by alias, close with `/v2/alerts/{alias}/close`."""

    base_url: str = Field(
        default="https://api.opsgenie.com", description="EU accounts: https://api.eu.opsgenie.com"
    )
    api_key: str = Field(
        default="", description="API integration key; set it with dg.EnvVar('OPSGENIE_API_KEY')."
    )
    api_key_env: str = Field(default="OPSGENIE_API_KEY", description="Env var read when api_key is empty.")

    def provider(self) -> str:
        return "opsgenie"

    def build_request(self, notification: Notification) -> HttpRequest:
        key = configured(self.api_key) or os.environ.get(self.api_key_env, "")
        if not key:
            raise NotifierError(
                f"OpsgenieNotifier.api_key: empty (set it with dg.EnvVar or the {self.api_key_env} "
                "environment variable)"
            )
        headers = {"Authorization": f"GenieKey {key}"}
        root = _root(configured(self.base_url), "OpsgenieNotifier")
        source = notification.source[:OPSGENIE_SOURCE_MAX]
        if notification.action == "resolve":
            url = f"{root}/v2/alerts/{quote(notification.dedup_key, safe='')}/close?identifierType=alias"
            return HttpRequest("POST", url, headers, {"source": source, "note": notification.summary})
        body = {
            "message": _clip(notification.summary, OPSGENIE_MESSAGE_MAX),
            "alias": notification.dedup_key,
            "description": _clip(_description(notification), OPSGENIE_DESCRIPTION_MAX),
            "priority": OPSGENIE_PRIORITY[notification.severity],
            "source": source,
            "entity": notification.service,
            "tags": [
                _clip(tag, OPSGENIE_TAG_MAX)
                for tag in (
                    "slo-pipelines",
                    notification.alert_severity,
                    notification.slo,
                    notification.service,
                )
            ],
            "details": flatten_details(notification.details),
        }
        return HttpRequest("POST", f"{root}/v2/alerts", headers, body)

    def accepted(self, payload: Any, url: str) -> str:
        if not isinstance(payload, dict) or not isinstance(payload.get("requestId"), str):
            raise _Retryable(f"{url}: unexpected answer {_excerpt_json(payload)}")
        return str(payload["requestId"])


def flatten_details(details: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Opsgenie details are a flat string→string map (it refuses nested objects): dotted keys, null as n/a."""
    out: dict[str, str] = {}
    for key, value in details.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten_details(value, f"{name}."))
        elif value is None:
            out[name] = "n/a"
        elif isinstance(value, float):
            out[name] = f"{value:.6g}"
        else:
            out[name] = str(value)
    return out


# ---- helpers ---------------------------------------------------------------------------------------


class _HttpError(NotifierError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class _Recorder:
    def __init__(self, provider: str, notification: Notification | None, attempted_at: int) -> None:
        self.provider = provider
        self.n = notification
        self.at = attempted_at
        self.identity: dict[str, Any] = (
            {
                "dedup_key": notification.dedup_key,
                "started_at": notification.started_at,
                "action": notification.action,
                "slo": notification.slo,
                "objective": notification.objective,
                "severity": notification.alert_severity,
            }
            if notification
            else {}
        )

    @classmethod
    def for_owed(cls, provider: str, owed: Owed, attempted_at: int) -> "_Recorder":
        recorder = cls(provider, None, attempted_at)
        recorder.identity = {
            "dedup_key": owed.dedup_key,
            "started_at": owed.event.started_at,
            "action": owed.action,
            "slo": owed.event.slo,
            "objective": owed.event.objective,
            "severity": owed.event.severity,
        }
        return recorder

    def delivered(self, attempts: int, status: int, reference: str) -> DeliveryRecord:
        return DeliveryRecord(
            provider=self.provider,
            outcome="delivered",
            attempted_at=self.at,
            attempts=attempts,
            status_code=status,
            provider_reference=reference,
            **self.identity,
        )

    def failed(self, reason: str, attempts: int, status: int | None = None) -> DeliveryRecord:
        return DeliveryRecord(
            provider=self.provider,
            outcome="failed",
            attempted_at=self.at,
            attempts=attempts,
            reason=reason,
            status_code=status,
            **self.identity,
        )

    def suppressed(self, decision: Decision) -> DeliveryRecord:
        return DeliveryRecord(
            provider=self.provider,
            outcome="suppressed",
            attempted_at=self.at,
            reason=decision.reason,
            rule=decision.rule,
            **self.identity,
        )


def _status_of(exc: NotifierError) -> int | None:
    return getattr(exc, "status", None)


def _root(base_url: str, owner: str) -> str:
    base = base_url.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise NotifierError(f"{owner}.base_url: must be an http(s) URL (got {base_url!r})")
    return base


def _description(notification: Notification) -> str:
    lines = [notification.summary, ""]
    if notification.links.runbook_url:
        lines.append(f"Runbook: {notification.links.runbook_url}")
    if notification.links.dashboard_url:
        lines.append(f"Dashboard: {notification.links.dashboard_url}")
    return "\n".join(lines).rstrip()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    if not flat:
        return ""
    return f" (body: {flat[:200]}{'…' if len(flat) > 200 else ''})"


def _excerpt_json(payload: Any) -> str:
    return _excerpt(json.dumps(payload, default=str)).strip() or "(empty body)"
