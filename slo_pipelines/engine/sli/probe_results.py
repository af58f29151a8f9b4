"""Judging synthetic probe responses and turning transaction outcomes into SLI buckets.

One transaction is one event: it is good only when every step returned what it promised within its
latency budget. A transaction run at instant `t` lands in the bucket containing `t`, so several
probes feeding the same SLO in the same minute add up to that minute's good/total.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from slo_pipelines.catalog.fields import show
from slo_pipelines.catalog.models import DEFAULT_BUCKET_SECONDS
from slo_pipelines.catalog.probes import ProbeStep, fill_templates, resolve_json_path

BUCKET_COLUMNS = ["slo", "start", "good", "total"]
_REASON_BODY_CHARS = 120


@dataclass(frozen=True)
class StepOutcome:
    name: str
    passed: bool
    status: int | None = None
    latency_ms: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ProbeOutcome:
    probe: str
    slo: str
    started_at: float
    steps: tuple[StepOutcome, ...]
    latency_ms: float
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "passed", bool(self.steps) and all(step.passed for step in self.steps))

    @property
    def failing_step(self) -> StepOutcome | None:
        return next((step for step in self.steps if not step.passed), None)

    def summary(self) -> dict[str, Any]:
        """What an operator needs on the asset page: verdict, time spent, and where it broke."""
        failing = self.failing_step
        return {
            "slo": self.slo,
            "passed": self.passed,
            "latency_ms": round(self.latency_ms, 1),
            "failing_step": failing.name if failing else None,
            "reason": failing.reason if failing else None,
        }


@dataclass(frozen=True)
class StepVerdict:
    reason: str | None
    captured: dict[str, str]


def judge_response(
    step: ProbeStep, status: int, body: str, latency_ms: float, variables: dict[str, str] | None = None
) -> StepVerdict:
    """The first unmet expectation (status, body text, JSON values, captures, then latency), if any.

    `variables` are the values captured by earlier steps, filled into `bodyContains` and `jsonPath`.
    """
    expect = step.expect
    filled = variables or {}
    if status not in expect.statuses:
        wanted = " or ".join(str(s) for s in expect.statuses)
        return StepVerdict(f"status {status}, expected {wanted}{_excerpt(body)}", {})
    for needle in fill_templates(list(expect.body_contains), filled):
        if needle not in body:
            return StepVerdict(f"body does not contain {show(needle)}{_excerpt(body)}", {})
    needs_json = bool(expect.json_paths or step.capture)
    document: Any = None
    if needs_json:
        try:
            document = json.loads(body)
        except ValueError:
            return StepVerdict(f"body is not JSON, so its values cannot be checked{_excerpt(body)}", {})
    for check in expect.json_paths:
        found, actual = resolve_json_path(document, check.path)
        expected = fill_templates(check.expected, filled)
        if not found:
            return StepVerdict(f"{check.text} is missing from the body", {})
        if actual != expected or isinstance(actual, bool) != isinstance(expected, bool):
            return StepVerdict(f"{check.text} is {_json(actual)}, expected {_json(expected)}", {})
    captured: dict[str, str] = {}
    for variable, (text, path) in step.capture.items():
        found, value = resolve_json_path(document, path)
        if not found or value is None or isinstance(value, dict | list):
            return StepVerdict(f"capture {variable}: {text} is not a scalar in the body", {})
        captured[variable] = value if isinstance(value, str) else _json(value)
    if latency_ms > step.latency_budget_ms:
        return StepVerdict(
            f"took {latency_ms:.0f} ms, over the {step.latency_budget_ms:g} ms budget", captured
        )
    return StepVerdict(None, captured)


def probe_buckets(
    outcomes: Iterable[ProbeOutcome], bucket_seconds: int = DEFAULT_BUCKET_SECONDS
) -> pd.DataFrame:
    """Samples-format buckets (slo, start, good, total): one event per transaction, summed per bucket."""
    rows = [
        (o.slo, int(o.started_at // bucket_seconds) * bucket_seconds, 1.0 if o.passed else 0.0, 1.0)
        for o in outcomes
    ]
    if not rows:
        return pd.DataFrame(
            {
                "slo": pd.Series(dtype="object"),
                "start": pd.Series(dtype="int64"),
                "good": pd.Series(dtype="float64"),
                "total": pd.Series(dtype="float64"),
            }
        )
    frame = pd.DataFrame(rows, columns=BUCKET_COLUMNS)
    summed = frame.groupby(["slo", "start"], as_index=False, sort=True)[["good", "total"]].sum()
    summed["start"] = summed["start"].astype("int64")
    return summed.reset_index(drop=True)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _excerpt(body: str) -> str:
    text = " ".join(body.split())
    if not text:
        return ""
    if len(text) > _REASON_BODY_CHARS:
        text = text[:_REASON_BODY_CHARS] + "…"
    return f" (body: {text})"
