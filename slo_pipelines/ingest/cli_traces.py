"""`slo ingest traces`: OTLP/JSON trace exports → journey latency buckets in the samples format.

Each UserJourney with `match` and `latencySlo` is fed from the traces whose root matches it. The
command prints, per journey, how its traces were judged and their latency, and per service the
latency of its calls, then lists rejected traces (missing root, orphan spans...) so nothing is
dropped without a word. Errors are one line on stderr: exit 1 for invalid data, 2 for usage.
"""

import argparse
import sys
from typing import Any

import pandas as pd

from slo_pipelines.catalog import load_catalog
from slo_pipelines.catalog.journeys import catalog_journeys
from slo_pipelines.cli_errors import UserError, as_user_errors, check_samples_path
from slo_pipelines.engine.otlp_spans import flatten_otlp
from slo_pipelines.engine.samples import SamplesError
from slo_pipelines.engine.traces import (
    BUCKET_COLUMNS,
    JourneyTarget,
    TraceError,
    assemble_traces,
    journey_buckets,
    journey_target,
)
from slo_pipelines.resources.sample_files import write_samples
from slo_pipelines.resources.trace_files import read_trace_file

SHOWN_REJECTIONS = 5


def add_traces_parser(sub: "argparse._SubParsersAction[Any]") -> argparse.ArgumentParser:
    """Register `traces` on the `slo ingest` sub-command group."""
    p: argparse.ArgumentParser = sub.add_parser(
        "traces", help="count OTLP/JSON traces (collector file exporter) into journey latency buckets"
    )
    p.add_argument("--catalog", required=True, help="catalog directory")
    p.add_argument(
        "--traces", required=True, help="OTLP/JSON lines file written by the collector's file exporter"
    )
    p.add_argument("--out", required=True, help="samples file to write (.csv, .jsonl or .parquet)")
    p.add_argument("--rejected", help="also write rejected spans and traces with their reasons (.csv/.jsonl)")
    p.set_defaults(func=cmd_traces)
    return p


def cmd_traces(args: argparse.Namespace) -> int:
    with as_user_errors(TraceError, SamplesError):
        return _run(args)


def _targets(catalog_dir: str) -> tuple[list[Any], list[JourneyTarget]]:
    catalog = load_catalog(catalog_dir)
    journeys = catalog_journeys(catalog.documents)
    targets = [
        journey_target(j, catalog.slos[j.latency_slo])
        for j in journeys
        if j.latency_slo is not None and j.match is not None
    ]
    if not targets:
        raise UserError(
            f"{catalog_dir}: no UserJourney has both spec.match and spec.latencySlo; traces feed nothing"
        )
    return journeys, targets


def _run(args: argparse.Namespace) -> int:
    check_samples_path("--out", args.out)
    check_samples_path("--rejected", args.rejected)
    journeys, targets = _targets(args.catalog)
    trace_file = read_trace_file(args.traces)
    keys = [j.match.attribute_key for j in journeys if j.match is not None and j.match.attribute_key]
    frames = flatten_otlp(trace_file.records, keys)
    if not trace_file.malformed.empty:
        frames = type(frames)(
            frames.spans, pd.concat([trace_file.malformed, frames.rejected], ignore_index=True)
        )
    if frames.spans.empty:
        first = frames.rejected.iloc[0]
        raise UserError(
            f"{args.traces}: no readable span ({len(frames.rejected)} rejected; line {first['row_number']}: "
            f"{first['reason']})"
        )
    result = assemble_traces(frames, journeys)
    traces = result.traces
    print(
        f"{args.traces}: {len(frames.spans)} spans read, {len(traces)} traces accepted, "
        f"{result.rejected['trace_id'].replace('', pd.NA).nunique()} rejected, "
        f"{(traces['journey'] == '').sum()} matched no journey, {result.duplicates} duplicate spans ignored"
    )
    buckets: list[pd.DataFrame] = []
    for target in targets:
        mine = traces[traces["journey"] == target.journey]["latency_seconds"]
        out = journey_buckets(traces, target)
        print(target.describe())
        if mine.empty:
            print("  no trace of this journey")
        else:
            print(
                f"  {len(mine)} traces, {int(out['good'].sum())} good, p50 {mine.quantile(0.5):.3f} s, "
                f"p99 {mine.quantile(0.99):.3f} s, {len(out)} buckets"
            )
        buckets.append(out)
    for service, calls in result.calls.groupby("service"):
        latency = calls["latency_seconds"]
        print(
            f"service {service}: {len(calls)} calls, p50 {latency.quantile(0.5):.3f} s, "
            f"p99 {latency.quantile(0.99):.3f} s"
        )
    _report_rejections(args.traces, result.rejected)
    if args.rejected is not None:
        write_samples(result.rejected, args.rejected)
        print(f"wrote {len(result.rejected)} rejection(s) to {args.rejected}")
    frame = pd.concat(buckets, ignore_index=True)[list(BUCKET_COLUMNS)]
    if frame.empty:
        raise UserError(f"{args.traces}: no trace belongs to a journey with a latencySlo; nothing written")
    write_samples(frame, args.out)
    print(f"wrote {len(frame)} buckets for {len(targets)} journey SLO(s) to {args.out}")
    return 0


def _report_rejections(source: str, problems: pd.DataFrame) -> None:
    for row in problems.head(SHOWN_REJECTIONS).to_dict("records"):
        what = f"trace {row['trace_id']}" if row["trace_id"] else row["field"]
        print(f"slo: warning: {source} line {row['row_number']} {what}: {row['reason']}", file=sys.stderr)
    more = len(problems) - SHOWN_REJECTIONS
    if more > 0:
        print(f"slo: warning: {source}: {more} more rejection(s); see --rejected", file=sys.stderr)
