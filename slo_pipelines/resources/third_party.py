"""Adapters for third-party services that publish their state but no metrics.

Every adapter is a `ThirdPartyStatusAdapter`: a Dagster resource that answers one question,
"for which minutes of `[since, until)` can you say whether the service was up?", as a list of
`StatusObservation`s. `buckets()` turns those into samples-format SLI buckets for the SLO named by
`slo`, so an adapter's output is stored and evaluated like any other SLI source. See
docs/third-party-adapters.md for how to write another adapter.

`StatusPageAdapter` reads a Statuspage-style public API (`/api/v2/components.json` for one named
component, `/api/v2/status.json` for the page as a whole).
"""

import time
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

import dagster as dg
import pandas as pd
import requests
from pydantic import Field

from slo_pipelines.engine.sli.status_minutes import StatusObservation, observed_minutes, status_buckets
from slo_pipelines.resources.http_retry import (
    RETRY_STATUSES,
    RetryableError,
    RetryPolicy,
    retry_after_seconds,
)
from slo_pipelines.resources.settings import configured

COMPONENT_STATUSES = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)
PAGE_INDICATORS = ("none", "minor", "major", "critical", "maintenance")
NO_VERDICT = ("under_maintenance", "maintenance")
"""Planned maintenance is neither good nor bad here; exclusions in the catalog decide how it counts."""


class ThirdPartyStatusError(RuntimeError):
    """The source could not be read or made no sense; the message names the URL and what was wrong."""


class ThirdPartyStatusAdapter(dg.ConfigurableResource, ABC):
    """Base class of third-party status sources. Subclasses implement `observe` and nothing else."""

    slo: str = Field(description="The SLO whose buckets this source feeds.")

    @abstractmethod
    def observe(self, since: int, until: int) -> list[StatusObservation]:
        """Minutes (epoch-aligned starts in `[since, until)`) the source can vouch for, up or down.

        Leave out minutes you cannot vouch for; raise `ThirdPartyStatusError` when the source cannot
        be read, rather than returning an empty list that would look like "no data".
        """

    def buckets(self, since: int, until: int) -> pd.DataFrame:
        """Samples-format buckets (slo, start, good, total) of `observe(since, until)`."""
        return status_buckets(self.observe(since, until), self.slo)


class StatusPageAdapter(ThirdPartyStatusAdapter):
    """Polls a Statuspage-style page and maps one component's status (or the page's) to good/bad minutes.

    A reading vouches for the whole minutes between the component's `updated_at` (its state has not
    changed since) and the moment of the poll, so polling every few minutes with `since` = the last
    poll leaves no gap except the minute in which the state changed.
    """

    page_url: str = Field(
        description="Root of the status page, e.g. https://status.example.com. Set it from an EnvVar "
        "when the page is private."
    )
    component: str = Field(
        default="",
        description="Component name or id in components.json; empty = the whole page (status.json).",
    )
    bad_statuses: list[str] = Field(
        default=["partial_outage", "major_outage"],
        description="Component statuses that make a minute bad; add degraded_performance to be stricter.",
    )
    bad_indicators: list[str] = Field(
        default=["major", "critical"], description="Page indicators that make a minute bad (page mode)."
    )
    timeout_seconds: float = Field(default=5.0, gt=0)
    attempts: int = Field(default=3, ge=1, description="Tries per request on 429, 5xx and network errors.")
    backoff_seconds: float = Field(default=0.5, ge=0, description="First retry delay; doubles each retry.")

    def observe(self, since: int, until: int) -> list[StatusObservation]:
        observed_at = time.time()
        if self.component:
            status, changed = self._component_state()
            up = self._verdict(status, COMPONENT_STATUSES, self.bad_statuses, "bad_statuses")
        else:
            status, changed = self._page_state()
            up = self._verdict(status, PAGE_INDICATORS, self.bad_indicators, "bad_indicators")
        return [
            StatusObservation(minute, up, status)
            for minute in observed_minutes(since, until, changed, observed_at)
        ]

    # ---- reading the page ----------------------------------------------------------------------

    def _component_state(self) -> tuple[str, float]:
        url = self._url("/api/v2/components.json")
        payload = self._get_json(url)
        components = _field(payload, "components", list, url)
        matches = [
            c for c in components if isinstance(c, dict) and self.component in (c.get("id"), c.get("name"))
        ]
        if not matches:
            names = sorted(str(c.get("name")) for c in components if isinstance(c, dict))
            raise ThirdPartyStatusError(
                f"{url}: no component named {self.component!r} (components: {', '.join(names) or 'none'})"
            )
        if len(matches) > 1:
            ids = ", ".join(str(c.get("id")) for c in matches)
            raise ThirdPartyStatusError(
                f"{url}: {len(matches)} components are named {self.component!r}; use one id of: {ids}"
            )
        found = matches[0]
        where = f"{url} component {self.component!r}"
        return _field(found, "status", str, where), _instant(_field(found, "updated_at", str, where), where)

    def _page_state(self) -> tuple[str, float]:
        url = self._url("/api/v2/status.json")
        payload = self._get_json(url)
        status = _field(payload, "status", dict, url)
        page = _field(payload, "page", dict, url)
        indicator = _field(status, "indicator", str, f"{url} status")
        return indicator, _instant(_field(page, "updated_at", str, f"{url} page"), f"{url} page")

    def _verdict(self, status: str, known: tuple[str, ...], bad: list[str], setting: str) -> bool | None:
        unknown_bad = [s for s in bad if s not in known]
        if unknown_bad:
            raise ThirdPartyStatusError(
                f"StatusPageAdapter.{setting}: unknown value {unknown_bad[0]!r} (known: {', '.join(known)})"
            )
        if status not in known:
            raise ThirdPartyStatusError(
                f"{configured(self.page_url)}: unknown status {status!r} (known: {', '.join(known)})"
            )
        if status in NO_VERDICT:
            return None
        return status not in bad

    def _url(self, path: str) -> str:
        base = configured(self.page_url).strip().rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ThirdPartyStatusError(f"StatusPageAdapter.page_url: must be an http(s) URL (got {base!r})")
        return base + path

    def _get_json(self, url: str) -> Any:
        """GET with the shared retry policy (429, 5xx and network errors; never other 4xx), then JSON."""
        policy = RetryPolicy(self.attempts, self.backoff_seconds, max_backoff_seconds=60.0)

        def once(_attempt: int) -> requests.Response:
            try:
                response = requests.get(
                    url, timeout=self.timeout_seconds, headers={"Accept": "application/json"}
                )
            except requests.Timeout:
                raise RetryableError(f"no response within {self.timeout_seconds:g} s") from None
            except requests.ConnectionError as exc:
                raise RetryableError(f"cannot connect ({type(exc).__name__})") from None
            code = response.status_code
            if code in RETRY_STATUSES:
                raise RetryableError(f"HTTP {code}", code, retry_after_seconds(response.headers))
            if code >= 400:
                raise ThirdPartyStatusError(f"{url}: HTTP {code}{_excerpt(response.text)}")
            return response

        try:
            response = policy.run(once)
        except RetryableError as exc:
            raise ThirdPartyStatusError(f"{url}: {exc} after {self.attempts} attempts") from None
        try:
            return response.json()
        except ValueError:
            raise ThirdPartyStatusError(f"{url}: response is not JSON{_excerpt(response.text)}") from None


def _field(container: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(container, dict):
        raise ThirdPartyStatusError(f"{where}: expected a JSON object (got {type(container).__name__})")
    value = container.get(key)
    if not isinstance(value, kind):
        got = "nothing" if value is None else type(value).__name__
        raise ThirdPartyStatusError(f"{where}: field {key!r} must be a {kind.__name__} (got {got})")
    return value


def _instant(text: str, where: str) -> float:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ThirdPartyStatusError(f"{where}: updated_at is not an ISO 8601 time (got {text!r})") from None
    if parsed.tzinfo is None:
        raise ThirdPartyStatusError(f"{where}: updated_at has no UTC offset (got {text!r})")
    return parsed.timestamp()


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    if not flat:
        return ""
    return f" (body: {flat[:120]}{'…' if len(flat) > 120 else ''})"
