"""Typed reads of raw YAML values that record an issue instead of raising.

Each reader returns the value or None; None means "missing or already reported", so callers can
keep validating the rest of a document and every problem surfaces in one run.
"""

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from slo_pipelines.catalog.errors import CatalogIssue


def show(value: object) -> str:
    """A short, one-line rendering of a user value for `(got ...)`."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


@dataclass
class Reporter:
    """Where issues about one document go: errors make the catalog invalid, warnings do not."""

    file: str
    index: int | None
    sink: list[CatalogIssue] = field(default_factory=list)
    warnings: list[CatalogIssue] = field(default_factory=list)

    def error(self, path: str, message: str) -> None:
        self.sink.append(CatalogIssue(self.file, self.index, path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(CatalogIssue(self.file, self.index, path, message))


def _present(r: Reporter, parent: dict[str, Any], key: str, base: str, required: bool) -> tuple[Any, str]:
    """The value at `key` and its path; a missing required value is reported once, here."""
    value = parent.get(key)
    path = join(base, key)
    if value is None and required:
        r.error(path, "is required")
    return value, path


def _typed(
    r: Reporter, parent: dict[str, Any], key: str, base: str, kind: type, noun: str, required: bool
) -> Any:
    """The value when it is present and of `kind`; otherwise None, with the problem reported."""
    value, path = _present(r, parent, key, base, required)
    if value is None:
        return None
    if not isinstance(value, kind):
        r.error(path, f"must be {noun} (got {show(value)})")
        return None
    if required and not (value.strip() if isinstance(value, str) else value) and kind is not dict:
        r.error(path, "must not be empty")
        return None
    return value


def mapping(r: Reporter, parent: dict[str, Any], key: str, base: str, *, required: bool = False) -> Any:
    return _typed(r, parent, key, base, dict, "a mapping", required)


def as_mapping(r: Reporter, value: object, path: str) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        r.error(path, f"must be a mapping (got {show(value)})")
        return None
    return value


def sequence(r: Reporter, parent: dict[str, Any], key: str, base: str, *, required: bool = False) -> Any:
    return _typed(r, parent, key, base, list, "a list", required)


def string(r: Reporter, parent: dict[str, Any], key: str, base: str, *, required: bool = False) -> str | None:
    value: str | None = _typed(r, parent, key, base, str, "a string", required)
    return value


def string_list(
    r: Reporter, parent: dict[str, Any], key: str, base: str, *, required: bool = False
) -> list[str] | None:
    items = sequence(r, parent, key, base, required=required)
    if items is None:
        return None
    out: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            r.error(f"{join(base, key)}[{i}]", f"must be a non-empty string (got {show(item)})")
        else:
            out.append(item)
    return out


def number(
    r: Reporter, parent: dict[str, Any], key: str, base: str, *, required: bool = False
) -> float | None:
    value, path = _present(r, parent, key, base, required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        r.error(path, f"must be a number (got {show(value)})")
        return None
    return float(value)


def boolean(r: Reporter, parent: dict[str, Any], key: str, base: str) -> bool | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        r.error(join(base, key), f"must be true or false (got {show(value)})")
        return None
    return value


def choice(
    r: Reporter,
    parent: dict[str, Any],
    key: str,
    base: str,
    allowed: tuple[str, ...],
    *,
    required: bool = False,
) -> str | None:
    value = string(r, parent, key, base, required=required)
    if value is None:
        return None
    if value not in allowed:
        r.error(join(base, key), f"must be one of {', '.join(allowed)} (got {show(value)})")
        return None
    return value


def unknown_fields(
    r: Reporter, body: dict[str, Any], allowed: Iterable[str], base: str, hint: str = ""
) -> None:
    """A misspelt optional field would silently fall back to its default: report every unknown one."""
    known = tuple(allowed)
    for key in sorted(str(k) for k in body if k not in known):
        r.error(join(base, key), f"unknown field; known: {', '.join(known)}{hint}")
