"""Per-asset progress of a Dagster run on stdout: each asset as it starts and ends, with elapsed time and
its counts (rows, snapshots, events), so a long demo run is never silent for minutes."""

import time
from collections.abc import Callable
from typing import Any, TextIO

import dagster as dg

SHOWN_COUNTS = 3


def _counts(metadata: dict[str, Any]) -> str:
    shown = []
    for key, value in metadata.items():
        raw = getattr(value, "value", value)
        if isinstance(raw, int) and not isinstance(raw, bool):
            shown.append(f"{key}={raw:,}")
        if len(shown) == SHOWN_COUNTS:
            break
    return ", ".join(shown)


def progress_listener(out: TextIO) -> Callable[[dg.EventLogEntry], None]:
    """An instance event listener printing `asset  12.3 s  rows_stored=…` as each step finishes."""
    started: dict[str, float] = {}
    counts: dict[str, str] = {}

    def on_event(entry: dg.EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None or event.step_key is None:
            return
        step = event.step_key
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[step] = time.monotonic()
            print(f"  ▶ {step} ...", file=out, flush=True)
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization  # type: ignore[union-attr]
            counts[step] = _counts(dict(materialization.metadata))
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            elapsed = time.monotonic() - started.get(step, time.monotonic())
            verdict = "✓" if event.event_type == dg.DagsterEventType.STEP_SUCCESS else "✗ FAILED"
            detail = counts.get(step, "")
            print(f"  {verdict} {step:<28} {elapsed:7.1f} s  {detail}".rstrip(), file=out, flush=True)

    return on_event
