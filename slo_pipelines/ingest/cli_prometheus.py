"""`slo ingest prometheus`: read the catalog's Prometheus SLIs over a range and write a samples file.

Quarantined buckets (NaN, good > total, ...) are written beside the output as `<out>.rejected.csv`
with their reasons and counted on stderr; Prometheus warnings are printed too. Credentials come from
SLO_PROMETHEUS_BEARER_TOKEN, or SLO_PROMETHEUS_USERNAME + SLO_PROMETHEUS_PASSWORD, and extra headers
from SLO_PROMETHEUS_HEADERS (JSON object or `Name: value; Name: value`).
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from slo_pipelines.cli_errors import EXIT_INVALID, EXIT_USAGE


def add_prometheus_parser(sub: Any) -> argparse.ArgumentParser:
    """Register `prometheus` on the subparsers of `slo ingest`."""
    p: argparse.ArgumentParser = sub.add_parser(
        "prometheus", help="read SLIs from Prometheus over [start, end) and write a samples file"
    )
    p.add_argument("--catalog", required=True, help="catalog directory")
    p.add_argument("--url", help="Prometheus base URL (default: each DataSource's connectionDetails.url)")
    p.add_argument("--start", required=True, help="range start (inclusive), ISO 8601 with offset or Unix s")
    p.add_argument("--end", required=True, help="range end (exclusive), ISO 8601 with offset or Unix s")
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
    p.set_defaults(func=cmd_ingest_prometheus)
    return p


def _error(message: str, code: int) -> int:
    print(f"slo: {message}", file=sys.stderr)
    return code


def cmd_ingest_prometheus(args: argparse.Namespace) -> int:
    from slo_pipelines.catalog import CatalogError, load_catalog
    from slo_pipelines.engine.samples import SamplesError
    from slo_pipelines.engine.timeutil import TimeParseError, parse_instant
    from slo_pipelines.ingest.prometheus import ClientPool, IngestError, ingest_catalog
    from slo_pipelines.resources.prometheus import (
        ClientSettings,
        PrometheusClient,
        PrometheusError,
        auth_from_env,
    )
    from slo_pipelines.resources.sample_files import sample_format, write_samples

    try:
        start, end = parse_instant(args.start), parse_instant(args.end)
    except TimeParseError as exc:
        return _error(f"--start/--end: {exc}", EXIT_USAGE)
    if end <= start:
        return _error(f"--end ({args.end}) must be after --start ({args.start})", EXIT_USAGE)
    if args.timeout <= 0 or args.retries < 0 or args.min_scrape_interval <= 0:
        return _error("--timeout and --min-scrape-interval must be > 0, --retries >= 0", EXIT_USAGE)
    try:
        sample_format(Path(args.out))
    except SamplesError as exc:
        return _error(f"--out: {exc}", EXIT_USAGE)
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

        result = ingest_catalog(catalog, ClientPool(catalog, make, args.url), start, end, args.slo or None)
    except CatalogError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except (IngestError, PrometheusError) as exc:
        return _error(str(exc), EXIT_INVALID)
    for warning in result.warnings:
        print(f"slo: warning: {warning}", file=sys.stderr)
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
