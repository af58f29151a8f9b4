"""Catalog problems are collected, not raised one by one, so a user fixes a whole catalog in one pass."""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogIssue:
    """One problem, located by file, document index (0-based) and field path."""

    file: str
    index: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.index is None else f"{self.file}[{self.index}]"
        if self.path:
            where = f"{where} {self.path}"
        return f"{where}: {self.message}"


class CatalogError(Exception):
    """Every issue found in a catalog; `str()` gives one issue per line."""

    def __init__(self, issues: Iterable[CatalogIssue]) -> None:
        self.issues: tuple[CatalogIssue, ...] = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)
