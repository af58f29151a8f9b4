"""Exit statuses and the user-error type shared by every `slo` sub-command (stable for scripts and CI)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
    from slo_pipelines.engine.samples import SamplesError
    from slo_pipelines.resources.sample_files import sample_format

    if path is None:
        return
    try:
        sample_format(Path(path))
    except SamplesError as exc:
        raise UserError(f"{option}: {exc}", EXIT_USAGE) from None
