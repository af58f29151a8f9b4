"""The `slo` command: a stable interface for people, scripts and CI (DESIGN.md §6).

One module per sub-command group (`evaluate` holds validate/evaluate; then `ingest`, `audit`,
`exclusions`, `rules`, `sla`, `report`, `demo`);
what they share (exit statuses, errors, `--format`, instants, tables,
progress) lives in `common`. User mistakes end in one `slo: error: ...` line on stderr and exit status 1
(invalid data) or 2 (usage); never a traceback. Heavy imports (Dagster) happen only inside the commands
that need them. Nothing else in the package imports `cli`.
"""

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from slo_pipelines.catalog import CatalogError
from slo_pipelines.cli import (
    access,
    archive,
    audit,
    audit_log,
    demo,
    evaluate,
    exclusions,
    incidents,
    ingest,
    release,
    report,
    rules,
    sla,
    webhooks,
)
from slo_pipelines.cli.common import EXIT_INVALID, SloArgumentParser, UserError, error_line
from slo_pipelines.engine.common.timeutil import TimeParseError
from slo_pipelines.engine.sli.samples import SamplesError


def _version() -> str:
    try:
        return version("slo-pipelines")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = SloArgumentParser(
        prog="slo", description="SLO/SLA compliance platform: catalog checks, evaluation, pipelines."
    )
    parser.add_argument("--version", action="version", version=f"slo {_version()}")
    sub: argparse._SubParsersAction[Any] = parser.add_subparsers(
        dest="command", required=True, parser_class=SloArgumentParser, metavar="COMMAND"
    )
    evaluate.add_parsers(sub)
    audit.add_parsers(sub)
    ingest.add_parsers(sub)
    exclusions.add_exclusions_parser(sub)
    rules.add_rules_parser(sub)
    release.add_parsers(sub)
    incidents.add_parsers(sub)
    webhooks.add_parsers(sub)
    sla.add_parsers(sub)
    report.add_parsers(sub)
    demo.add_parsers(sub)
    archive.add_parsers(sub)
    audit_log.add_parsers(sub)
    access.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except CatalogError as exc:
        for line in str(exc).splitlines():
            print(error_line(line), file=sys.stderr)
        return EXIT_INVALID
    except UserError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return exc.code
    except (SamplesError, TimeParseError) as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print(error_line("interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`slo evaluate ... | head`): not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code
