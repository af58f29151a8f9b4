"""`slo archive verify|prune|recompute`: check, age out and reproduce the compliance archive (DESIGN.md §10).

`verify` exits 0 with a last line `N records verified`, or 1 with one line per problem on stdout naming
the file or the seq. The HMAC key comes from `SLO_ARCHIVE_KEY` or the variable `--key-env` names; a
named variable that is unset is a usage error (exit 2).
"""

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from slo_pipelines.cli.common import EXIT_INVALID, EXIT_USAGE, UserError


def add_parsers(sub: "argparse._SubParsersAction[Any]") -> None:
    p = sub.add_parser("archive", help="verify, prune or recompute the tamper-evident compliance archive")
    actions = p.add_subparsers(dest="archive_command", required=True, parser_class=type(p), metavar="ACTION")

    verify = actions.add_parser(
        "verify", help="check the manifest's hash chain, signatures and every archived file"
    )
    verify.add_argument("dir", metavar="DIR", help="archive directory (holds manifest.jsonl and records/)")
    _key_option(verify)
    verify.add_argument(
        "--expect-head", metavar="HASH", help="the chain head recorded elsewhere (audit log, a report)"
    )
    verify.set_defaults(func=cmd_verify)

    prune = actions.add_parser(
        "prune", help="delete records whose retention ended, leaving a tombstone entry for each"
    )
    prune.add_argument("dir", metavar="DIR", help="archive directory")
    prune.add_argument(
        "paths", nargs="*", metavar="PATH", help="records to delete (default: every record past retention)"
    )
    prune.add_argument("--by", default=None, help="who prunes (default: the current user)")
    prune.add_argument("--reason", default="retention period ended", help="why (kept in the tombstone)")
    _key_option(prune)
    prune.add_argument(
        "--warehouse-url", default=None, help="where the prune is logged (default $SLO_WAREHOUSE_URL)"
    )
    prune.set_defaults(func=cmd_prune)

    recompute = actions.add_parser(
        "recompute", help="recompute an archived period from its archived inputs and compare"
    )
    recompute.add_argument("dir", metavar="DIR", help="archive directory")
    recompute.add_argument("--period", required=True, metavar="YYYY-MM", help="the archived period")
    _key_option(recompute)
    recompute.set_defaults(func=cmd_recompute)


def _key_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--key-env",
        metavar="VAR",
        default=None,
        help="environment variable holding the HMAC key (default SLO_ARCHIVE_KEY, if set)",
    )


def _key(args: argparse.Namespace) -> bytes | None:
    from slo_pipelines.resources.archive import DEFAULT_KEY_ENV

    if args.key_env is not None:
        value = os.environ.get(args.key_env)
        if not value:
            raise UserError(f"--key-env: variable {args.key_env} is not set or empty", EXIT_USAGE)
        return value.encode("utf-8")
    value = os.environ.get(DEFAULT_KEY_ENV)
    return value.encode("utf-8") if value else None


def _archive(args: argparse.Namespace) -> Any:
    from slo_pipelines.resources.archive import Archive

    root = Path(args.dir)
    if not root.is_dir():
        raise UserError(f"{args.dir}: no such archive directory")
    return Archive(root, _key(args))


def cmd_verify(args: argparse.Namespace) -> int:
    from slo_pipelines.engine.archive.chain import ArchiveError

    archive = _archive(args)
    try:
        count, problems = archive.verify(expect_head=args.expect_head)
    except ArchiveError as exc:
        raise UserError(str(exc)) from None
    if archive.key is None and '"signature"' in archive.manifest_text():
        print("signatures not checked: no key (set SLO_ARCHIVE_KEY or pass --key-env)", file=sys.stderr)
    if problems:
        for line in problems:
            print(_one_line(line))
        return EXIT_INVALID
    print(f"{count} records verified")
    return 0


def _one_line(text: str) -> str:
    """A problem stays on one line whatever the file names hold (newlines, undecodable bytes)."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def cmd_prune(args: argparse.Namespace) -> int:
    from slo_pipelines.engine.archive.chain import ArchiveError

    archive = _archive(args)
    by = args.by or getpass.getuser()
    try:
        stones = archive.prune(args.paths, pruned_by=by, reason=args.reason)
    except ArchiveError as exc:
        raise UserError(str(exc)) from None
    for stone in stones:
        print(f"deleted {stone['path']} (tombstone seq {stone['seq']})")
    if stones and (args.warehouse_url or os.environ.get("SLO_WAREHOUSE_URL")):
        from slo_pipelines.cli.audit_log import open_warehouse

        open_warehouse(args.warehouse_url).append_audit(
            by,
            "archive.prune",
            str(archive.root),
            args.reason,
            {"paths": [s["path"] for s in stones], "head": archive.head()},
        )
    print(f"{len(stones)} records pruned; head {archive.head()}")
    return 0


def cmd_recompute(args: argparse.Namespace) -> int:
    import hashlib
    import io
    import json
    import tempfile
    from datetime import datetime

    import pandas as pd

    from slo_pipelines.catalog import load_catalog
    from slo_pipelines.engine.alerting.policies import warning_thresholds
    from slo_pipelines.engine.archive.chain import ArchiveError
    from slo_pipelines.engine.archive.evidence import compare, result_numbers
    from slo_pipelines.engine.archive.periods import month_bounds
    from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
    from slo_pipelines.engine.exclusions.runtime import with_runtime_exclusions

    try:
        month_bounds(args.period)
    except ValueError as exc:
        raise UserError(str(exc), EXIT_USAGE) from None
    archive = _archive(args)
    try:
        _, problems = archive.verify()
    except ArchiveError as exc:
        raise UserError(str(exc)) from None
    if problems:
        for line in problems:
            print(line)
        raise UserError(f"{args.dir}: archive not intact ({len(problems)} problems); nothing recomputed")
    base = f"records/{args.period}/"
    files = {e["path"][len(base) :]: e for e in archive.entries() if e["path"].startswith(base)}
    if "digests.json" not in files:
        periods = sorted(
            {e["path"].split("/")[1] for e in archive.entries() if e["path"].endswith("/digests.json")}
        )
        raise UserError(f"--period: {args.period} is not archived (archived: {', '.join(periods) or 'none'})")

    def read(name: str) -> bytes:
        return (archive.root / base / name).read_bytes()

    digests = json.loads(read("digests.json"))
    problems = [
        f"{name}: sha256 differs from digests.json"
        for name, sha in digests["inputs_sha256"].items()
        if hashlib.sha256(read(name)).hexdigest() != sha
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name in files:
            if name.startswith("inputs/catalog/"):
                target = Path(tmp) / name.removeprefix("inputs/catalog/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(read(name))
        catalog = load_catalog(tmp)
    log = json.loads(read("inputs/exclusion-log.json"))
    for row in (*log["events"], *log["reviews"]):
        row["recorded_at"] = datetime.fromisoformat(row["recorded_at"])
    catalog = with_runtime_exclusions(catalog, log["events"], log["reviews"])
    buckets = pd.read_parquet(io.BytesIO(read("inputs/buckets.parquet")))
    at = int(datetime.fromisoformat(digests["evaluated_at"].replace("Z", "+00:00")).timestamp())
    firsts = json.loads(read("inputs/first-buckets.json")) if "inputs/first-buckets.json" in files else None
    evaluator = CatalogEvaluator(catalog, buckets, warning_thresholds(catalog), first_buckets=firsts)
    recomputed = [result_numbers(r.to_json()) for r in evaluator.evaluate(at)]
    if evaluator.catalog_digest != digests["catalog_digest"]:
        problems.append(
            f"catalog digest: archived {digests['catalog_digest']}, recomputed {evaluator.catalog_digest}"
        )
    problems += compare(digests["slos"], recomputed)
    for line in problems:
        print(line)
    if problems:
        return EXIT_INVALID
    print(
        f"period {args.period}: {len(recomputed)} objectives recomputed from the archived inputs; "
        "numbers, catalog digest and input digests match"
    )
    return 0
