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
    prune.add_argument("dir", metavar="DIR")
    prune.add_argument(
        "paths", nargs="*", metavar="PATH", help="records to delete (default: every record past retention)"
    )
    prune.add_argument("--by", default=None, help="who prunes (default: the current user)")
    prune.add_argument("--reason", default="retention period ended", help="why (kept in the tombstone)")
    _key_option(prune)
    prune.add_argument("--warehouse-url", default=None, help="audit log (default $SLO_WAREHOUSE_URL)")
    prune.set_defaults(func=cmd_prune)


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
            print(line)
        return EXIT_INVALID
    print(f"{count} records verified")
    return 0


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
    print(f"{len(stones)} records pruned; head {archive.head()}")
    return 0
