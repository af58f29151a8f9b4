"""`slo audit`: the pipeline's data-quality audits (row rules, completeness, staleness, volume) on a file."""

import argparse
import json
from pathlib import Path
from typing import Any

from slo_pipelines.catalog import load_catalog
from slo_pipelines.cli.common import (
    EXIT_INVALID,
    UserError,
    add_format_option,
    add_quiet_option,
    bucket_sizes,
    render_table,
    stage,
)
from slo_pipelines.cli.evaluate import SAMPLES_HELP


def add_parsers(sub: "argparse._SubParsersAction[Any]") -> None:
    p = sub.add_parser(
        "audit",
        help="data-quality audit of a samples file (exit 1 when any rule fails)",
        description="Audit a samples file with the pipeline's row and collection rules; exit 1 on failure.",
    )
    p.add_argument("--catalog", required=True, metavar="DIR", help="catalog directory")
    p.add_argument("--samples", required=True, metavar="FILE", help=SAMPLES_HELP)
    add_format_option(p, default="table")
    add_quiet_option(p)
    p.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    import time

    from slo_pipelines.engine.sli.samples import SamplesError, stage_raw, validate_samples
    from slo_pipelines.quality.samples_audit import audit_samples
    from slo_pipelines.resources.sample_files import read_samples

    catalog = load_catalog(args.catalog)
    stage(f"reading {args.samples}", args.quiet)
    raw = read_samples(args.samples)
    try:
        checked = validate_samples(raw, known_slos=bucket_sizes(catalog))
    except SamplesError as exc:
        raise UserError(f"{args.samples}: {exc}") from None
    staged = stage_raw(raw, Path(args.samples).name)
    stage(f"auditing {len(staged)} rows (row rules, then collection per day)", args.quiet)
    findings = audit_samples(catalog, staged, int(time.time()), checked)
    if args.format == "json":
        print(json.dumps(findings, indent=2, default=str))
    else:
        rows, headers = audit_rows(findings)
        if args.format == "table":
            print(audit_headline(findings))
        print(render_table(rows, headers, args.format))
    return 0 if findings["success"] else EXIT_INVALID


def audit_headline(findings: dict[str, Any]) -> str:
    head = f"{findings['rows']['total']} rows, {findings['rows']['rejected']} rejected; "
    return head + ("all audits passed" if findings["success"] else "audits FAILED")


def audit_rows(findings: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
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
    return rows, ["SCOPE", "RULE", "VERDICT", "COUNT", "DETAIL"]
