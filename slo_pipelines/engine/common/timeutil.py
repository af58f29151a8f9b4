"""Instants are plain integer epoch seconds (UTC) inside the engine; these helpers convert at the edges."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Instants the engine accepts: from the Unix epoch to 2255 (inside pandas' nanosecond range), so a typo
# such as 1e20 is a clear error instead of an overflow deep inside numpy or pandas.
MIN_INSTANT = 0
MAX_INSTANT = 9_000_000_000


class TimeParseError(ValueError):
    """Raised with a message fit for a one-line user error."""


def parse_instant(text: str | int | float) -> int:
    """ISO 8601 with an explicit offset, or Unix seconds; naive datetimes are refused (ambiguous zone)."""
    if isinstance(text, bool):
        raise TimeParseError(f"not a timestamp: {text!r}")
    if isinstance(text, int | float):
        if text != text or text in (float("inf"), float("-inf")):
            raise TimeParseError(f"not a timestamp: {text!r}")
        if not MIN_INSTANT <= text <= MAX_INSTANT:
            raise TimeParseError(f"timestamp out of range (1970 to 2255): {text!r}")
        if float(text) != int(text):
            raise TimeParseError(f"timestamp must be whole seconds: {text!r}")
        return int(text)
    s = str(text).strip()
    if not s:
        raise TimeParseError("empty timestamp")
    try:
        number = float(s)
    except ValueError:
        pass
    else:
        return parse_instant(number)
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError as exc:
        raise TimeParseError(f"not an ISO 8601 timestamp: {s!r}") from exc
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise TimeParseError(f"timestamp has no UTC offset: {s!r}")
    ts = dt.timestamp()
    if not MIN_INSTANT <= ts <= MAX_INSTANT:
        raise TimeParseError(f"timestamp out of range (1970 to 2255): {s!r}")
    if ts != int(ts):
        raise TimeParseError(f"timestamp must be whole seconds: {s!r}")
    return int(ts)


def format_instant(ts: int | float) -> str:
    """RFC 3339 UTC with a trailing Z: the one format every output uses."""
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeParseError(f"unknown time zone: {name!r}") from exc


def local_to_epoch(local: datetime, tz: ZoneInfo) -> int:
    """Wall-clock time in `tz` to epoch seconds; in a DST gap the pre-transition offset applies (fold=0)."""
    return int(local.replace(tzinfo=tz).timestamp())


def parse_instant_or_date(text: str) -> int:
    """An instant given on a command line: what `parse_instant` takes, or a bare date (`2026-11-07`),
    which means midnight UTC of that day. Raises TimeParseError naming the text."""
    s = str(text).strip()
    if len(s) == 10 and s[4] == "-" and s[7] == "-":
        try:
            day = datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError as exc:
            raise TimeParseError(f"not a date: {s!r}") from exc
        return parse_instant(int(day.timestamp()))
    return parse_instant(s)
