"""Spans assembled into traces: end-to-end latency per user journey, per-service latency, SLI buckets.

- A trace's root is its one span without a parent. End-to-end latency = the last end of any span of
  the trace (across services) − the root's start: what the user waited for, including work that
  outlives the root's own response (asynchronous fan-out).
- A service's calls are its top-level spans in the trace: the root, and every span whose parent
  belongs to another service. Their durations are that service's latency as seen by its caller;
  nested spans of the same service are part of those calls, not calls of their own.
- A trace is judged whole or not at all. Missing root, several roots, an orphan span (its parent is
  not in the trace), a span id used twice with different content, or an unreadable span: the trace is
  rejected with the reason, never counted, because its latency would be a guess. Identical
  duplicate spans (an exporter retrying a batch) are counted once.
- A trace belongs to the journey whose `match` its root satisfies; a root matching several journeys
  is rejected (it would be counted twice); a root matching none is other traffic.
- Buckets: per journey's latency SLO, per bucket of the root span's start, total = traces and
  good = traces whose root status is not ERROR and whose latency satisfies the threshold.
"""

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slo_pipelines.catalog.journeys import UserJourney, attribute_text
from slo_pipelines.catalog.models import SLO, ThresholdOp
from slo_pipelines.engine.sli.otlp_spans import REJECTED_COLUMNS, STATUS_ERROR, SpanFrames

NANOS = 1_000_000_000
TRACE_COLUMNS = (
    "trace_id",
    "journey",
    "root_span",
    "root_service",
    "start_ns",
    "end_ns",
    "latency_seconds",
    "status_code",
    "spans",
    "row_number",
)
CALL_COLUMNS = ("trace_id", "journey", "service", "name", "span_id", "start_ns", "latency_seconds")
BUCKET_COLUMNS = ("slo", "start", "good", "total", "bucket_seconds")
_LE_RE = re.compile(r"""\ble\s*=\s*["']([^"']+)["']""")


class TraceError(ValueError):
    """A configuration that traces cannot feed; the message is one line fit for the user."""


@dataclass(frozen=True)
class TraceSet:
    traces: pd.DataFrame  # TRACE_COLUMNS, one row per accepted trace (journey "" when unmatched)
    calls: pd.DataFrame  # CALL_COLUMNS, one row per top-level span of a service in an accepted trace
    rejected: pd.DataFrame  # REJECTED_COLUMNS, unreadable spans and rejected traces
    duplicates: int  # identical duplicate spans counted once


@dataclass(frozen=True)
class JourneyTarget:
    """How one journey's traces feed its latency SLO: `latency op seconds` (and not an error) is good."""

    journey: str
    slo: str
    bucket_seconds: int
    op: ThresholdOp
    seconds: float
    origin: str

    def describe(self) -> str:
        return (
            f"journey {self.journey} → {self.slo}: good = root not ERROR and end-to-end latency "
            f"{self.op} {self.seconds:g} s (from {self.origin})"
        )

    def satisfied(self, latency_seconds: pd.Series) -> pd.Series:
        ops = {
            "lt": latency_seconds.lt,
            "lte": latency_seconds.le,
            "gt": latency_seconds.gt,
            "gte": latency_seconds.ge,
        }
        return ops[self.op](self.seconds)


def journey_target(journey: UserJourney, slo: SLO) -> JourneyTarget:
    """The threshold that judges a journey's traces for its `latencySlo`; raises when there is none."""
    where = f"UserJourney {journey.name!r}"
    if slo.indicator is None:
        raise TraceError(f"{where}: latencySlo {slo.name!r} is a composite SLO; name a single-indicator SLO")
    if slo.indicator.kind == "threshold":
        if journey.threshold_op is not None:
            raise TraceError(
                f"{where}: latencyThreshold is not allowed for thresholdMetric SLO {slo.name!r}, whose "
                "objectives state the threshold"
            )
        if slo.budgeting_method != "Occurrences":
            raise TraceError(
                f"{where}: SLO {slo.name!r} is a {slo.budgeting_method} thresholdMetric SLO, judged on one "
                "value per bucket; traces give one latency per request, so use Occurrences"
            )
        pairs = {(o.op, o.value) for o in slo.objectives if o.op is not None and o.value is not None}
        if len(pairs) != 1:
            raise TraceError(
                f"{where}: SLO {slo.name!r} has several thresholds but a bucket carries one good count; "
                "give each threshold its own SLO"
            )
        (op, value), *_ = pairs
        assert op is not None and value is not None
        return JourneyTarget(
            journey.name, slo.name, slo.bucket_seconds, op, value, f"objective {op} {value:g} s"
        )
    if journey.threshold_op is not None and journey.threshold_seconds is not None:
        origin = f"{where} latencyThreshold"
        return JourneyTarget(
            journey.name,
            slo.name,
            slo.bucket_seconds,
            journey.threshold_op,
            journey.threshold_seconds,
            origin,
        )
    query = (slo.indicator.good_query or {}).get("spec", {}).get("query", "")
    bounds = set(_LE_RE.findall(query if isinstance(query, str) else ""))
    if len(bounds) == 1:
        (bound,) = bounds
        try:
            seconds = float(bound)
        except ValueError:
            seconds = float("nan")
        if np.isfinite(seconds):
            origin = f'good query bucket le="{bound}"'
            return JourneyTarget(journey.name, slo.name, slo.bucket_seconds, "lte", seconds, origin)
    raise TraceError(
        f"{where}: ratio SLO {slo.name!r} states no latency threshold; set spec.latencyThreshold "
        "{op, value} (seconds) on the journey"
    )


def _reject(frame: pd.DataFrame, reason: pd.Series | str, field: str, value: pd.Series | str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row_number": frame["row_number"].astype("int64").to_numpy(),
            "trace_id": frame["trace_id"].to_numpy(),
            "span_id": frame["span_id"].to_numpy() if "span_id" in frame else "",
            "field": field,
            "value": value.to_numpy() if isinstance(value, pd.Series) else value,
            "reason": reason.to_numpy() if isinstance(reason, pd.Series) else reason,
        },
        columns=list(REJECTED_COLUMNS),
    )


def _journeys(roots: pd.DataFrame, journeys: list[UserJourney]) -> tuple[pd.Series, pd.Series]:
    """(journey name or "", reason or "") per root span."""
    hits: list[tuple[str, pd.Series]] = []
    for journey in journeys:
        match = journey.match
        if match is None:
            continue
        if match.root_span is not None:
            hits.append((journey.name, roots["name"] == match.root_span))
        elif match.attribute_key is not None and match.attribute_key in roots:
            text = roots[match.attribute_key].map(lambda v: None if v is None else attribute_text(v))
            hits.append((journey.name, text == match.attribute_value))
    chosen = pd.Series("", index=roots.index, dtype=object)
    count = pd.Series(0, index=roots.index)
    names = pd.Series("", index=roots.index, dtype=object)
    for name, mask in hits:
        mask = mask.fillna(False).astype(bool)
        chosen[mask & (count == 0)] = name
        names[mask] = names[mask] + name + ", "
        count += mask.astype(int)
    reason = pd.Series("", index=roots.index, dtype=object)
    several = count > 1
    reason[several] = "root span matches several journeys (" + names[several].str.rstrip(", ") + ")"
    chosen[several] = ""
    return chosen, reason


def assemble_traces(frames: SpanFrames, journeys: list[UserJourney]) -> TraceSet:
    """Accepted traces with their journey and latencies, service calls, and every rejection."""
    spans = frames.spans
    rejected = [frames.rejected]
    first_line = spans.groupby("trace_id")["row_number"].min()

    content = ["trace_id", "span_id", "parent_span_id", "service", "name", "start_ns", "end_ns"]
    unique = spans.drop_duplicates(subset=content, keep="first")
    duplicates = len(spans) - len(unique)
    reused = unique[unique.duplicated(["trace_id", "span_id"], keep=False)]
    bad_trace = pd.Series("", index=first_line.index, dtype=object)

    def mark(trace_ids: pd.Series, reasons: pd.Series | str) -> None:
        reasons = reasons if isinstance(reasons, pd.Series) else pd.Series(reasons, index=trace_ids.index)
        for trace_id, why in zip(trace_ids, reasons, strict=True):
            if bad_trace.get(trace_id, "x") == "":
                bad_trace[trace_id] = why

    first_reused = reused.drop_duplicates("trace_id")
    mark(
        first_reused["trace_id"],
        "span id " + first_reused["span_id"] + " appears twice with different content",
    )
    unreadable = frames.rejected[frames.rejected["trace_id"].isin(first_line.index)]
    unreadable = unreadable.drop_duplicates("trace_id")
    mark(
        unreadable["trace_id"],
        "span unreadable (line " + unreadable["row_number"].astype(str) + ": " + unreadable["reason"] + ")",
    )
    unique = unique.drop_duplicates(["trace_id", "span_id"], keep="first")

    is_root = unique["parent_span_id"] == ""
    roots_per_trace = is_root.groupby(unique["trace_id"]).sum()
    mark(pd.Series(roots_per_trace.index[roots_per_trace == 0]), "missing root span")
    several = roots_per_trace.index[roots_per_trace > 1]
    mark(pd.Series(several), "several root spans")
    known = pd.MultiIndex.from_frame(unique[["trace_id", "span_id"]])
    parent_key = pd.MultiIndex.from_arrays([unique["trace_id"], unique["parent_span_id"]])
    orphan = unique[~is_root & ~parent_key.isin(known)].drop_duplicates("trace_id")
    mark(
        orphan["trace_id"],
        "orphan span " + orphan["span_id"] + ": parent " + orphan["parent_span_id"] + " is not in the trace",
    )

    roots = unique[is_root & ~unique["trace_id"].isin(bad_trace.index[bad_trace != ""])].copy()
    roots = roots.set_index("trace_id", drop=False)
    journey, journey_reason = _journeys(roots, journeys)
    mark(roots["trace_id"][journey_reason != ""], journey_reason[journey_reason != ""])
    bad = bad_trace[bad_trace != ""]
    if not bad.empty:
        info = pd.DataFrame({"trace_id": bad.index, "row_number": first_line[bad.index].to_numpy()})
        rejected.append(_reject(info.assign(span_id=""), pd.Series(bad.to_numpy()), "trace", ""))

    good_roots = roots[~roots["trace_id"].isin(bad.index)]
    members = unique[unique["trace_id"].isin(good_roots.index)]
    ends = members.groupby("trace_id")["end_ns"].max()
    counts = members.groupby("trace_id").size()
    traces = pd.DataFrame(
        {
            "trace_id": good_roots["trace_id"].to_numpy(),
            "journey": journey[good_roots.index].to_numpy(),
            "root_span": good_roots["name"].to_numpy(),
            "root_service": good_roots["service"].to_numpy(),
            "start_ns": good_roots["start_ns"].to_numpy(),
            "end_ns": ends[good_roots.index].to_numpy(),
            "status_code": good_roots["status_code"].to_numpy(),
            "spans": counts[good_roots.index].to_numpy(),
            "row_number": first_line[good_roots.index].to_numpy(),
        }
    )
    traces["latency_seconds"] = (traces["end_ns"] - traces["start_ns"]) / NANOS
    traces = traces[list(TRACE_COLUMNS)].sort_values(["start_ns", "trace_id"], ignore_index=True)

    parents = members[["trace_id", "span_id", "service"]].rename(
        columns={"span_id": "parent_span_id", "service": "parent_service"}
    )
    linked = members.merge(parents, on=["trace_id", "parent_span_id"], how="left")
    top = linked[linked["parent_service"].isna() | (linked["parent_service"] != linked["service"])]
    calls = pd.DataFrame(
        {
            "trace_id": top["trace_id"].to_numpy(),
            "journey": journey[top["trace_id"]].to_numpy(),
            "service": top["service"].to_numpy(),
            "name": top["name"].to_numpy(),
            "span_id": top["span_id"].to_numpy(),
            "start_ns": top["start_ns"].to_numpy(),
            "latency_seconds": ((top["end_ns"] - top["start_ns"]) / NANOS).to_numpy(),
        },
        columns=list(CALL_COLUMNS),
    ).sort_values(["start_ns", "span_id"], ignore_index=True)

    all_rejected = pd.concat([r for r in rejected if not r.empty] or [frames.rejected], ignore_index=True)
    all_rejected = all_rejected.sort_values("row_number", kind="stable", ignore_index=True)
    return TraceSet(traces, calls, all_rejected, duplicates)


def journey_buckets(traces: pd.DataFrame, target: JourneyTarget) -> pd.DataFrame:
    """Per-bucket good/total of one journey's traces for its latency SLO (bucket of the root start)."""
    mine = traces[traces["journey"] == target.journey]
    start = (mine["start_ns"] // (target.bucket_seconds * NANOS)) * target.bucket_seconds
    good = target.satisfied(mine["latency_seconds"]) & (mine["status_code"] != STATUS_ERROR)
    frame = pd.DataFrame({"start": start.astype("int64"), "good": good.astype("int64"), "total": 1})
    out = frame.groupby("start", as_index=False).agg(good=("good", "sum"), total=("total", "sum"))
    out.insert(0, "slo", target.slo)
    out["bucket_seconds"] = target.bucket_seconds
    return out[list(BUCKET_COLUMNS)]
