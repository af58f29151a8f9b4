"""`slo ingest prometheus|logs|traces`: SLI data where SRE teams keep it → a samples file.

- `prometheus`: the catalog's Prometheus SLIs over a range (exact counter increases); quarantined
  buckets go beside the output as `<out>.rejected.csv`. Auth from SLO_PROMETHEUS_BEARER_TOKEN /
  SLO_PROMETHEUS_USERNAME + SLO_PROMETHEUS_PASSWORD, extra headers from SLO_PROMETHEUS_HEADERS.
- `logs`: request logs counted under the catalog's EdgeCasePolicy (printed for every SLO, because the
  same log gives different SLIs under different policies); rejected lines are kept with their reason.
- `traces`: OTLP/JSON trace exports → journey latency buckets for each UserJourney with `match` and
  `latencySlo`; broken traces are rejected with their reason.
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from slo_pipelines.catalog import SLO, Catalog, load_catalog
from slo_pipelines.catalog.edge_case_policy import (
    EdgeCasePolicy,
    PolicyResolutionError,
    catalog_policies,
    policy_for,
)
from slo_pipelines.catalog.journeys import catalog_journeys
from slo_pipelines.cli.common import (
    EXIT_INVALID,
    EXIT_USAGE,
    INSTANT_HELP,
    UserError,
    add_quiet_option,
    as_user_errors,
    check_samples_path,
    error_line,
    progress,
    stage,
)
from slo_pipelines.engine.sli.otlp_spans import flatten_otlp
from slo_pipelines.engine.sli.request_logs import (
    BUCKET_COLUMNS,
    RequestLogError,
    count_requests,
    empty_rejected,
    log_target,
)
from slo_pipelines.engine.sli.samples import SamplesError
from slo_pipelines.engine.sli.traces import (
    JourneyTarget,
    TraceError,
    assemble_traces,
    journey_buckets,
    journey_target,
)
from slo_pipelines.resources.request_log_files import read_request_log
from slo_pipelines.resources.sample_files import write_samples
from slo_pipelines.resources.trace_files import read_trace_file

SHOWN_REJECTIONS = 5

# --- slo ingest prometheus ----------------------------------------------------------------------


def add_prometheus_parser(sub: Any) -> argparse.ArgumentParser:
    """Register `prometheus` on the subparsers of `slo ingest`."""
    p: argparse.ArgumentParser = sub.add_parser(
        "prometheus", help="read SLIs from Prometheus over [start, end) and write a samples file"
    )
    p.add_argument("--catalog", required=True, help="catalog directory")
    p.add_argument("--url", help="Prometheus base URL (default: each DataSource's connectionDetails.url)")
    p.add_argument("--start", required=True, help=f"range start (inclusive): {INSTANT_HELP}")
    p.add_argument("--end", required=True, help=f"range end (exclusive): {INSTANT_HELP}")
    p.add_argument("--out", required=True, help="output file: .csv, .jsonl or .parquet")
    p.add_argument("--slo", action="append", default=[], metavar="NAME", help="only this SLO (repeatable)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    p.add_argument("--retries", type=int, default=4, help="retries on 5xx/timeouts (default 4)")
    p.add_argument(
        "--min-scrape-interval",
        type=float,
        default=1.0,
        help="shortest scrape interval in seconds; sizes raw-sample chunks (default 1)",
    )
    add_quiet_option(p)
    p.set_defaults(func=cmd_ingest_prometheus)
    return p


def _prometheus_error(message: str, code: int) -> int:
    print(error_line(message), file=sys.stderr)
    return code


def cmd_ingest_prometheus(args: argparse.Namespace) -> int:
    from slo_pipelines.catalog import CatalogError, load_catalog
    from slo_pipelines.engine.common.timeutil import TimeParseError, parse_instant_or_date
    from slo_pipelines.engine.sli.samples import SamplesError
    from slo_pipelines.ingest.prometheus import ClientPool, IngestError, ingest_catalog
    from slo_pipelines.resources.prometheus import (
        ClientSettings,
        PrometheusClient,
        PrometheusError,
        auth_from_env,
    )
    from slo_pipelines.resources.sample_files import sample_format, write_samples

    try:
        start, end = parse_instant_or_date(args.start), parse_instant_or_date(args.end)
    except TimeParseError as exc:
        return _prometheus_error(f"--start/--end: {exc}", EXIT_USAGE)
    if end <= start:
        return _prometheus_error(f"--end ({args.end}) must be after --start ({args.start})", EXIT_USAGE)
    if args.timeout <= 0 or args.retries < 0 or args.min_scrape_interval <= 0:
        return _prometheus_error(
            "--timeout and --min-scrape-interval must be > 0, --retries >= 0", EXIT_USAGE
        )
    try:
        sample_format(Path(args.out))
    except SamplesError as exc:
        return _prometheus_error(f"--out: {exc}", EXIT_USAGE)
    try:
        catalog = load_catalog(args.catalog)
        headers, basic = auth_from_env(
            os.environ,
            "SLO_PROMETHEUS_BEARER_TOKEN",
            "SLO_PROMETHEUS_USERNAME",
            "SLO_PROMETHEUS_PASSWORD",
            "SLO_PROMETHEUS_HEADERS",
        )

        def make(url: str) -> PrometheusClient:
            return PrometheusClient(
                ClientSettings(
                    url=url,
                    timeout_seconds=args.timeout,
                    max_retries=args.retries,
                    min_scrape_interval_seconds=args.min_scrape_interval,
                    headers=headers,
                    basic_auth=basic,
                )
            )

        result = ingest_catalog(
            catalog,
            ClientPool(catalog, make, args.url),
            start,
            end,
            args.slo or None,
            each=lambda names: progress(names, "querying Prometheus", len(names), args.quiet),
        )
    except CatalogError as exc:
        for line in str(exc).splitlines():
            print(error_line(line), file=sys.stderr)
        return EXIT_INVALID
    except (IngestError, PrometheusError) as exc:
        return _prometheus_error(str(exc), EXIT_INVALID)
    for warning in result.warnings:
        print(f"slo: warning: {warning}", file=sys.stderr)
    for new in result.new_series:  # counted from 0, so their first value is traffic (DESIGN.md §3)
        print(
            f"slo: new series of {new['slo']} counted from 0: {new['series']} first value "
            f"{new['first_value']:g} at {new['first_sample']}",
            file=sys.stderr,
        )
    out = Path(args.out)
    write_samples(result.buckets, out)
    rejected_path = out.with_name(f"{out.name}.rejected.csv")
    if not result.rejected.empty:
        result.rejected.to_csv(rejected_path, index=False)
        first = result.rejected.iloc[0]
        print(
            f"slo: {len(result.rejected)} bucket(s) quarantined, see {rejected_path} "
            f"(first: {first['slo']} {first['timestamp']}: {first['reason']})",
            file=sys.stderr,
        )
    elif rejected_path.exists():
        rejected_path.unlink()
    slos = result.buckets["slo"].nunique() if not result.buckets.empty else 0
    print(f"wrote {len(result.buckets)} buckets for {slos} SLO(s) to {out}")
    return 0


# --- slo ingest logs ----------------------------------------------------------------------------


def add_logs_parser(sub: "argparse._SubParsersAction[Any]") -> argparse.ArgumentParser:
    """Register `logs` on the `slo ingest` sub-command group."""
    p: argparse.ArgumentParser = sub.add_parser(
        "logs", help="count request-log lines (JSONL or CSV) into SLI buckets under the EdgeCasePolicy"
    )
    p.add_argument("--catalog", required=True, help="catalog directory")
    p.add_argument("--logs", required=True, help="access log: .jsonl/.ndjson/.json/.log (JSON lines) or .csv")
    p.add_argument("--out", required=True, help="samples file to write (.csv, .jsonl or .parquet)")
    p.add_argument("--slo", help="feed only this SLO (default: every SLO whose service appears in the log)")
    p.add_argument("--rejected", help="also write rejected lines with their reasons to this .csv/.jsonl file")
    add_quiet_option(p)
    p.set_defaults(func=cmd_logs)
    return p


def cmd_logs(args: argparse.Namespace) -> int:
    with as_user_errors(RequestLogError, PolicyResolutionError, SamplesError, file=args.logs):
        return _run_logs(args)


def _selected(
    catalog: Catalog, policies: list[EdgeCasePolicy], lines: pd.DataFrame, slo: str | None
) -> list[SLO]:
    if slo is not None:
        if slo not in catalog.slos:
            known = ", ".join(sorted(catalog.slos))
            raise UserError(f"--slo: no SLO {slo!r} in the catalog (known: {known})", EXIT_USAGE)
        return [catalog.slos[slo]]
    chosen: list[SLO] = []
    seen_fields: set[str] = set()
    present: set[str] = set()
    for item in sorted(catalog.slos.values(), key=lambda s: s.name):
        field = policy_for(policies, item.name, item.service).fields.service
        seen_fields.add(field)
        if field in lines.columns:
            values = set(lines[field].dropna().astype(str).str.strip())
            present |= values
            if item.service in values:
                chosen.append(item)
    if not chosen:
        if not present:
            names = " or ".join(sorted(repr(f) for f in seen_fields))
            raise UserError(f"the log has no {names} field to match SLOs by service; use --slo NAME")
        shown = ", ".join(sorted(present)[:10])
        raise UserError(f"no SLO in the catalog belongs to the log's services ({shown}); use --slo NAME")
    return chosen


def _run_logs(args: argparse.Namespace) -> int:
    check_samples_path("--out", args.out)
    check_samples_path("--rejected", args.rejected)
    catalog = load_catalog(args.catalog)
    stage(f"reading {args.logs}", args.quiet)
    log = read_request_log(args.logs)
    if log.lines.empty:
        first = log.malformed.iloc[0]
        raise UserError(
            f"{args.logs}: no readable line ({len(log.malformed)} malformed; line {first['row_number']}: "
            f"{first['reason']})"
        )
    policies = catalog_policies(catalog.documents)
    all_buckets: list[pd.DataFrame] = []
    rejected: list[pd.DataFrame] = [log.malformed] if not log.malformed.empty else []
    counted = 0
    chosen = _selected(catalog, policies, log.lines, args.slo)
    for slo in progress(chosen, "counting requests", len(chosen), args.quiet):
        policy = policy_for(policies, slo.name, slo.service)
        try:
            target = log_target(slo, policy)
            counts = count_requests(log.lines, target, policy)
        except RequestLogError as exc:
            raise UserError(f"{args.logs}: {exc}") from None
        print(f"policy in force for {slo.name}: {policy.describe()}")
        print(
            f"  {target.describe()}: {counts.lines} lines, {counts.counted} counted, "
            f"{counts.excluded} excluded, "
            f"{counts.retries_dropped} earlier attempts set aside, {len(counts.rejected)} rejected, "
            f"{len(counts.buckets)} buckets"
        )
        counted += counts.counted
        all_buckets.append(counts.buckets)
        if not counts.rejected.empty:
            rejected.append(counts.rejected)
    problems = pd.concat(rejected, ignore_index=True) if rejected else empty_rejected()
    problems = problems.sort_values("row_number", kind="stable", ignore_index=True)
    _report_logs_rejections(args.logs, problems)
    if args.rejected is not None:
        write_samples(problems, args.rejected)
        print(f"wrote {len(problems)} rejected line(s) to {args.rejected}")
    if counted == 0:
        raise UserError(f"{args.logs}: no line counted towards any SLO; nothing written to {args.out}")
    buckets = pd.concat(all_buckets, ignore_index=True)[list(BUCKET_COLUMNS)]
    write_samples(buckets, args.out)
    print(f"wrote {len(buckets)} buckets for {len(all_buckets)} SLO(s) to {args.out}")
    return 0


def _report_logs_rejections(source: str, problems: pd.DataFrame) -> None:
    for row in problems.head(SHOWN_REJECTIONS).to_dict("records"):
        where = f" ({row['slo']})" if row["slo"] else ""
        line = f"{source} line {row['row_number']} {row['field']}{where}"
        print(f"slo: warning: {line}: {row['reason']} (got {row['value']!r})", file=sys.stderr)
    more = len(problems) - SHOWN_REJECTIONS
    if more > 0:
        print(f"slo: warning: {source}: {more} more rejected line(s); see --rejected", file=sys.stderr)


# --- slo ingest traces --------------------------------------------------------------------------


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
    add_quiet_option(p)
    p.set_defaults(func=cmd_traces)
    return p


def cmd_traces(args: argparse.Namespace) -> int:
    with as_user_errors(TraceError, SamplesError):
        return _run_traces(args)


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


def _run_traces(args: argparse.Namespace) -> int:
    check_samples_path("--out", args.out)
    check_samples_path("--rejected", args.rejected)
    journeys, targets = _targets(args.catalog)
    stage(f"reading {args.traces}", args.quiet)
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
    stage(f"assembling {len(frames.spans)} spans into traces", args.quiet)
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
    _report_traces_rejections(args.traces, result.rejected)
    if args.rejected is not None:
        write_samples(result.rejected, args.rejected)
        print(f"wrote {len(result.rejected)} rejection(s) to {args.rejected}")
    frame = pd.concat(buckets, ignore_index=True)[list(BUCKET_COLUMNS)]
    if frame.empty:
        raise UserError(f"{args.traces}: no trace belongs to a journey with a latencySlo; nothing written")
    write_samples(frame, args.out)
    print(f"wrote {len(frame)} buckets for {len(targets)} journey SLO(s) to {args.out}")
    return 0


def _report_traces_rejections(source: str, problems: pd.DataFrame) -> None:
    for row in problems.head(SHOWN_REJECTIONS).to_dict("records"):
        what = f"trace {row['trace_id']}" if row["trace_id"] else row["field"]
        print(f"slo: warning: {source} line {row['row_number']} {what}: {row['reason']}", file=sys.stderr)
    more = len(problems) - SHOWN_REJECTIONS
    if more > 0:
        print(f"slo: warning: {source}: {more} more rejection(s); see --rejected", file=sys.stderr)


def add_parsers(sub: "argparse._SubParsersAction[Any]") -> None:
    p = sub.add_parser(
        "ingest",
        help="turn SLI data from a source into a samples file",
        description="Turn SLI data from Prometheus, request logs or OTLP traces into a samples file.",
    )
    ingest_sub = p.add_subparsers(dest="source", required=True, parser_class=type(p), metavar="SOURCE")
    add_prometheus_parser(ingest_sub)
    add_logs_parser(ingest_sub)
    add_traces_parser(ingest_sub)
