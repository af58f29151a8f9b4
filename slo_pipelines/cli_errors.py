"""Exit statuses and the user-error type shared by every `slo` sub-command (stable for scripts and CI)."""

EXIT_INVALID = 1  # the input data or catalog is invalid
EXIT_USAGE = 2  # the command line is wrong


class UserError(Exception):
    """A mistake of the user's, reported as one line on stderr with its exit status, never a traceback."""

    def __init__(self, message: str, code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.code = code
