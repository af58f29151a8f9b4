"""`slo rules export`: the catalog's burn-rate alerts as a Prometheus rule file (Sloth-compatible names).

Objectives Prometheus cannot compute the engine's way are listed on stderr (and in the file's header)
with the reason; when none can be exported the command fails rather than write an empty file.
"""

import argparse
import sys
from pathlib import Path
from typing import Any

from slo_pipelines.cli.common import EXIT_INVALID, EXIT_USAGE, error_line


def add_rules_parser(sub: Any) -> argparse.ArgumentParser:
    """Register `rules` (with its `export` sub-command) on the subparsers of `slo`."""
    p: argparse.ArgumentParser = sub.add_parser("rules", help="Prometheus rules for the catalog's SLOs")
    rules_sub = p.add_subparsers(dest="rules_command", required=True)
    e: argparse.ArgumentParser = rules_sub.add_parser(
        "export", help="write recording and alerting rules equivalent to the engine's burn-rate alerts"
    )
    e.add_argument("--catalog", required=True, help="catalog directory")
    e.add_argument("--out", help="rule file to write (default: standard output)")
    e.set_defaults(func=cmd_rules_export)
    return p


def _error(message: str, code: int) -> int:
    print(error_line(message), file=sys.stderr)
    return code


def cmd_rules_export(args: argparse.Namespace) -> int:
    from slo_pipelines.catalog import load_catalog
    from slo_pipelines.engine.alerting.prometheus_rules import RulesError, export_rules, rules_yaml

    out = Path(args.out) if args.out else None
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        why = "is a directory" if out.is_dir() else f"its directory {out.parent} does not exist"
        return _error(f"--out {args.out}: {why}", EXIT_USAGE)
    catalog = load_catalog(args.catalog)  # catalog errors reach `slo`'s main loop
    try:
        export = export_rules(catalog)
    except RulesError as exc:
        return _error(f"{args.catalog}: {exc}", EXIT_INVALID)
    for skipped in export.skipped:
        print(f"slo: not exported: {skipped.describe()}", file=sys.stderr)
    for warning in [*map(str, catalog.warnings), *export.warnings]:
        print(f"slo: warning: {warning}", file=sys.stderr)
    if not export.exported:
        return _error(f"{args.catalog}: no SLO objective can be expressed as Prometheus rules", EXIT_INVALID)
    header = (
        f"Prometheus rules for the SLO catalog {args.catalog} (catalog digest {catalog.digest()[:12]}),\n"
        "written by `slo rules export`; regenerate instead of editing."
    )
    text = rules_yaml(export, header)
    if out is None:
        sys.stdout.write(text)
        return 0
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text)
    tmp.replace(out)
    print(f"wrote {len(export.exported)} objective(s), {len(export.groups['groups'])} rule groups to {out}")
    return 0
