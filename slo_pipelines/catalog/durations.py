"""OpenSLO duration shorthand (`5m`, `28d`, `1M`) parsed into `Duration`.

Fixed-length units become seconds; calendar units (M, Q, Y) only make sense for calendar windows,
so asking for their seconds is an error rather than a silent 30-day approximation.
"""

import re

from slo_pipelines.catalog.fields import show
from slo_pipelines.catalog.models import Duration

UNIT_SECONDS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
CALENDAR_UNITS = ("M", "Q", "Y")
_PATTERN = re.compile(r"^([0-9]+)([smhdwMQY])$")
_ZERO = re.compile(r"^0+[smhdw]$")


class DurationError(ValueError):
    """A value that is not a usable duration; the message is ready for a catalog issue."""


MAX_DURATION_SECONDS = 5 * 366 * 86400


def parse_duration(value: object) -> Duration:
    if isinstance(value, bool) or not isinstance(value, str):
        raise DurationError(f"must be a duration string such as 5m, 28d or 1M (got {show(value)})")
    match = _PATTERN.match(value.strip())
    if match is None:
        raise DurationError(
            "must be a whole number followed by one of the units s, m, h, d, w, M, Q, Y "
            f"such as 5m, 28d or 1M (got {show(value)})"
        )
    count = int(match.group(1))
    if count <= 0:
        raise DurationError(f"must be positive (got {show(value)})")
    duration = Duration(count=count, unit=match.group(2))
    if duration.nominal_seconds() > MAX_DURATION_SECONDS:
        # windows are evaluated on a dense per-bucket grid: a century-long window is a typo, not a plan
        raise DurationError(f"must be at most 5 years (got {show(value)})")
    return duration


def fixed_seconds(duration: Duration) -> int:
    """Exact length in seconds; calendar units have no fixed length."""
    if duration.unit not in UNIT_SECONDS:
        raise DurationError(
            f"needs a fixed-length unit (s, m, h, d, w); {duration.unit} varies with the calendar "
            f"(got {show(str(duration))})"
        )
    return duration.count * UNIT_SECONDS[duration.unit]


def parse_fixed_seconds(value: object, *, allow_zero: bool = False) -> int:
    """A duration string or a plain positive number of seconds, as OpenSLO's `timeSliceWindow` allows.

    With `allow_zero`, `0m` / `0` mean no time at all (OpenSLO's `alertAfter: 0m`)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0 or (value == 0 and not allow_zero):
            raise DurationError(f"must be positive (got {value})")
        return value
    if allow_zero and isinstance(value, str) and _ZERO.match(value.strip()):
        return 0
    return fixed_seconds(parse_duration(value))
