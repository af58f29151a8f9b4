"""Request-log lines turned into SLI buckets under an `EdgeCasePolicy`, vectorised with pandas.

A log line is one attempt of one request. The policy decides which attempts count (final attempt or
every attempt), which outcomes are good, bad or excluded, and how sampled lines are re-weighted:
each counted line weighs `1 / sample_rate`, so the expected weighted count equals the true count and
the SLI stays unbiased. Counts are therefore fractional when the log is sampled (DESIGN.md §3).

Lines that cannot be judged are rejected with their line number, field, value and reason, never
dropped silently; whole-log problems (a missing column, sampled errors nobody declared) raise
`RequestLogError`, because no line of such a log can be trusted.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from slo_pipelines.catalog.edge_case_policy import SECONDS_PER_UNIT, EdgeCasePolicy
from slo_pipelines.catalog.models import SLO, ThresholdOp

REJECTED_COLUMNS = ("row_number", "slo", "field", "value", "reason")
BUCKET_COLUMNS = ("slo", "start", "good", "total", "bucket_seconds")
_OFFSET_RE = r"(?:Z|z|[+-]\d{2}:?\d{2})$"
_TRUE = frozenset({"true", "1", "1.0", "yes"})
_FALSE = frozenset({"false", "0", "0.0", "no", ""})
GOOD, BAD, EXCLUDED = 1, 0, -1


class RequestLogError(ValueError):
    """A whole-log problem; the message is one line fit for the user."""


@dataclass(frozen=True)
class LatencyThreshold:
    """A request is fast enough when `latency op value` holds, both in seconds."""

    op: ThresholdOp
    seconds: float
    origin: str  # where the threshold came from, for the printed summary

    def satisfied(self, latency_seconds: pd.Series) -> pd.Series:
        ops = {
            "lt": latency_seconds.lt,
            "lte": latency_seconds.le,
            "gt": latency_seconds.gt,
            "gte": latency_seconds.ge,
        }
        return ops[self.op](self.seconds)


@dataclass(frozen=True)
class LogTarget:
    """What one SLO needs from a log: its service, bucket size and, for latency SLOs, a threshold."""

    slo: str
    service: str
    bucket_seconds: int
    latency: LatencyThreshold | None = None

    def describe(self) -> str:
        if self.latency is None:
            return f"{self.slo}: availability (good = not 5xx, not timed out)"
        return (
            f"{self.slo}: latency (good = succeeded and latency {self.latency.op} "
            f"{self.latency.seconds:g} s, from {self.latency.origin})"
        )


@dataclass(frozen=True)
class LogCounts:
    buckets: pd.DataFrame  # slo, start, good, total, bucket_seconds
    rejected: pd.DataFrame  # row_number, slo, field, value, reason
    lines: int  # lines of the target's service
    counted: int  # lines that counted (after retries and exclusions), unweighted
    excluded: int  # lines excluded by the policy (client errors, partial responses)
    retries_dropped: int  # earlier attempts not counted under final_attempt


def log_target(slo: SLO, policy: EdgeCasePolicy) -> LogTarget:
    """How an SLO is fed from per-request lines; raises when its objectives cannot be fed that way."""
    ops = {(o.op, o.value) for o in slo.objectives if o.op is not None and o.value is not None}
    unit = policy.latency.objective_unit
    if slo.indicator is None:
        raise RequestLogError(
            f"SLO {slo.name!r}: a composite SLO (one indicator per objective) is not fed from request logs"
        )
    if slo.indicator.kind == "threshold":
        if slo.budgeting_method != "Occurrences":
            raise RequestLogError(
                f"SLO {slo.name!r}: a {slo.budgeting_method} thresholdMetric SLO judges one value per "
                "bucket (e.g. a p99), which per-request lines do not give; use Occurrences to count "
                "requests against the threshold"
            )
        if len(ops) != 1:
            shown = ", ".join(f"{op} {value:g}" for op, value in sorted(ops, key=str))
            raise RequestLogError(
                f"SLO {slo.name!r}: its objectives use different thresholds ({shown}) but the samples "
                "format carries one good count per bucket; give each threshold its own SLO"
            )
        (op, value), *_ = ops
        assert op is not None and value is not None
        origin = f"objective threshold {op} {value:g} {unit}"
        return LogTarget(
            slo.name,
            slo.service,
            slo.bucket_seconds,
            LatencyThreshold(op, value * SECONDS_PER_UNIT[unit], origin),
        )
    rule = policy.latency
    if rule.threshold_op is not None and rule.threshold_value is not None:
        origin = f"EdgeCasePolicy {policy.name} threshold {rule.threshold_op} {rule.threshold_value:g} {unit}"
        threshold = LatencyThreshold(rule.threshold_op, rule.threshold_value * SECONDS_PER_UNIT[unit], origin)
        return LogTarget(slo.name, slo.service, slo.bucket_seconds, threshold)
    return LogTarget(slo.name, slo.service, slo.bucket_seconds)


def _text(raw: pd.Series) -> pd.Series:
    return raw.astype("string").str.strip()


def _timestamps(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(epoch seconds, reason or '') for ISO 8601 with an offset or Unix seconds (fractions allowed)."""
    text = _text(raw)
    numeric = pd.to_numeric(text, errors="coerce").astype("float64")
    is_num = numeric.notna() & np.isfinite(numeric.fillna(0.0))
    iso = pd.to_datetime(text.where(~is_num), format="ISO8601", utc=True, errors="coerce")
    iso_seconds = (iso - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    seconds = pd.Series(np.where(is_num, numeric, iso_seconds), index=raw.index, dtype="float64")
    reason = pd.Series("", index=raw.index, dtype=object)
    missing = raw.isna() | (text.fillna("") == "")
    reason[missing] = "missing timestamp"
    reason[(reason == "") & ~is_num & iso.isna()] = "not an ISO 8601 timestamp or Unix seconds"
    has_offset = text.str.contains(_OFFSET_RE, regex=True, na=False)
    reason[(reason == "") & ~is_num & ~has_offset] = "timestamp has no UTC offset"
    return seconds, reason


def _flags(raw: pd.Series | None, index: pd.Index, name: str) -> tuple[pd.Series, pd.Series]:
    """A boolean field; absent or empty means false (most proxies only log the flag when it is set)."""
    reason = pd.Series("", index=index, dtype=object)
    if raw is None:
        return pd.Series(False, index=index), reason
    text = _text(raw).str.lower().fillna("")
    reason[~text.isin(_TRUE | _FALSE)] = f"{name} must be true or false"
    return text.isin(_TRUE), reason


def _rejection_frame(
    frame: pd.DataFrame, slo: str, field: pd.Series, shown: pd.Series, reason: pd.Series
) -> pd.DataFrame:
    bad = reason != ""
    return pd.DataFrame(
        {
            "row_number": frame.loc[bad, "row_number"].astype("int64").to_numpy(),
            "slo": slo,
            "field": field[bad].to_numpy(dtype=object),
            "value": shown[bad].to_numpy(dtype=object),
            "reason": reason[bad].to_numpy(dtype=object),
        },
        columns=list(REJECTED_COLUMNS),
    )


def empty_rejected() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="int64" if c == "row_number" else object) for c in REJECTED_COLUMNS}
    )


def _require(frame: pd.DataFrame, name: str, why: str) -> pd.Series:
    if name not in frame.columns:
        raise RequestLogError(f"the log has no {name!r} field ({why})")
    return frame[name]


def count_requests(frame: pd.DataFrame, target: LogTarget, policy: EdgeCasePolicy) -> LogCounts:
    """Per-bucket good/total for one SLO from raw log lines (strings or JSON values), plus rejections.

    `frame` holds one row per line with a `row_number` (its line in the file). When it has the
    policy's service field, only that service's lines count; otherwise every line belongs to the SLO.
    """
    names = policy.fields
    if "row_number" not in frame.columns:
        frame = frame.assign(row_number=np.arange(1, len(frame) + 1))
    if names.service in frame.columns:
        frame = frame[_text(frame[names.service]) == target.service]
    frame = frame.reset_index(drop=True)
    index = frame.index
    field = pd.Series("", index=index, dtype=object)
    reason = pd.Series("", index=index, dtype=object)
    shown = pd.Series("", index=index, dtype=object)

    def flag(mask: pd.Series, name: str, why: pd.Series | str, raw: pd.Series) -> None:
        m = mask & (reason == "")
        field[m] = name
        reason[m] = why[m] if isinstance(why, pd.Series) else why
        shown[m] = raw[m].astype("string").fillna("")

    ts_raw = _require(frame, names.timestamp, "every line needs its time")
    seconds, ts_reason = _timestamps(ts_raw)
    flag(ts_reason != "", names.timestamp, ts_reason, ts_raw)

    timeout, timeout_reason = _flags(frame.get(names.timeout), index, names.timeout)
    partial, partial_reason = _flags(frame.get(names.partial), index, names.partial)
    status_raw = _require(frame, names.status, "the HTTP status decides good and bad")
    status = pd.to_numeric(_text(status_raw), errors="coerce").astype("float64")
    status_missing = status_raw.isna() | (_text(status_raw).fillna("") == "")
    # a request cut off by a timeout often has no status (or 0); the timeout alone makes it bad
    flag(status_missing & ~timeout, names.status, "missing status", status_raw)
    bad_status = ~status_missing & (status.isna() | (status != np.floor(status)) | ~status.between(100, 599))
    flag(bad_status & ~timeout, names.status, "not an HTTP status (100-599)", status_raw)
    if names.timeout in frame.columns:
        flag(timeout_reason != "", names.timeout, timeout_reason, frame[names.timeout])
    if names.partial in frame.columns:
        flag(partial_reason != "", names.partial, partial_reason, frame[names.partial])

    rate_name = policy.sampling.rate_field
    rate = pd.Series(1.0, index=index)
    if rate_name in frame.columns:
        rate_raw = frame[rate_name]
        present = rate_raw.notna() & (_text(rate_raw).fillna("") != "")
        parsed = pd.to_numeric(_text(rate_raw), errors="coerce").astype("float64")
        flag(present & parsed.isna(), rate_name, "sample rate is not a number", rate_raw)
        flag(present & ~((parsed > 0) & (parsed <= 1)), rate_name, "sample rate must be in (0, 1]", rate_raw)
        rate = parsed.where(present, 1.0)

    latency = pd.Series(np.nan, index=index)
    if target.latency is not None:
        lat_name = policy.latency.field
        lat_raw = _require(frame, lat_name, f"SLO {target.slo!r} judges latency")
        value = pd.to_numeric(_text(lat_raw), errors="coerce").astype("float64")
        lat_missing = lat_raw.isna() | (_text(lat_raw).fillna("") == "")
        flag(lat_missing & ~timeout, lat_name, "missing latency", lat_raw)
        flag(
            ~lat_missing & (value.isna() | ~np.isfinite(value.fillna(0.0))), lat_name, "not a number", lat_raw
        )
        flag(~lat_missing & (value < 0), lat_name, "latency must be >= 0", lat_raw)
        latency = value * SECONDS_PER_UNIT[policy.latency.unit]

    attempt = pd.Series(np.nan, index=index)
    if names.attempt in frame.columns:
        att_raw = frame[names.attempt]
        present = att_raw.notna() & (_text(att_raw).fillna("") != "")
        parsed = pd.to_numeric(_text(att_raw), errors="coerce").astype("float64")
        bad_attempt = present & (parsed.isna() | (parsed < 1) | (parsed != np.floor(parsed)))
        flag(bad_attempt, names.attempt, "attempt must be a whole number >= 1", att_raw)
        attempt = parsed.where(present)

    ok = reason == ""
    outcome = _outcomes(status, timeout, partial, policy)
    failed = outcome == BAD  # failures under the availability rules, before any latency judgement
    if target.latency is not None:
        slow = ~target.latency.satisfied(latency).fillna(False)
        outcome = outcome.where(~((outcome == GOOD) & slow), BAD)

    _refuse_sampled_errors(frame, ok & failed & (rate < 1), rate, status, policy)
    final, dropped = _final_attempts(frame, ok, seconds, attempt, policy)
    counted = ok & final
    weight = 1.0 / rate
    b = target.bucket_seconds
    start = (np.floor(seconds.where(counted, 0.0) / b) * b).astype("int64")
    included = counted & (outcome != EXCLUDED)
    per_bucket = (
        pd.DataFrame(
            {
                "start": start[counted],
                "good": (weight * (outcome == GOOD))[counted],
                "total": (weight * included)[counted],
            }
        )
        .groupby("start", sort=True)
        .sum()
        .reset_index()
    )
    buckets = pd.DataFrame(
        {
            "slo": target.slo,
            "start": per_bucket["start"].astype("int64"),
            "good": np.minimum(per_bucket["good"], per_bucket["total"]).astype("float64"),
            "total": per_bucket["total"].astype("float64"),
            "bucket_seconds": b,
        },
        columns=list(BUCKET_COLUMNS),
    )
    return LogCounts(
        buckets=buckets,
        rejected=_rejection_frame(frame, target.slo, field, shown, reason),
        lines=len(frame),
        counted=int(included.sum()),
        excluded=int((counted & (outcome == EXCLUDED)).sum()),
        retries_dropped=dropped,
    )


def _outcomes(status: pd.Series, timeout: pd.Series, partial: pd.Series, policy: EdgeCasePolicy) -> pd.Series:
    """GOOD, BAD or EXCLUDED per line; the first matching rule wins, most severe first."""
    by_rule = {"good": GOOD, "bad": BAD, "excluded": EXCLUDED}
    server_error = status.ge(500).fillna(False)
    client_error = status.between(400, 499).fillna(False)
    choices = [
        timeout,
        server_error,
        partial,
        client_error,
    ]
    values = [BAD, BAD, by_rule[policy.partial_responses], by_rule[policy.client_errors]]
    return pd.Series(np.select([c.to_numpy(dtype=bool) for c in choices], values, GOOD), index=status.index)


def _refuse_sampled_errors(
    frame: pd.DataFrame, sampled_errors: pd.Series, rate: pd.Series, status: pd.Series, policy: EdgeCasePolicy
) -> None:
    """Errors are usually logged in full while successes are sampled; a log that samples errors too
    changes how much one error line weighs, so it must be declared rather than discovered."""
    if policy.sampling.errors_sampled or not sampled_errors.any():
        return
    first = int(np.argmax(sampled_errors.to_numpy(dtype=bool)))
    line = int(frame["row_number"].iloc[first])
    code = float(status.iloc[first])
    shown = "no status" if np.isnan(code) else f"status {int(code)}"
    raise RequestLogError(
        f"line {line}: an error ({shown}) is sampled "
        f"({policy.sampling.rate_field}={float(rate.iloc[first]):g}); "
        f"{int(sampled_errors.sum())} error line(s) are sampled, but EdgeCasePolicy {policy.name} does not "
        "declare sampling.errorsSampled: true"
    )


def _final_attempts(
    frame: pd.DataFrame, ok: pd.Series, seconds: pd.Series, attempt: pd.Series, policy: EdgeCasePolicy
) -> tuple[pd.Series, int]:
    """Which lines stand for their request, and how many earlier attempts were set aside.

    Under `final_attempt` a request id's last attempt (highest attempt number, then latest time, then
    latest line) decides the request's outcome; lines without a request id are requests of their own.
    """
    everything = pd.Series(True, index=frame.index)
    if policy.retries == "every_attempt":
        return everything, 0
    id_name = policy.fields.request_id
    if id_name not in frame.columns:
        if policy.fields.attempt in frame.columns:
            raise RequestLogError(
                f"the log has {policy.fields.attempt!r} but no {id_name!r} field: retries: final_attempt "
                "needs the request id to group attempts (or use retries: every_attempt)"
            )
        return everything, 0
    ids = _text(frame[id_name]).fillna("")
    grouped = ok & (ids != "")
    order = pd.DataFrame(
        {
            "id": ids[grouped],
            "attempt": attempt[grouped].fillna(0.0),
            "seconds": seconds[grouped],
            "row": frame.loc[grouped, "row_number"].astype("int64"),
        }
    ).sort_values(["id", "attempt", "seconds", "row"], kind="stable")
    last = ~order.duplicated("id", keep="last")
    final = everything.copy()
    final[order.index] = last
    return final, int((~last).sum())
