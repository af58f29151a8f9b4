"""`slo validate` and `slo evaluate`: the catalog checks and the engine alone (no Dagster, no database)."""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from slo_pipelines.catalog import Catalog, load_catalog
from slo_pipelines.cli.common import (
    INSTANT_HELP,
    UserError,
    add_format_option,
    instant_argument,
    read_checked_samples,
    render_table,
)
from slo_pipelines.reports.tables import RESULT_HEADERS, result_rows

SAMPLES_HELP = "CSV, JSONL or Parquet file: slo,timestamp,good,total (optional bucket_seconds, value)"


def add_parsers(sub: "argparse._SubParsersAction[Any]") -> None:
    p = sub.add_parser(
        "validate",
        help="validate a catalog directory; prints every error",
        description="Validate a catalog directory: exit 0, or 1 with every error, one per line.",
    )
    p.add_argument("catalog_dir", nargs="?", metavar="CATALOG_DIR", help="catalog directory")
    p.add_argument(
        "--catalog", dest="catalog_option", metavar="DIR", help="catalog directory (same as CATALOG_DIR)"
    )
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "evaluate",
        help="evaluate every SLO objective at an instant (engine only)",
        description="Evaluate every SLO objective of the catalog at --at from a samples file.",
    )
    p.add_argument("--catalog", required=True, metavar="DIR", help="catalog directory")
    p.add_argument("--samples", required=True, metavar="FILE", help=SAMPLES_HELP)
    p.add_argument(
        "--at",
        required=True,
        type=instant_argument("--at"),
        help=f"evaluation instant (exclusive window end): {INSTANT_HELP}",
    )
    p.add_argument(
        "--warehouse",
        metavar="URL",
        default=None,
        help="SQLAlchemy URL of the warehouse whose active runtime exclusions to honour too "
        "(default $SLO_WAREHOUSE_URL; without either, the catalog's exclusions only)",
    )
    add_format_option(p)
    p.set_defaults(func=cmd_evaluate)


def cmd_validate(args: argparse.Namespace) -> int:
    directory = args.catalog_option or args.catalog_dir
    if not directory:
        raise UserError("give the catalog directory: slo validate DIR (or --catalog DIR)", 2)
    if args.catalog_option and args.catalog_dir and args.catalog_option != args.catalog_dir:
        raise UserError("give the catalog directory once (CATALOG_DIR or --catalog, not both)", 2)
    catalog = load_catalog(directory)
    for warning in catalog.warnings:
        print(f"slo: warning: {warning}", file=sys.stderr)
    kinds: dict[str, int] = {}
    for d in catalog.documents:
        kinds[d.kind] = kinds.get(d.kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"{directory}: valid ({len(catalog.documents)} documents: {summary})")
    return 0


def with_warehouse_exclusions(catalog: Catalog, url: str) -> Catalog:
    """The catalog plus the warehouse's active runtime exclusions (`slo exclusions add`); a URL that is
    not a database or a warehouse that cannot be read is a one-line user error."""
    import sqlalchemy as sa

    from slo_pipelines.engine.exclusions.runtime import ExclusionLogError, with_runtime_exclusions
    from slo_pipelines.resources.warehouse import WarehouseResource

    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise UserError(f"--warehouse: not a database URL (got {url!r})", 2) from None
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    if on_disk and not Path(str(parsed.database)).is_file():  # reading must not create an empty warehouse
        raise UserError(f"--warehouse: no such SQLite database (got {parsed.database!r})", 2)
    warehouse = WarehouseResource(url=url)
    try:
        warehouse.ensure_schema()
        return with_runtime_exclusions(
            catalog, warehouse.read_exclusion_events(), warehouse.read_exclusion_reviews()
        )
    except ValueError as exc:
        if isinstance(exc, ExclusionLogError):
            raise UserError(f"warehouse exclusions: {exc}") from None
        raise UserError(f"--warehouse: {str(exc).removeprefix('warehouse url: ')}", 2) from None
    except sa.exc.SQLAlchemyError as exc:
        origin = getattr(exc, "orig", None)
        detail = (str(exc) if origin is None else str(origin)).splitlines()[0]
        raise UserError(f"warehouse: {detail}") from None


def cmd_evaluate(args: argparse.Namespace) -> int:
    from slo_pipelines.engine.alerting.policies import warning_thresholds
    from slo_pipelines.engine.budgets.evaluate import BucketSizeError, CatalogEvaluator
    from slo_pipelines.engine.common.timeutil import format_instant

    at = args.at
    catalog = load_catalog(args.catalog)
    warehouse_url = args.warehouse or os.environ.get("SLO_WAREHOUSE_URL") or None
    if warehouse_url:
        catalog = with_warehouse_exclusions(catalog, warehouse_url)
    clean = read_checked_samples(catalog, args.samples)
    try:
        results = CatalogEvaluator(catalog, clean, warning_thresholds(catalog)).evaluate(at)
    except BucketSizeError as exc:
        raise UserError(f"{args.samples}: {exc}") from None
    payload: dict[str, Any] = {
        "at": format_instant(at),
        "catalog_digest": catalog.digest(),
        "slos": [r.to_json() for r in results],
    }
    if args.format == "json":
        print(json.dumps(payload, indent=2, allow_nan=False))
    else:
        if args.format == "table":
            print(f"evaluated at {payload['at']}")
        print(render_table(result_rows(payload["slos"]), RESULT_HEADERS, args.format))
    sys.stdout.flush()
    return 0
