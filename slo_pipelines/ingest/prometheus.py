"""Catalog SLOs whose metric sources are Prometheus → buckets in the samples format.

How each query is read:
- `ratioMetric` with `counter: true` whose query is a series selector, optionally wrapped in `sum(...)`
  or `sum by/without (...) (...)`: the raw samples are read and turned into exact per-bucket increases
  (`engine/sli/counters.py`), summed over every selected series. Reading starts `lookback` seconds before
  the range so that each series has its baseline sample.
- a `thresholdMetric` whose query selects a histogram's `_bucket` series (every `le`): good is the
  increase of the bucket whose `le` equals the objective's threshold, total that of `le="+Inf"`, so a
  threshold that is not a boundary is refused with the list of boundaries. `le` counts observations
  `<=` the boundary, so `lt` and `lte` read the same bucket; `gt`/`gte` count the rest.
- any other query is evaluated once per bucket with `query_range` (step = bucket length). Write
  `$__bucket` where the bucket's length belongs, e.g. `sum(increase(errors_total[$__bucket]))`;
  the value at `t` is credited to the bucket `[t - bucket, t)`. Several result series are summed.
  A threshold query gives the bucket's `value`; `good` is 1 when it meets every objective, `total` 1.

A bucket exists when total has data. NaN values, good > total and the like quarantine the bucket: it
is returned in `rejected` with its reason, never written as data.

The raw counter series read along the way (for a histogram, its `le="+Inf"` series, which stand for the
whole histogram) also give per-day collection consistency: resets, churn and region coverage
(`engine/sli/series_stats.py`), returned as `IngestResult.series_stats`.
"""

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import SLO, Catalog, Indicator
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.sli.counters import (
    NEW_SERIES_SECONDS,
    CounterSeries,
    NewSeries,
    bucket_increases,
    merge_same_series,
    series_identity,
)
from slo_pipelines.engine.sli.promql import (
    BUCKET_PLACEHOLDER,
    QueryError,
    SeriesSelector,
    parse_series_selector,
    substitute_bucket,
    uses_bucket_placeholder,
)
from slo_pipelines.engine.sli.series_stats import (
    DEFAULT_SERIES_OPTIONS,
    SeriesStatsOptions,
    combine_series_stats,
    empty_series_stats,
    series_stats,
)
from slo_pipelines.resources.prometheus import PrometheusClient, PrometheusError, PrometheusResource
from slo_pipelines.resources.settings import configured

DEFAULT_LOOKBACK_SECONDS = 300
DAY = 86400
BUCKET_COLUMNS = ["slo", "start", "good", "total", "value", "bucket_seconds"]
REJECTED_COLUMNS = ["slo", "start", "timestamp", "reason"]

ClientFor = Callable[[Mapping[str, Any]], PrometheusClient]


class IngestError(ValueError):
    """A catalog or query problem that stops ingestion of an SLO; one line naming SLO and query."""


@dataclass
class IngestResult:
    buckets: pd.DataFrame  # BUCKET_COLUMNS
    rejected: pd.DataFrame  # REJECTED_COLUMNS
    warnings: list[str] = field(default_factory=list)
    series_stats: pd.DataFrame = field(default_factory=empty_series_stats)  # SERIES_STATS_COLUMNS
    new_series: list[dict[str, Any]] = field(default_factory=list)  # slo, series, first_sample, first_value


@dataclass(frozen=True)
class _Amounts:
    """One query's per-bucket amounts (start → number) and quarantined buckets (start → reason)."""

    values: pd.Series
    quarantined: dict[int, str]


def is_prometheus_source(source: Mapping[str, Any] | None) -> bool:
    return source is not None and str(source.get("type") or "").lower() == "prometheus"


def indicator_sources(indicator: Indicator) -> list[Mapping[str, Any]]:
    return [
        q
        for q in (
            indicator.good_query,
            indicator.bad_query,
            indicator.total_query,
            indicator.threshold_query,
            indicator.raw_query,
        )
        if q is not None
    ]


def prometheus_slos(catalog: Catalog) -> list[str]:
    """SLOs whose every metric source is a Prometheus one."""
    names = []
    for name, slo in sorted(catalog.slos.items()):
        if slo.indicator is None:
            continue  # composite SLOs are fed per objective from samples files
        sources = indicator_sources(slo.indicator)
        if sources and all(is_prometheus_source(s) for s in sources):
            names.append(name)
    return names


def data_source_url(catalog: Catalog, source: Mapping[str, Any]) -> str | None:
    """`spec.connectionDetails.url` of the DataSource a metric source refers to."""
    ref = source.get("metricSourceRef")
    for document in (*catalog.other, *catalog.documents):
        if document.kind == "DataSource" and document.name == ref:
            spec = document.body.get("spec") or {}
            details = spec.get("connectionDetails") if isinstance(spec, dict) else None
            url = details.get("url") if isinstance(details, dict) else None
            return url if isinstance(url, str) and url.strip() else None
    return None


def _query_text(slo: SLO, role: str, source: Mapping[str, Any]) -> str:
    spec = source.get("spec") or {}
    query = spec.get("query") if isinstance(spec, dict) else None
    if not isinstance(query, str) or not query.strip():
        raise IngestError(f"SLO {slo.name}: {role} metricSource spec.query is missing (got {query!r})")
    return query.strip()


class _SLOIngest:
    def __init__(self, slo: SLO, client_for: ClientFor, start: int, end: int, lookback: int) -> None:
        self.slo, self.client_for = slo, client_for
        self.start, self.end, self.lookback = start, end, lookback
        self.b = slo.bucket_seconds
        # counters are read from an hour before the range at least, to tell new series from old ones
        self.read_start = start - max(lookback, NEW_SERIES_SECONDS)
        self.read: dict[tuple[tuple[str, str], ...], CounterSeries] = {}
        self.new_series: dict[str, NewSeries] = {}

    def remember(self, series: list[CounterSeries]) -> None:
        for s in merge_same_series(series):
            self.read.setdefault(series_identity(s.labels), s)

    def increases(self, series: list[CounterSeries]) -> Any:
        found = bucket_increases(series, self.start, self.end, self.b)
        for n in found.new_series:
            self.new_series.setdefault(n.series, n)
        return found

    def new_series_rows(self) -> list[dict[str, Any]]:
        return [{"slo": self.slo.name, **n.to_json()} for n in sorted(self.new_series.values(), key=_order)]

    def series_stats(self, options: SeriesStatsOptions) -> pd.DataFrame:
        if not self.read:
            return empty_series_stats()
        read = list(self.read.values())
        stats = series_stats(self.slo.name, read, self.start, self.end, self.b, self.read_start, options)
        by_day: dict[int, list[dict[str, Any]]] = {}
        for n in sorted(self.new_series.values(), key=_order):
            by_day.setdefault(n.bucket // DAY * DAY, []).append(n.to_json())
        listed = [by_day.get(int(d), []) for d in stats["day_start"]]
        stats["new_series"] = pd.Series(listed, index=stats.index, dtype=object)
        return stats

    def fail(self, role: str, query: str, why: str) -> IngestError:
        return IngestError(f"SLO {self.slo.name} {role} query {query!r}: {why}")

    def _indicator(self) -> Indicator:
        if self.slo.indicator is None or any(o.indicator is not None for o in self.slo.objectives):
            raise IngestError(f"SLO {self.slo.name}: objectives with their own indicator are not ingested")
        return self.slo.indicator

    # -- reading ---------------------------------------------------------------------------------
    def counter(self, role: str, source: Mapping[str, Any], query: str, sel: SeriesSelector) -> _Amounts:
        client = self.client_for(source)
        series = client.raw_samples(sel.text, self.read_start, self.end)
        self.remember(series)
        found = self.increases(series)
        values = pd.Series(
            found.increases["increase"].to_numpy(), index=found.increases["start"].to_numpy(dtype=np.int64)
        )
        bad = {
            int(s): f"{role}: {r}"
            for s, r in zip(found.quarantined["start"], found.quarantined["reason"], strict=True)
        }
        return _Amounts(values, bad)

    def evaluated(self, role: str, source: Mapping[str, Any], query: str) -> _Amounts:
        client = self.client_for(source)
        expr = substitute_bucket(query, self.b)
        if self.end - self.start < self.b:
            return _Amounts(pd.Series(dtype=np.float64), {})
        series = client.query_range(expr, self.start + self.b, self.end, self.b)
        totals: dict[int, float] = {}
        bad: dict[int, str] = {}
        for s in series:
            for t_ms, v in zip(s.timestamps_ms, s.values, strict=True):
                bucket = int(t_ms // 1000) - self.b
                if not self.start <= bucket < self.end:
                    continue
                if math.isnan(v):
                    bad[bucket] = f"{role}: query returned NaN at {format_instant(bucket + self.b)}"
                elif math.isinf(v):
                    bad[bucket] = f"{role}: query returned {v} at {format_instant(bucket + self.b)}"
                else:
                    totals[bucket] = totals.get(bucket, 0.0) + float(v)
        values = pd.Series(totals, dtype=np.float64).sort_index()
        return _Amounts(values, bad)

    def amounts(self, role: str, source: Mapping[str, Any], counter: bool) -> _Amounts:
        query = _query_text(self.slo, role, source)
        sel = parse_series_selector(query)
        try:
            if counter and sel is not None:
                return self.counter(role, source, query, sel)
            if counter and not uses_bucket_placeholder(query):
                raise self.fail(
                    role,
                    query,
                    "counter: true needs a series selector (optionally in sum(...)) or a query "
                    f"using {BUCKET_PLACEHOLDER}, e.g. sum(increase(x[{BUCKET_PLACEHOLDER}]))",
                )
            return self.evaluated(role, source, query)
        except QueryError as exc:
            raise self.fail(role, query, str(exc)) from None

    # -- SLI kinds -------------------------------------------------------------------------------
    def ratio(self) -> tuple[pd.DataFrame, dict[int, str]]:
        ind = self._indicator()
        assert ind.total_query is not None
        total = self.amounts("total", ind.total_query, ind.counter)
        part_role = "good" if ind.good_query is not None else "bad"
        part_source = ind.good_query if ind.good_query is not None else ind.bad_query
        assert part_source is not None
        part = self.amounts(part_role, part_source, ind.counter)
        quarantined = {**part.quarantined, **total.quarantined}
        starts = total.values.index
        part_values = part.values.reindex(starts)
        if part_role == "good":
            for s in starts[part_values.isna().to_numpy()]:
                quarantined.setdefault(int(s), "good has no data in a bucket where total has")
            good = part_values
        else:
            good = total.values - part_values.fillna(0.0)
        frame = pd.DataFrame(
            {
                "start": starts.to_numpy(dtype=np.int64),
                "good": good.to_numpy(),
                "total": total.values.to_numpy(),
            }
        )
        return self._checked(frame, quarantined)

    def raw_ratio(self) -> tuple[pd.DataFrame, dict[int, str]]:
        ind = self._indicator()
        assert ind.raw_query is not None
        raw = self.amounts("raw", ind.raw_query, False)
        ratio = raw.values
        good = ratio if ind.raw_type == "success" else 1.0 - ratio
        frame = pd.DataFrame(
            {"start": ratio.index.to_numpy(dtype=np.int64), "good": good.to_numpy(), "total": 1.0}
        )
        quarantined = dict(raw.quarantined)
        for s, r in ratio.items():
            if not 0.0 <= r <= 1.0:
                quarantined.setdefault(int(s), f"raw ratio {r} is outside [0, 1]")  # type: ignore[call-overload]
        return self._checked(frame, quarantined)

    def threshold(self) -> tuple[pd.DataFrame, dict[int, str]]:
        ind = self._indicator()
        assert ind.threshold_query is not None
        query = _query_text(self.slo, "threshold", ind.threshold_query)
        sel = parse_series_selector(query)
        metric = sel.equality("__name__") if sel is not None else None
        if sel is not None and metric is not None and metric.endswith("_bucket"):
            return self.histogram(ind.threshold_query, query, sel)
        amounts = self.amounts("threshold", ind.threshold_query, False)
        value = amounts.values
        good = np.ones(len(value), dtype=bool)
        for objective in self.slo.objectives:
            if objective.op is not None and objective.value is not None:
                good &= _meets(value.to_numpy(), objective.op, objective.value)
        frame = pd.DataFrame(
            {
                "start": value.index.to_numpy(dtype=np.int64),
                "good": good.astype(np.float64),
                "total": 1.0,
                "value": value.to_numpy(),
            }
        )
        return frame, dict(amounts.quarantined)

    def histogram(
        self, source: Mapping[str, Any], query: str, sel: SeriesSelector
    ) -> tuple[pd.DataFrame, dict[int, str]]:
        thresholds = {(o.op, o.value) for o in self.slo.objectives if o.value is not None}
        if self.slo.budgeting_method != "Occurrences":
            raise self.fail(
                "threshold",
                query,
                "a histogram gives counts of requests, so its SLO needs budgetingMethod Occurrences "
                f"(got {self.slo.budgeting_method})",
            )
        values = sorted({v for _, v in thresholds if v is not None})
        if len(values) != 1:
            raise self.fail(
                "threshold", query, f"all objectives must share one threshold value (got {values})"
            )
        ops = {op for op, _ in thresholds}
        if len(ops) != 1 or None in ops:
            raise self.fail(
                "threshold", query, f"all objectives need the same op (got {sorted(map(str, ops))})"
            )
        threshold, op = values[0], next(iter(ops))
        client = self.client_for(source)
        series = merge_same_series(client.raw_samples(sel.text, self.read_start, self.end))
        by_le: dict[float, list[Any]] = {}
        histograms: dict[tuple[tuple[str, str], ...], set[float]] = {}
        for s in series:
            le = s.labels.get("le")
            try:
                bound = float(le) if le is not None else math.nan
            except ValueError:
                bound = math.nan
            if math.isnan(bound):
                raise self.fail("threshold", query, f"series {s.describe()} has no numeric le label")
            by_le.setdefault(bound, []).append(s)
            histograms.setdefault(_without_le(s.labels), set()).add(bound)
        shown = ", ".join(_le(x) for x in sorted(by_le)) or "none"
        if threshold not in by_le:
            raise self.fail(
                "threshold",
                query,
                f"threshold {threshold:g} is not a bucket boundary; boundaries (le): {shown}",
            )
        if math.inf not in by_le:
            raise self.fail(
                "threshold", query, f'needs the le="+Inf" bucket for the total (found le: {shown})'
            )
        # Every histogram series must have the boundary, or its requests would all count as slow.
        lacking = sorted(k for k, bounds in histograms.items() if threshold not in bounds)
        if lacking:
            named = "; ".join(
                f"{_describe(k)} (le: {', '.join(_le(x) for x in sorted(histograms[k]))})" for k in lacking
            )
            raise self.fail(
                "threshold",
                query,
                f"threshold {threshold:g} is not a bucket boundary of every histogram series; "
                f"missing in {len(lacking)}: {named}",
            )
        self.remember(by_le[math.inf])
        within = self.increases(by_le[threshold])
        total = self.increases(by_le[math.inf])
        quarantined: dict[int, str] = {}
        for found in (within, total):
            for s, r in zip(found.quarantined["start"], found.quarantined["reason"], strict=True):
                quarantined.setdefault(int(s), r)
        t = pd.Series(total.increases["increase"].to_numpy(), index=total.increases["start"].to_numpy())
        w = pd.Series(within.increases["increase"].to_numpy(), index=within.increases["start"].to_numpy())
        w = w.reindex(t.index).fillna(0.0)
        good = w if op in ("lt", "lte") else t - w
        frame = pd.DataFrame(
            {"start": t.index.to_numpy(dtype=np.int64), "good": good.to_numpy(), "total": t.to_numpy()}
        )
        return self._checked(frame, quarantined)

    def _checked(
        self, frame: pd.DataFrame, quarantined: dict[int, str]
    ) -> tuple[pd.DataFrame, dict[int, str]]:
        for s, g, t in zip(frame["start"], frame["good"], frame["total"], strict=True):
            if np.isnan(g) or np.isnan(t):
                continue
            if g < 0 or t < 0:
                quarantined.setdefault(int(s), f"negative count (good={g:g}, total={t:g})")
            elif g > t:
                quarantined.setdefault(int(s), f"good > total (good={g:g}, total={t:g})")
        return frame, quarantined

    def run(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        ind = self._indicator()
        if self.start % self.b or self.end % self.b:
            raise IngestError(
                f"SLO {self.slo.name}: start and end must be multiples of its bucket length {self.b}s "
                f"(got {format_instant(self.start)} .. {format_instant(self.end)})"
            )
        if ind.kind == "threshold":
            frame, quarantined = self.threshold()
        elif ind.raw_query is not None:
            frame, quarantined = self.raw_ratio()
        else:
            frame, quarantined = self.ratio()
        if "value" not in frame:
            frame["value"] = np.nan
        keep = ~frame["start"].isin(list(quarantined))
        clean = frame[keep].copy()
        clean.insert(0, "slo", self.slo.name)
        clean["bucket_seconds"] = self.b
        rejected = pd.DataFrame(
            {
                "slo": self.slo.name,
                "start": np.asarray(sorted(quarantined), dtype=np.int64),
                "timestamp": [format_instant(s) for s in sorted(quarantined)],
                "reason": [quarantined[s] for s in sorted(quarantined)],
            },
            columns=REJECTED_COLUMNS,
        )
        clean = clean.astype(
            {"start": np.int64, "good": np.float64, "total": np.float64, "value": np.float64}
        )
        return clean[BUCKET_COLUMNS].sort_values("start", ignore_index=True), rejected


def _order(n: NewSeries) -> tuple[int, str]:
    return (n.timestamp_ms, n.series)


def _without_le(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "le"))


def _describe(labels: tuple[tuple[str, str], ...]) -> str:
    name = dict(labels).get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in labels if k != "__name__")
    return f"{name}{{{rest}}}"


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else f"{bound:g}"


def _meets(values: np.ndarray, op: str, threshold: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if op == "lt":
            return np.asarray(values < threshold)
        if op == "lte":
            return np.asarray(values <= threshold)
        if op == "gt":
            return np.asarray(values > threshold)
        return np.asarray(values >= threshold)


class ClientPool:
    """One client per Prometheus URL: `--url` for every source, else each DataSource's own URL."""

    def __init__(
        self, catalog: Catalog, make: Callable[[str], PrometheusClient], url: str | None = None
    ) -> None:
        self.catalog, self.make, self.url = catalog, make, url
        self.clients: dict[str, PrometheusClient] = {}

    def __call__(self, source: Mapping[str, Any]) -> PrometheusClient:
        url = self.url or data_source_url(self.catalog, source)
        if url is None:
            ref = source.get("metricSourceRef")
            where = f"DataSource {ref!r} has no spec.connectionDetails.url" if ref else "inline metricSource"
            raise IngestError(f"{where}: no Prometheus URL to query (pass --url)")
        if url not in self.clients:
            self.clients[url] = self.make(url)
        return self.clients[url]

    def warnings(self) -> list[str]:
        return [w for client in self.clients.values() for w in client.warnings]


def ingest_slo(
    slo: SLO, client_for: ClientFor, start: int, end: int, lookback: int = DEFAULT_LOOKBACK_SECONDS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clean buckets and quarantined buckets of one SLO over `[start, end)`."""
    clean, rejected, _, _ = _ingest_slo_with_stats(
        slo, client_for, start, end, lookback, DEFAULT_SERIES_OPTIONS
    )
    return clean, rejected


def _ingest_slo_with_stats(
    slo: SLO, client_for: ClientFor, start: int, end: int, lookback: int, options: SeriesStatsOptions
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """`ingest_slo` plus the per-day consistency of the raw counter series it read and its new series."""
    ingest = _SLOIngest(slo, client_for, start, end, lookback)
    try:
        clean, rejected = ingest.run()
    except PrometheusError as exc:
        raise PrometheusError(f"SLO {slo.name}: {exc}") from None
    return clean, rejected, ingest.series_stats(options), ingest.new_series_rows()


def ingest_catalog(
    catalog: Catalog,
    pool: ClientPool,
    start: int,
    end: int,
    names: Collection[str] | None = None,
    lookback: int = DEFAULT_LOOKBACK_SECONDS,
    series_options: SeriesStatsOptions = DEFAULT_SERIES_OPTIONS,
    each: Callable[[list[str]], Iterable[str]] = iter,
) -> IngestResult:
    """Every Prometheus-fed SLO (or the named ones) over `[start, end)`; `each` wraps the loop over SLO
    names (a progress bar on a terminal)."""
    if end <= start:
        raise IngestError(f"end {format_instant(end)} must be after start {format_instant(start)}")
    if names:
        unknown = sorted(set(names) - set(catalog.slos))
        if unknown:
            raise IngestError(f"unknown SLO {unknown[0]!r} (not in the catalog)")
        fed = set(prometheus_slos(catalog))
        foreign = sorted(n for n in names if n not in fed)
        if foreign:
            raise IngestError(f"SLO {foreign[0]}: its metric sources are not all of type Prometheus")
        selected = sorted(set(names))
    else:
        selected = prometheus_slos(catalog)
    if not selected:
        raise IngestError("no SLO in the catalog reads from a Prometheus data source")
    clean_parts, rejected_parts, stats_parts = [], [], []
    new_series: list[dict[str, Any]] = []
    for name in each(selected):
        clean, rejected, stats, new = _ingest_slo_with_stats(
            catalog.slos[name], pool, start, end, lookback, series_options
        )
        clean_parts.append(clean)
        rejected_parts.append(rejected)
        stats_parts.append(stats)
        new_series += new
    return IngestResult(
        buckets=pd.concat(clean_parts, ignore_index=True)
        if clean_parts
        else pd.DataFrame(columns=BUCKET_COLUMNS),
        rejected=pd.concat(rejected_parts, ignore_index=True),
        warnings=pool.warnings(),
        series_stats=combine_series_stats(stats_parts),
        new_series=new_series,
    )


def ingest_with_resource(
    catalog: Catalog,
    resource: PrometheusResource,
    start: int,
    end: int,
    series_options: SeriesStatsOptions = DEFAULT_SERIES_OPTIONS,
) -> IngestResult:
    """The pipeline's pull: every Prometheus-fed SLO of the catalog over `[start, end)`."""
    if not prometheus_slos(catalog):
        return IngestResult(pd.DataFrame(columns=BUCKET_COLUMNS), pd.DataFrame(columns=REJECTED_COLUMNS))
    return ingest_catalog(
        catalog,
        ClientPool(catalog, resource.make_client, configured(resource.url) or None),
        start,
        end,
        series_options=series_options,
    )
