"""Polling PagerDuty (REST API v2) and Opsgenie (Incident API v1) for incidents.

PagerDuty: `GET /incidents?since=&until=&statuses[]=...&limit=100&offset=N&total=true`, paged with
`offset` until `more` is false. PagerDuty refuses `offset + limit` beyond 10,000, so a time range that
holds more incidents than that is cut in halves (recursively) and each half paged on its own.
Opsgenie: `GET /v1/incidents?query=...&offset=N&limit=100&sort=createdAt&order=asc`, paged until
`paging.next` is absent. Both use the shared retry policy (`http_retry`: 429 with Retry-After, 5xx,
network errors, garbage answers); other 4xx fail at once. A fetch either returns everything in the
range or raises `IncidentSourceError`: a partial answer is never passed on, so no partition is
marked done on a failed fetch. Credentials come only from the environment (`EnvVar`).
"""

import time
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import requests
from pydantic import Field

from slo_pipelines.catalog.incidents import Incident
from slo_pipelines.engine.incidents.sources import (
    ServiceMap,
    SourceRecordError,
    from_opsgenie,
    from_pagerduty,
)
from slo_pipelines.resources.http_retry import (
    RETRY_STATUSES,
    RetryableError,
    RetryPolicy,
    retry_after_seconds,
)
from slo_pipelines.resources.settings import configured

PAGERDUTY_MAX_OFFSET = 10_000
PAGERDUTY_STATUSES = ("triggered", "acknowledged", "resolved")


class IncidentSourceError(RuntimeError):
    """The source could not be read completely; the message names the URL and what went wrong."""


@dataclass
class Polled:
    """Incident versions read from a source, and the records that could not be read (with why)."""

    incidents: list[Incident] = field(default_factory=list)
    rejected: list[tuple[Any, str]] = field(default_factory=list)
    priorities: dict[str, str | None] = field(default_factory=dict)
    requests_made: int = 0


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return f" (body: {flat[:120]}{'…' if len(flat) > 120 else ''})" if flat else ""


class _PollingSource(dg.ConfigurableResource):
    base_url: str
    timeout_seconds: float = Field(default=10.0, gt=0)
    attempts: int = Field(default=5, ge=1, description="Tries per request on 429, 5xx, network errors.")
    backoff_seconds: float = Field(default=1.0, ge=0, description="First retry delay; doubles each retry.")
    max_backoff_seconds: float = Field(
        default=60.0, ge=0, description="Cap on one delay, Retry-After included."
    )
    page_limit: int = Field(
        default=100, ge=1, le=100, description="Items per page (the APIs' maximum is 100)."
    )

    @abstractmethod
    def _headers(self) -> dict[str, str]:
        """The request headers with the source's credentials; IncidentSourceError when they are unset."""

    @abstractmethod
    def fetch(
        self, since: int, until: int, sleep: Callable[[float], None] = time.sleep
    ) -> tuple[list[Any], int]:
        """Every raw record created in `[since, until)` and the number of requests made."""

    @abstractmethod
    def _incident(self, item: Any, services: ServiceMap) -> Incident:
        """One raw record as an Incident; SourceRecordError when it cannot be read."""

    @abstractmethod
    def _priority(self, item: Any) -> str | None:
        """The record's priority as the source gives it (P1..P5, or PagerDuty's urgency)."""

    def poll(
        self, since: int, until: int, services: ServiceMap, sleep: Callable[[float], None] = time.sleep
    ) -> Polled:
        """Incidents created in `[since, until)`; unreadable records are kept in `rejected` with why."""
        raw, made = self.fetch(since, until, sleep)
        out = Polled(requests_made=made)
        for item in raw:
            try:
                incident = self._incident(item, services)
            except SourceRecordError as exc:
                out.rejected.append((item, str(exc)))
                continue
            out.incidents.append(incident)
            out.priorities[incident.name] = self._priority(item)
        return out

    def _get(
        self,
        path: str,
        params: list[tuple[str, str]],
        check: Callable[[Any], bool],
        sleep: Callable[[float], None],
    ) -> tuple[Any, int]:
        """GET and parse JSON with retries; `check` says whether the JSON has the expected shape."""
        url = configured(self.base_url).rstrip("/") + path
        made = 0

        def once(attempt: int) -> Any:
            nonlocal made
            made = attempt
            try:
                response = requests.get(
                    url, params=params, headers=self._headers(), timeout=self.timeout_seconds
                )
            except requests.Timeout:
                raise RetryableError(f"no response within {self.timeout_seconds:g} s") from None
            except requests.ConnectionError as exc:
                raise RetryableError(f"cannot connect ({type(exc).__name__})") from None
            code = response.status_code
            if code in RETRY_STATUSES:
                raise RetryableError(f"HTTP {code}", code, retry_after_seconds(response.headers))
            if code >= 400:
                raise IncidentSourceError(f"GET {url}: HTTP {code}{_excerpt(response.text)} (not retried)")
            try:
                payload = response.json()
            except ValueError:
                raise RetryableError(
                    f"HTTP {code} but the body is not JSON{_excerpt(response.text)}"
                ) from None
            if not check(payload):
                raise RetryableError(f"HTTP {code} but an unexpected answer{_excerpt(response.text)}")
            return payload

        policy = RetryPolicy(self.attempts, self.backoff_seconds, self.max_backoff_seconds)
        try:
            return policy.run(once, sleep=sleep), made
        except RetryableError as exc:
            raise IncidentSourceError(f"GET {url}: {exc}; gave up after {made} attempts") from None


class PagerDutyIncidentSource(_PollingSource):
    """PagerDuty REST API v2 incidents. Set `api_token` with `dg.EnvVar("PAGERDUTY_API_TOKEN")`."""

    base_url: str = Field(default="https://api.pagerduty.com")
    api_token: str = Field(
        default="", description="REST API token; set it with dg.EnvVar('PAGERDUTY_API_TOKEN')."
    )
    statuses: list[str] = Field(default_factory=lambda: list(PAGERDUTY_STATUSES))
    max_offset: int = Field(default=PAGERDUTY_MAX_OFFSET, ge=1, description="PagerDuty's offset + limit cap.")

    def _headers(self) -> dict[str, str]:
        if not configured(self.api_token):
            raise IncidentSourceError(
                "PagerDutyIncidentSource.api_token: not set (EnvVar PAGERDUTY_API_TOKEN)"
            )
        return {
            "Authorization": f"Token token={configured(self.api_token)}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        }

    def fetch(
        self, since: int, until: int, sleep: Callable[[float], None] = time.sleep
    ) -> tuple[list[Any], int]:
        """Every incident created in `[since, until)` (raw JSON objects) and the number of requests made."""
        limit = self.page_limit
        found: dict[tuple[str, str], Any] = {}
        made = 0
        ranges = [(since, until)]
        while ranges:
            lo, hi = ranges.pop()
            offset = 0
            while True:
                if offset + limit > self.max_offset:
                    self._split(ranges, lo, hi)
                    break
                params = [
                    ("since", _iso(lo)),
                    ("until", _iso(hi)),
                    ("limit", str(limit)),
                    ("offset", str(offset)),
                ]
                params += [("statuses[]", s) for s in self.statuses]
                params += [("total", "true"), ("sort_by", "created_at:asc")]
                page, tries = self._get("/incidents", params, _pagerduty_page, sleep)
                made += tries
                total = page.get("total")
                if offset == 0 and isinstance(total, int) and total > self.max_offset:
                    self._split(ranges, lo, hi)  # cannot be paged to the end: narrow it first
                    break
                for item in page["incidents"]:
                    found[_identity(item)] = item
                if not page.get("more") or not page["incidents"]:
                    break
                offset += limit
        return list(found.values()), made

    def _split(self, ranges: list[tuple[int, int]], lo: int, hi: int) -> None:
        if hi - lo < 2:
            raise IncidentSourceError(
                f"PagerDuty: more than {self.max_offset} incidents created within one second at {_iso(lo)}"
            )
        mid = (lo + hi) // 2
        ranges.extend([(mid, hi), (lo, mid)])

    def _incident(self, item: Any, services: ServiceMap) -> Incident:
        return from_pagerduty(item, services)

    def _priority(self, item: Any) -> str | None:
        priority = item.get("priority") if isinstance(item.get("priority"), dict) else None
        found = (priority or {}).get("summary") or item.get("urgency")
        return None if found is None else str(found)


class OpsgenieIncidentSource(_PollingSource):
    """Opsgenie Incident API v1. Set `api_key` with `dg.EnvVar("OPSGENIE_API_KEY")`."""

    base_url: str = Field(default="https://api.opsgenie.com")
    api_key: str = Field(default="", description="API key; set it with dg.EnvVar('OPSGENIE_API_KEY').")

    def _headers(self) -> dict[str, str]:
        if not configured(self.api_key):
            raise IncidentSourceError("OpsgenieIncidentSource.api_key: not set (EnvVar OPSGENIE_API_KEY)")
        return {"Authorization": f"GenieKey {configured(self.api_key)}", "Accept": "application/json"}

    def fetch(
        self, since: int, until: int, sleep: Callable[[float], None] = time.sleep
    ) -> tuple[list[Any], int]:
        limit = self.page_limit
        query = f"createdAt>={since * 1000} AND createdAt<{until * 1000}"
        found: list[Any] = []
        made = offset = 0
        while True:
            params = [
                ("query", query),
                ("offset", str(offset)),
                ("limit", str(limit)),
                ("sort", "createdAt"),
                ("order", "asc"),
            ]
            page, tries = self._get("/v1/incidents", params, _opsgenie_page, sleep)
            made += tries
            found.extend(page["data"])
            paging = page.get("paging") if isinstance(page.get("paging"), dict) else {}
            if not paging.get("next") or not page["data"]:
                return found, made
            offset += limit

    def _incident(self, item: Any, services: ServiceMap) -> Incident:
        return from_opsgenie(item, services)

    def _priority(self, item: Any) -> str | None:
        found = item.get("priority")
        return None if found is None else str(found)


def _pagerduty_page(payload: Any) -> bool:
    return isinstance(payload, dict) and isinstance(payload.get("incidents"), list)


def _opsgenie_page(payload: Any) -> bool:
    return isinstance(payload, dict) and isinstance(payload.get("data"), list)


def _identity(item: Any) -> tuple[str, str]:
    """An incident version's identity across overlapping pages and ranges."""
    if isinstance(item, dict):
        return str(item.get("id")), str(item.get("updated_at"))
    return repr(item), ""


class IncidentPollingResource(dg.ConfigurableResource):
    """The incident sources the sensor polls; a source without credentials is off.

    In definitions: `pagerduty_api_token=dg.EnvVar("SLO_PAGERDUTY_API_TOKEN")`,
    `opsgenie_api_key=dg.EnvVar("SLO_OPSGENIE_API_KEY")`.
    """

    pagerduty_url: str = Field(default="https://api.pagerduty.com")
    pagerduty_api_token: str = Field(default="")
    opsgenie_url: str = Field(default="https://api.opsgenie.com")
    opsgenie_api_key: str = Field(default="")
    lookback_seconds: int = Field(
        default=7 * 86400,
        ge=0,
        description="Re-read incidents created this long before the last poll, for updates.",
    )
    attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=1.0, ge=0)

    def sources(self) -> list[PagerDutyIncidentSource | OpsgenieIncidentSource]:
        out: list[PagerDutyIncidentSource | OpsgenieIncidentSource] = []
        if configured(self.pagerduty_api_token):
            out.append(
                PagerDutyIncidentSource(
                    base_url=configured(self.pagerduty_url),
                    api_token=configured(self.pagerduty_api_token),
                    attempts=self.attempts,
                    backoff_seconds=self.backoff_seconds,
                )
            )
        if configured(self.opsgenie_api_key):
            out.append(
                OpsgenieIncidentSource(
                    base_url=configured(self.opsgenie_url),
                    api_key=configured(self.opsgenie_api_key),
                    attempts=self.attempts,
                    backoff_seconds=self.backoff_seconds,
                )
            )
        return out
