"""The `slo` command: a stable interface for people, scripts and CI (DESIGN.md §6).

User mistakes end in one line on stderr and exit status 1 (invalid data) or 2 (usage); never a traceback.
Heavy imports (Dagster) happen only inside the commands that need them.
"""

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from slo_pipelines.catalog import CatalogError, load_catalog
from slo_pipelines.cli_errors import EXIT_INVALID, EXIT_USAGE, UserError
from slo_pipelines.engine.samples import SamplesError, validate_samples
from slo_pipelines.engine.timeutil import TimeParseError, format_instant, parse_instant
from slo_pipelines.ingest.cli_exclusions import add_exclusions_parser
from slo_pipelines.ingest.cli_logs import add_logs_parser
from slo_pipelines.ingest.cli_prometheus import add_prometheus_parser
from slo_pipelines.ingest.cli_rules import add_rules_parser
from slo_pipelines.ingest.cli_traces import add_traces_parser


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"slo: {message} (see `{self.prog} --help`)\n")


def _pct(x: float | None, digits: int = 4) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def results_table(slos: list[dict[str, Any]]) -> str:
    rows = []
    for r in slos:
        alerts = (
            ",".join(f"{a['severity']}:{a['long_window']}/{a['short_window']}" for a in r["alerts"]) or "-"
        )
        rows.append(
            [
                r["name"],
                r["objective"],
                r["budgeting_method"],
                _pct(r["target"], 3),
                _pct(r["sli"]),
                _pct(r["error_budget"]["remaining_ratio"], 1),
                _pct(r["coverage"], 1),
                r["status"],
                alerts,
            ]
        )
    return _table(
        rows, ["SLO", "OBJECTIVE", "METHOD", "TARGET", "SLI", "BUDGET LEFT", "COVERAGE", "STATUS", "ALERTS"]
    )


def cmd_validate(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog_dir)
    kinds: dict[str, int] = {}
    for d in catalog.documents:
        kinds[d.kind] = kinds.get(d.kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"{args.catalog_dir}: valid ({len(catalog.documents)} documents: {summary})")
    return 0


def _parse_at(text: str) -> int:
    try:
        return parse_instant(text)
    except TimeParseError as exc:
        raise UserError(f"--at: {exc}", EXIT_USAGE) from None


def cmd_evaluate(args: argparse.Namespace) -> int:
    from slo_pipelines.engine.evaluate import CatalogEvaluator
    from slo_pipelines.engine.policies import warning_thresholds
    from slo_pipelines.resources.sample_files import read_samples

    at = _parse_at(args.at)
    catalog = load_catalog(args.catalog)
    raw = read_samples(args.samples)
    try:
        checked = validate_samples(raw, known_slos={n: s.bucket_seconds for n, s in catalog.slos.items()})
    except SamplesError as exc:
        raise UserError(f"{args.samples}: {exc}") from None
    if not checked.rejected.empty:
        raise UserError(checked.first_error(args.samples))
    results = CatalogEvaluator(catalog, checked.clean, warning_thresholds(catalog)).evaluate(at)
    payload: dict[str, Any] = {
        "at": format_instant(at),
        "catalog_digest": catalog.digest(),
        "slos": [r.to_json() for r in results],
    }
    if args.format == "json":
        print(json.dumps(payload, indent=2, allow_nan=False))
    else:
        print(f"evaluated at {payload['at']}")
        print(results_table(payload["slos"]))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    import time

    from slo_pipelines.engine.samples import stage_raw
    from slo_pipelines.quality.samples_audit import audit_samples
    from slo_pipelines.resources.sample_files import read_samples

    catalog = load_catalog(args.catalog)
    staged = stage_raw(read_samples(args.samples), Path(args.samples).name)
    findings = audit_samples(catalog, staged, int(time.time()))
    if args.format == "json":
        print(json.dumps(findings, indent=2, default=str))
    else:
        print(audit_table(findings))
    return 0 if findings["success"] else EXIT_INVALID


def audit_table(findings: dict[str, Any]) -> str:
    rows = [
        ["rows", e["name"], "pass" if e["success"] else "FAIL", str(e["unexpected_count"]), e["description"]]
        for e in findings["rows"]["expectations"]
    ]
    for day in findings["collection"]["days"]:
        for f in day["findings"]:
            slos = ", ".join(s["slo"] for s in f["failing_slos"][:4])
            rows.append(
                [
                    day["start"][:10],
                    f["name"],
                    "pass" if f["success"] else "FAIL",
                    str(f["unexpected_count"]),
                    slos,
                ]
            )
    head = f"{findings['rows']['total']} rows, {findings['rows']['rejected']} rejected; "
    head += "all audits passed" if findings["success"] else "audits FAILED"
    return head + "\n" + _table(rows, ["SCOPE", "RULE", "VERDICT", "COUNT", "DETAIL"])


def cmd_demo(args: argparse.Namespace) -> int:
    from slo_pipelines.demo.run import run_demo

    return run_demo(days=args.days, out_dir=Path(args.out), catalog_dir=Path(args.catalog))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="slo", description="SLO/SLA compliance platform: catalog checks, evaluation, pipelines."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="validate a catalog directory; prints every error")
    p.add_argument("catalog_dir")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("evaluate", help="evaluate every SLO objective at an instant (engine only)")
    p.add_argument("--catalog", required=True, help="catalog directory")
    p.add_argument("--samples", required=True, help="CSV, JSONL or Parquet file: slo,timestamp,good,total")
    p.add_argument(
        "--at", required=True, help="evaluation instant (exclusive window end), ISO 8601 or Unix s"
    )
    p.add_argument("--format", choices=["json", "table"], default="json")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("audit", help="data-quality audit of a samples file (exit 1 when any rule fails)")
    p.add_argument("--catalog", required=True, help="catalog directory")
    p.add_argument("--samples", required=True, help="CSV, JSONL or Parquet file: slo,timestamp,good,total")
    p.add_argument("--format", choices=["json", "table"], default="table")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("ingest", help="turn SLI data from a source into a samples file")
    ingest_sub = p.add_subparsers(dest="source", required=True, parser_class=_Parser)
    add_prometheus_parser(ingest_sub)
    add_logs_parser(ingest_sub)
    add_traces_parser(ingest_sub)

    add_exclusions_parser(sub)
    add_rules_parser(sub)

    p = sub.add_parser("demo", help="generate a fleet's history and run the whole Dagster graph locally")
    p.add_argument("--days", type=int, default=90, help="days of minute-level history (default 90)")
    p.add_argument("--out", default="out/demo", help="where reports and the archive go")
    p.add_argument("--catalog", default="examples/fleet", help="catalog directory (default examples/fleet)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except CatalogError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except UserError as exc:
        print(f"slo: {exc}", file=sys.stderr)
        return exc.code
    except (SamplesError, TimeParseError) as exc:
        print(f"slo: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("slo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`slo evaluate ... | head`): not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    raise SystemExit(main())
