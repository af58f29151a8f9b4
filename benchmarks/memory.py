"""Peak resident memory, for the whole process and per benchmark phase, without tracing allocations.

`ru_maxrss` is the process high-water mark. Linux can reset that mark (`/proc/self/clear_refs` ← 5), so a
phase's own peak is the mark read at its end after a reset at its start; the whole-process peak is kept
as the maximum of the marks read just before every reset.
"""

import resource
from pathlib import Path

_CLEAR_REFS = Path("/proc/self/clear_refs")


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


class PeakTracker:
    def __init__(self) -> None:
        self._process_peak = 0.0
        self.per_phase_supported = True

    def start_phase(self) -> None:
        self._process_peak = max(self._process_peak, _maxrss_mb())
        try:
            _CLEAR_REFS.write_text("5")
        except OSError:
            self.per_phase_supported = False

    def phase_peak_mb(self) -> float:
        """Peak since the last `start_phase` (the process peak so far where resets are unavailable)."""
        return _maxrss_mb()

    def process_peak_mb(self) -> float:
        return max(self._process_peak, _maxrss_mb())
