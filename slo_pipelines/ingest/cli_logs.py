"""`slo ingest logs`: request logs → SLI buckets in the samples format, under the catalog's EdgeCasePolicy.

The policy in force is printed for every SLO, because the same log gives different SLIs under
different policies and a reader of the numbers must be able to tell which rules made them.
Errors are one line on stderr: exit 1 for invalid data, 2 for usage.
"""

import argparse
import sys
from typing import Any

import pandas as pd

from slo_pipelines.catalog import SLO, Catalog, load_catalog
from slo_pipelines.catalog.edge_case_policy import (
    EdgeCasePolicy,
    PolicyResolutionError,
    catalog_policies,
    policy_for,
)
from slo_pipelines.cli_errors import EXIT_USAGE, UserError, as_user_errors, check_samples_path
from slo_pipelines.engine.request_logs import (
    BUCKET_COLUMNS,
    RequestLogError,
    count_requests,
    empty_rejected,
    log_target,
)
from slo_pipelines.engine.samples import SamplesError
from slo_pipelines.resources.request_log_files import read_request_log
from slo_pipelines.resources.sample_files import write_samples

SHOWN_REJECTIONS = 5


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
    p.set_defaults(func=cmd_logs)
    return p


def cmd_logs(args: argparse.Namespace) -> int:
    with as_user_errors(RequestLogError, PolicyResolutionError, SamplesError, file=args.logs):
        return _run(args)


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


def _run(args: argparse.Namespace) -> int:
    check_samples_path("--out", args.out)
    check_samples_path("--rejected", args.rejected)
    catalog = load_catalog(args.catalog)
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
    for slo in _selected(catalog, policies, log.lines, args.slo):
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
    _report_rejections(args.logs, problems)
    if args.rejected is not None:
        write_samples(problems, args.rejected)
        print(f"wrote {len(problems)} rejected line(s) to {args.rejected}")
    if counted == 0:
        raise UserError(f"{args.logs}: no line counted towards any SLO; nothing written to {args.out}")
    buckets = pd.concat(all_buckets, ignore_index=True)[list(BUCKET_COLUMNS)]
    write_samples(buckets, args.out)
    print(f"wrote {len(buckets)} buckets for {len(all_buckets)} SLO(s) to {args.out}")
    return 0


def _report_rejections(source: str, problems: pd.DataFrame) -> None:
    for row in problems.head(SHOWN_REJECTIONS).to_dict("records"):
        where = f" ({row['slo']})" if row["slo"] else ""
        line = f"{source} line {row['row_number']} {row['field']}{where}"
        print(f"slo: warning: {line}: {row['reason']} (got {row['value']!r})", file=sys.stderr)
    more = len(problems) - SHOWN_REJECTIONS
    if more > 0:
        print(f"slo: warning: {source}: {more} more rejected line(s); see --rejected", file=sys.stderr)
