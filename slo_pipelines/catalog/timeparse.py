"""Instants, local wall-clock times and IANA zones as the catalog writes them.

One-off times must carry a UTC offset so nobody has to guess the zone; recurring and calendar times
are local wall-clock values whose zone is given separately, so they keep their hour across DST.
"""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slo_pipelines.catalog.fields import show


class TimeValueError(ValueError):
    """A time value the catalog cannot use; the message is ready for a catalog issue."""


def zone(value: object) -> ZoneInfo:
    if not isinstance(value, str) or not value.strip():
        raise TimeValueError(f"must be an IANA time zone such as Europe/Berlin (got {show(value)})")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeValueError(f"unknown time zone (got {show(value)})") from None


def _parse(value: object) -> datetime:
    if not isinstance(value, str):
        raise TimeValueError(f"must be an ISO 8601 date-time string (got {show(value)})")
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise TimeValueError(
            f"must be an ISO 8601 date-time such as 2026-03-01T02:00:00Z (got {show(value)})"
        ) from None


def instant(value: object) -> int:
    """UTC epoch seconds of an ISO 8601 time that states its offset."""
    moment = _parse(value)
    if moment.tzinfo is None:
        raise TimeValueError(f"needs a UTC offset such as Z or +01:00 (got {show(value)})")
    if moment.microsecond:
        raise TimeValueError(f"must be a whole second (got {show(value)})")
    return int(moment.timestamp())


def local_time(value: object, what: str) -> datetime:
    """A naive wall-clock time; `what` names the field that carries its zone."""
    moment = _parse(value)
    if moment.tzinfo is not None:
        raise TimeValueError(
            f"must be a local wall-clock time without offset; the zone comes from {what} (got {show(value)})"
        )
    if moment.microsecond:
        raise TimeValueError(f"must be a whole second (got {show(value)})")
    return moment


def local_iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
