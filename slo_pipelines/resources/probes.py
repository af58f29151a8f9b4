"""Runs synthetic probe transactions over HTTP against a configured, non-production base URL.

A target that refuses connections, times out or answers garbage yields a bad transaction with the
reason recorded: an unreachable service is exactly what a probe exists to notice, so it never
crashes the run. A missing base URL is different: that is a configuration mistake, and counting it
as user-facing downtime would burn error budget for nothing, so it fails loudly instead.

Redirects are not followed: a 302 to a login page must fail a step that expects 200, not pass it.
Each transaction gets its own `requests.Session`, so cookies set by one step reach the next.
"""

import os
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import dagster as dg
import requests
from pydantic import Field

from slo_pipelines.catalog.probes import Probe, ProbeStep, fill_templates, load_probes
from slo_pipelines.engine.sli.probe_results import ProbeOutcome, StepOutcome, judge_response
from slo_pipelines.resources.settings import configured


class ProbeConfigError(ValueError):
    """The runner cannot know where to send a probe; the message names the probe and the setting."""


class ProbeRunnerResource(dg.ConfigurableResource):
    """Loads probe files from `probes_dir` and runs them against `base_url`.

    Set `base_url` from `EnvVar("SLO_PROBE_BASE_URL")` (a staging or canary host); a probe whose file
    names `baseUrlEnv` reads its base URL from that variable instead.
    """

    base_url: str = Field(
        default="",
        description="Base URL the probe paths are appended to, e.g. https://staging.example.com. "
        "Set it from EnvVar('SLO_PROBE_BASE_URL').",
    )
    probes_dir: str = Field(default="examples/probes", description="Directory of probe YAML files.")
    connect_timeout_seconds: float = Field(default=3.0, gt=0, description="TCP connect timeout per step.")
    read_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest wait for response bytes per step."
    )

    def load(self) -> list[Probe]:
        """Every probe in `probes_dir`; raises `CatalogError` listing every problem."""
        return load_probes(configured(self.probes_dir))

    def base_url_for(self, probe: Probe) -> str:
        """The probe's own environment variable when it names one, else the runner's `base_url`."""
        if probe.base_url_env:
            url = os.environ.get(probe.base_url_env, "").strip()
            origin = f"environment variable {probe.base_url_env} (baseUrlEnv of {probe.file}[{probe.index}])"
        else:
            url = configured(self.base_url).strip()
            origin = "the probe runner's base_url (SLO_PROBE_BASE_URL)"
        if not url:
            raise ProbeConfigError(f"probe {probe.name}: no base URL: {origin} is not set")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ProbeConfigError(
                f"probe {probe.name}: {origin} must be an http(s) URL such as https://staging.example.com "
                f"(got {url!r})"
            )
        return url.rstrip("/")

    def run(self, probe: Probe, clock: Callable[[], float] = time.time) -> ProbeOutcome:
        """One transaction: steps in order, stopping at the first that fails."""
        base = self.base_url_for(probe)
        started_at = clock()
        outcomes: list[StepOutcome] = []
        variables: dict[str, str] = {}
        with requests.Session() as session:
            for step in probe.steps:
                outcome, captured = self._run_step(session, base, step, variables)
                outcomes.append(outcome)
                variables.update(captured)
                if not outcome.passed:
                    break
        spent = sum(o.latency_ms or 0.0 for o in outcomes)
        return ProbeOutcome(probe.name, probe.slo, started_at, tuple(outcomes), spent)

    def _run_step(
        self, session: requests.Session, base: str, step: ProbeStep, variables: dict[str, str]
    ) -> tuple[StepOutcome, dict[str, str]]:
        body = fill_templates(step.body, variables)
        began = time.perf_counter()
        try:
            response = session.request(
                step.method,
                base + fill_templates(step.path, variables),
                headers=fill_templates(step.headers, variables),
                json=body if isinstance(body, dict | list) else None,
                data=body.encode("utf-8") if isinstance(body, str) else None,
                timeout=(self.connect_timeout_seconds, self.read_timeout_seconds),
                allow_redirects=False,
            )
            text = response.text
        except requests.RequestException as exc:
            elapsed = (time.perf_counter() - began) * 1000
            return StepOutcome(step.name, False, None, elapsed, self._failure_reason(exc)), {}
        elapsed = (time.perf_counter() - began) * 1000
        verdict = judge_response(step, response.status_code, text, elapsed, variables)
        outcome = StepOutcome(
            step.name, verdict.reason is None, response.status_code, elapsed, verdict.reason
        )
        return outcome, verdict.captured

    def _failure_reason(self, exc: requests.RequestException) -> str:
        if isinstance(exc, requests.ConnectTimeout):
            return f"connect timeout: no connection within {self.connect_timeout_seconds:g} s"
        if isinstance(exc, requests.ReadTimeout):
            return f"read timeout: no response within {self.read_timeout_seconds:g} s"
        if isinstance(exc, requests.ConnectionError):
            return f"connection failed: {_root_cause(exc)}"
        return f"request failed: {_root_cause(exc)}"


def _root_cause(exc: BaseException) -> str:
    """The OS-level reason (e.g. 'Connection refused') buried under urllib3's wrappers."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return str(current.strerror)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(linked, BaseException):
                pending.append(linked)
    return " ".join(str(exc).split())[:200]
