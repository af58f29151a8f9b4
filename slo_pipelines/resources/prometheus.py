"""Reading SLI data from Prometheus' HTTP API (`/api/v1/query`, `/api/v1/query_range`, `/api/v1/series`).

Long ranges are cut into chunks that keep every response under Prometheus' limit of 11,000 points per
series. Transient trouble (5xx, 429, timeouts, refused connections) is retried with exponential
backoff; a 4xx is the query's fault and fails at once. Every error names the query, so a one-line
message is enough to fix the catalog. Secrets never sit in config: the resource names the
environment variables that hold the bearer token, basic-auth credentials and extra headers.
"""

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import numpy as np
import requests
from pydantic import Field

from slo_pipelines.engine.common.redaction import redact, redact_url, url_secrets
from slo_pipelines.engine.sli.counters import CounterSeries
from slo_pipelines.resources.http_retry import (
    RETRY_STATUSES,
    RetryableError,
    RetryPolicy,
    retry_after_seconds,
)
from slo_pipelines.resources.settings import configured

MAX_POINTS_PER_SERIES = 11_000


class PrometheusError(RuntimeError):
    """A query that could not be answered; the message names the server and the query."""


@dataclass(frozen=True)
class ClientSettings:
    url: str
    timeout_seconds: float = 30.0
    max_retries: int = 4
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    max_points_per_series: int = MAX_POINTS_PER_SERIES
    min_scrape_interval_seconds: float = 1.0
    headers: Mapping[str, str] = field(default_factory=dict)
    basic_auth: tuple[str, str] | None = None


def parse_headers(text: str, source: str) -> dict[str, str]:
    """Extra headers as a JSON object or `Name: value` pairs separated by newlines or `;`."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PrometheusError(f"{source}: not a JSON object of headers ({exc.msg})") from None
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            raise PrometheusError(f"{source}: headers must map names to strings")
        return {str(k): v for k, v in parsed.items()}
    headers: dict[str, str] = {}
    for part in text.replace("\n", ";").split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition(":")
        if not sep or not name.strip():
            # the malformed part may be a token pasted without its name: never echo it
            raise PrometheusError(
                f"{source}: expected 'Name: value' pairs separated by ';' (a part of "
                f"{len(part.strip())} characters has no ':'; value not shown)"
            )
        headers[name.strip()] = value.strip()
    return headers


def auth_from_env(
    environ: Mapping[str, str],
    bearer_token_env: str | None,
    username_env: str | None,
    password_env: str | None,
    headers_env: str | None,
) -> tuple[dict[str, str], tuple[str, str] | None]:
    """Headers and basic-auth credentials from the named environment variables (unset ones are skipped)."""
    headers: dict[str, str] = {}
    if headers_env and environ.get(headers_env):
        headers.update(parse_headers(environ[headers_env], headers_env))
    token = environ.get(bearer_token_env or "", "").strip() if bearer_token_env else ""
    user = environ.get(username_env or "", "") if username_env else ""
    password = environ.get(password_env or "", "") if password_env else ""
    if token and user:
        raise PrometheusError(f"set either {bearer_token_env} or {username_env}, not both")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers, ((user, password) if user else None)


@dataclass(frozen=True)
class Series:
    """One series of a matrix result: labels, timestamps in ms, values (NaN kept)."""

    labels: dict[str, str]
    timestamps_ms: np.ndarray
    values: np.ndarray


def _series(item: Any, what: str) -> Series:
    try:
        labels = {str(k): str(v) for k, v in item["metric"].items()}
        pairs = item.get("values")
        if pairs is None:
            pairs = [item["value"]]
        ts = np.array([round(float(p[0]) * 1000) for p in pairs], dtype=np.int64)
        vs = np.array([float(p[1]) for p in pairs], dtype=np.float64)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise PrometheusError(f"{what}: unexpected result shape ({type(exc).__name__}: {exc})") from None
    return Series(labels, ts, vs)


def _duration(seconds: float) -> str:
    millis = round(seconds * 1000)
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


class PrometheusClient:
    """A small synchronous client; `warnings` collects every warning Prometheus attached to an answer."""

    def __init__(
        self,
        settings: ClientSettings,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if settings.max_points_per_series < 2:
            raise PrometheusError("max_points_per_series must be at least 2")
        self.settings = settings
        self.base = settings.url.rstrip("/")
        self.shown_base = redact_url(self.base)
        self._secrets = [
            *url_secrets(self.base),
            *settings.headers.values(),
            *(v.split(" ", 1)[1] for v in settings.headers.values() if " " in v),  # "Bearer <token>"
            *(settings.basic_auth[1:] if settings.basic_auth else ()),
        ]
        self.session = session or requests.Session()
        self.session.headers.update(dict(settings.headers))
        if settings.basic_auth is not None:
            self.session.auth = settings.basic_auth
        self._sleep = sleep
        self.warnings: list[str] = []
        self.requests_made = 0

    def redact(self, text: str) -> str:
        """`text` without this client's credentials (URL password, header values, basic-auth password)."""
        return redact(text, self._secrets)

    # -- transport ---------------------------------------------------------------------------------
    def _call(self, path: str, params: Mapping[str, str], query: str) -> Any:
        url = f"{self.base}{path}"
        what = f"Prometheus {self.shown_base}{path} query {query!r}"
        policy = RetryPolicy(
            self.settings.max_retries + 1, self.settings.backoff_seconds, self.settings.max_backoff_seconds
        )

        def once(_attempt: int) -> requests.Response:
            self.requests_made += 1
            timeout = self.settings.timeout_seconds
            try:
                response = self.session.post(url, data=dict(params), timeout=timeout)
            except requests.Timeout:
                raise RetryableError(f"timed out after {timeout:g}s") from None
            except requests.ConnectionError as exc:
                raise RetryableError(f"cannot connect ({type(exc).__name__})") from None
            except requests.RequestException as exc:
                raise PrometheusError(f"{what}: request failed: {self.redact(str(exc))}") from None
            code = response.status_code
            if code in RETRY_STATUSES:
                raise RetryableError(
                    f"HTTP {code}{self.redact(_reason(response))}",
                    code,
                    retry_after_seconds(response.headers),
                )
            if code >= 400:
                raise PrometheusError(f"{what}: HTTP {code}{self.redact(_reason(response))}")
            return response

        try:
            response = policy.run(once, sleep=self._sleep)
        except RetryableError as exc:
            raise PrometheusError(f"{what}: {exc} (gave up after {policy.attempts} attempts)") from None
        return self._payload(response, what)

    def _payload(self, response: requests.Response, what: str) -> Any:
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(f"{what}: response is not JSON (HTTP {response.status_code})") from None
        if not isinstance(body, dict):
            raise PrometheusError(f"{what}: response is not a JSON object")
        if body.get("status") != "success":
            raise PrometheusError(f"{what}: {body.get('errorType', 'error')}: {body.get('error', body)}")
        for warning in body.get("warnings") or []:
            self.warnings.append(f"{what}: {warning}")
        return body.get("data")

    # -- endpoints ---------------------------------------------------------------------------------
    def query(self, expr: str, at: float) -> tuple[str, list[Series]]:
        """An instant query: (resultType, series); a range-vector selector returns raw samples."""
        data = self._call("/api/v1/query", {"query": expr, "time": _ts(at)}, expr)
        return _result(data, f"query {expr!r}")

    def query_range(self, expr: str, start: int, end: int, step: int) -> list[Series]:
        """`expr` at `start, start+step, …, ≤ end`, one request per chunk of at most the points limit."""
        if step <= 0:
            raise PrometheusError(f"query {expr!r}: step must be positive (got {step})")
        span = (self.settings.max_points_per_series - 1) * step
        chunks: list[Series] = []
        lo = start
        while lo <= end:
            hi = min(lo + span, end - (end - lo) % step)
            params = {"query": expr, "start": _ts(lo), "end": _ts(hi), "step": _duration(step)}
            data = self._call("/api/v1/query_range", params, expr)
            kind, found = _result(data, f"query {expr!r}")
            if kind != "matrix":
                raise PrometheusError(f"query {expr!r}: expected a matrix from query_range (got {kind})")
            chunks.extend(found)
            lo = hi + step
        return _join(chunks)

    def raw_samples(self, selector: str, start: float, end: float) -> list[CounterSeries]:
        """Every stored sample of `selector` in `[start, end]`, read as `selector[range]` at chunk ends.

        A range-vector selector returns raw samples without step alignment or extrapolation; the
        range is cut so that even at the shortest expected scrape interval a chunk holds fewer points
        per series than Prometheus' limit.
        """
        span = (self.settings.max_points_per_series - 1) * self.settings.min_scrape_interval_seconds
        span = max(math.floor(span), 1)
        found: list[Series] = []
        at = start
        while at < end:
            at = min(at + span, end)
            expr = f"{selector}[{_duration(span)}]"
            kind, series = self.query(expr, at)
            if kind != "matrix":
                raise PrometheusError(
                    f"query {expr!r}: expected a matrix (got {kind}); is it a series selector?"
                )
            found.extend(series)
        return [CounterSeries(s.labels, s.timestamps_ms, s.values) for s in _join(found)]

    def series(self, match: str, start: float, end: float) -> list[dict[str, str]]:
        """Label sets of the series `match` selects in `[start, end]`."""
        data = self._call("/api/v1/series", {"match[]": match, "start": _ts(start), "end": _ts(end)}, match)
        if not isinstance(data, list):
            raise PrometheusError(f"series {match!r}: expected a list of label sets")
        return [{str(k): str(v) for k, v in item.items()} for item in data if isinstance(item, dict)]


def _reason(response: requests.Response) -> str:
    """Prometheus' own `errorType: error` when the body carries one, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().splitlines()
        return f": {text[0][:200]}" if text else ""
    if isinstance(body, dict) and body.get("error"):
        return f": {body.get('errorType', 'error')}: {body['error']}"
    return ""


def _ts(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def _result(data: Any, what: str) -> tuple[str, list[Series]]:
    if not isinstance(data, dict) or "resultType" not in data:
        raise PrometheusError(f"{what}: response has no resultType")
    kind = str(data["resultType"])
    result = data.get("result")
    if kind in ("scalar", "string"):
        return kind, []
    if not isinstance(result, list):
        raise PrometheusError(f"{what}: result is not a list")
    return kind, [_series(item, what) for item in result]


def _join(parts: list[Series]) -> list[Series]:
    """Chunks of the same series as one, in time order, without samples read twice at chunk edges."""
    grouped: dict[tuple[tuple[str, str], ...], list[Series]] = {}
    for part in parts:
        grouped.setdefault(tuple(sorted(part.labels.items())), []).append(part)
    joined: list[Series] = []
    for key, group in grouped.items():
        ts = np.concatenate([g.timestamps_ms for g in group])
        vs = np.concatenate([g.values for g in group])
        order = np.argsort(ts, kind="stable")
        ts, vs = ts[order], vs[order]
        keep = np.ones(len(ts), dtype=bool)
        keep[1:] = ts[1:] != ts[:-1]
        joined.append(Series(dict(key), ts[keep], vs[keep]))
    return joined


class PrometheusResource(dg.ConfigurableResource):
    """Prometheus (or a compatible API: Thanos, Mimir, VictoriaMetrics) for SLI ingestion.

    Credentials come from environment variables whose *names* are configured here, so no secret
    reaches the Dagster UI or run config; the URL itself may be given as `dg.EnvVar("...")`.
    """

    url: str = Field(
        default="",
        description="Base URL, e.g. http://prometheus:9090 (no /api/v1); empty: each DataSource's own URL.",
    )
    ingest: bool = Field(
        default=False, description="Pull the catalog's Prometheus-fed SLOs in every sli_buckets run."
    )
    timeout_seconds: float = Field(default=30.0, description="Per-request timeout.")
    max_retries: int = Field(default=4, description="Retries after 5xx, 429, timeouts, refused connections.")
    backoff_seconds: float = Field(default=0.5, description="First retry delay; doubles per retry.")
    min_scrape_interval_seconds: float = Field(
        default=1.0,
        description="Shortest scrape interval of any queried series; sizes raw-sample chunks.",
    )
    max_points_per_series: int = Field(default=MAX_POINTS_PER_SERIES, description="Points limit per series.")
    bearer_token_env: str | None = Field(
        default="SLO_PROMETHEUS_BEARER_TOKEN", description="Env var holding a bearer token."
    )
    username_env: str | None = Field(
        default="SLO_PROMETHEUS_USERNAME", description="Env var holding the basic-auth user."
    )
    password_env: str | None = Field(
        default="SLO_PROMETHEUS_PASSWORD", description="Env var holding the basic-auth password."
    )
    headers_env: str | None = Field(
        default="SLO_PROMETHEUS_HEADERS",
        description="Env var holding extra headers: JSON object or 'Name: value; Name: value'.",
    )

    def make_client(self, url: str) -> "PrometheusClient":
        """A client for `url` with this resource's timeouts, retries and credentials."""
        return PrometheusClient(dataclasses.replace(self.settings(), url=url))

    def settings(self, environ: Mapping[str, str] | None = None) -> ClientSettings:
        headers, basic = auth_from_env(
            os.environ if environ is None else environ,
            self.bearer_token_env,
            self.username_env,
            self.password_env,
            self.headers_env,
        )
        return ClientSettings(
            url=configured(self.url),
            timeout_seconds=self.timeout_seconds,
            max_retries=self.max_retries,
            backoff_seconds=self.backoff_seconds,
            max_points_per_series=self.max_points_per_series,
            min_scrape_interval_seconds=self.min_scrape_interval_seconds,
            headers=headers,
            basic_auth=basic,
        )

    def get_client(self, environ: Mapping[str, str] | None = None) -> PrometheusClient:
        return PrometheusClient(self.settings(environ))
