"""What every `slo` sub-command shares: exit statuses, the user-error type and its one-line form, the
argument parser, the `--format` option, instants on the command line, tables/CSV and progress.

Stable for scripts and CI (DESIGN.md §6): exit 0 success, 1 invalid data, 2 usage; every user error is
one line on stderr starting with `slo: error: `; never a traceback.
"""

import argparse
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from slo_pipelines.reports.tables import render_table

__all__ = ["render_table"]

EXIT_INVALID = 1  # the input data or catalog is invalid
EXIT_USAGE = 2  # the command line is wrong


class UserError(Exception):
    """A mistake of the user's, reported as one line on stderr with its exit status, never a traceback."""

    def __init__(self, message: str, code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.code = code


@contextmanager
def as_user_errors(*kinds: type[Exception], file: str | None = None) -> Iterator[None]:
    """Domain errors of a sub-command (bad log line, broken trace, ...) become one-line user errors;
    `slo`'s main loop prints them with their exit status. A `line N ...` message gets its file name."""
    try:
        yield
    except kinds as exc:
        text = str(exc)
        raise UserError(f"{file}: {text}" if file and text.startswith("line ") else text) from None


def check_samples_path(option: str, path: str | None) -> None:
    """An output path whose suffix names no samples format is a usage error, found before any work."""
    from slo_pipelines.engine.sli.samples import SamplesError
    from slo_pipelines.resources.sample_files import sample_format

    if path is None:
        return
    try:
        sample_format(Path(path))
    except SamplesError as exc:
        raise UserError(f"{option}: {exc}", EXIT_USAGE) from None


ERROR_PREFIX = "slo: error: "
FORMATS = ("json", "table", "csv")  # one spelling and order of choices for every sub-command


def error_line(message: str) -> str:
    """The one-line form of a user error, as printed on stderr."""
    return ERROR_PREFIX + " ".join(str(message).split("\n"))


class SloArgumentParser(argparse.ArgumentParser):
    """Usage mistakes end in one `slo: error:` line and exit status 2 instead of argparse's usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, error_line(f"{message} (see `{self.prog} --help`)") + "\n")


def add_format_option(
    parser: argparse.ArgumentParser, default: str = "json", choices: Sequence[str] = FORMATS
) -> None:
    """`--format` with the same spelling, order of choices and help text everywhere."""
    described = {
        "json": "json (machine-readable)",
        "table": "table (aligned text for people)",
        "csv": "csv (the table's rows, for spreadsheets)",
        "markdown": "markdown",
    }
    parser.add_argument(
        "--format",
        choices=list(choices),
        default=default,
        help="output format: " + ", ".join(described.get(c, c) for c in choices) + f" (default {default})",
    )


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet", action="store_true", help="no progress on stderr (progress shows only on a terminal)"
    )


def instant_argument(option: str) -> Any:
    """An argparse `type` for instants: ISO 8601 with offset, Unix seconds, or a date (midnight UTC)."""
    from slo_pipelines.engine.common.timeutil import TimeParseError, parse_instant_or_date

    def parse(text: str) -> int:
        try:
            return parse_instant_or_date(text)
        except TimeParseError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "instant"
    return parse


INSTANT_HELP = "ISO 8601 with offset, Unix seconds, or a date (2026-11-07 = midnight UTC)"


def show_progress(quiet: bool = False) -> bool:
    """Progress goes to stderr only for a person at a terminal, never into pipes or CI logs."""
    return not quiet and sys.stderr.isatty()


def progress(items: Iterable[Any], desc: str, total: int | None = None, quiet: bool = False) -> Iterator[Any]:
    """Iterate `items`, with a tqdm progress bar on stderr when `show_progress`."""
    if not show_progress(quiet):
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, desc=desc, total=total, file=sys.stderr, leave=False)


def stage(message: str, quiet: bool = False) -> None:
    """One progress line on stderr (`slo: reading access.jsonl ...`) when `show_progress`."""
    if show_progress(quiet):
        print(f"slo: {message} ...", file=sys.stderr, flush=True)


def bucket_sizes(catalog: Any) -> dict[str, int]:
    """Each SLO's bucket size for rows without `bucket_seconds`: its annotation, else 60 s; keyed by the
    `slo` values rows may carry (`Catalog.slos_by_data_key`: composite objectives read their own rows)."""
    return {key: slo.bucket_seconds for key, slo in catalog.slos_by_data_key().items()}


def read_checked_samples(catalog: Any, path: str) -> Any:
    """The clean bucket frame of a samples file, validated as `slo evaluate` validates it (bucket sizes
    keyed by the `slo` values rows may carry); the first bad row is a one-line UserError (exit 1)."""
    from slo_pipelines.engine.sli.samples import SamplesError, validate_samples
    from slo_pipelines.resources.sample_files import read_samples

    try:
        checked = validate_samples(read_samples(path), known_slos=bucket_sizes(catalog))
    except SamplesError as exc:
        raise UserError(f"{path}: {exc}") from None
    if not checked.rejected.empty:
        raise UserError(checked.first_error(path))
    return checked.clean
