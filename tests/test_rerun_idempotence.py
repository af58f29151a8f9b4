"""Re-running sub-ranges after a backfill leaves every warehouse table exactly as the single backfill did."""

import json
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from slo_pipelines.assets import partitions
from slo_pipelines.engine.alerting.events import join_stored_alerts
from slo_pipelines.resources import warehouse_schema as schema
from tests.pipeline_helpers import D0, DAY, FLEET, definitions, drop, fleet_samples, run_range

# columns that record when a row was written, not what it says
RECORDED_AT = {
    "ingested_at",
    "quarantined_at",
    "audited_at",
    "proposed_at",
    "recorded_at",
    "updated_at",
    "id",
}

MIDNIGHT_WINDOW = """
apiVersion: slo-pipelines/v1
kind: MaintenanceWindow
metadata: {name: midnight-failover-drill}
spec:
  scope: {}
  start: "2026-10-31T22:30:00Z"
  end: "2026-11-01T01:30:00Z"
  reason: Failover drill across midnight
  approvedBy: change-board
"""


def warehouse_tables(url: str) -> dict[str, pd.DataFrame]:
    """Every table of the warehouse schema, without recorded-at columns, in a canonical row order."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    out = {}
    try:
        with engine.connect() as conn:
            for table in schema.METADATA.sorted_tables:
                columns = [c for c in table.columns if c.name not in RECORDED_AT]
                rows = conn.execute(sa.select(*columns)).all()
                frame = pd.DataFrame([tuple(r) for r in rows], columns=[c.name for c in columns])
                # JSON documents compared as canonical text (PostgreSQL's JSONB reorders keys)
                frame = frame.map(
                    lambda v: json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v
                )
                out[table.name] = frame.sort_values(list(frame.columns), ignore_index=True)
    finally:
        engine.dispose()
    return out


def test_overlapping_reruns_leave_every_table_as_the_single_backfill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog_dir = tmp_path / "catalog"
    shutil.copytree(FLEET, catalog_dir)
    (catalog_dir / "midnight.yaml").write_text(MIDNIGHT_WINDOW)
    samples = fleet_samples(D0 - 4 * DAY, D0 + 3 * DAY)
    drop(tmp_path, "history.parquet", samples)
    # re-delivered rows of a re-run day with a truncated last line: that line alone is quarantined, once
    redelivered = samples[(samples["start"] == D0 + 3600) & samples["value"].isna()]
    late = drop(tmp_path, "late.jsonl", redelivered)
    with late.open("a") as fh:
        fh.write('{"slo": "checkout-availability", "timestamp": "2026-11-01T01:0')
    defs = definitions(tmp_path, catalog=catalog_dir)
    url = defs.resources["warehouse"].url
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        # the backfill processes its 7 days in windows of 3 (as a year is processed in weeks): the
        # windows' edges cut through alerts like re-runs do, and must leave the same tables
        monkeypatch.setattr(partitions, "WINDOW_DAYS", 3)
        first = run_range(defs, instance, "2026-10-28", "2026-11-03")
        assert first.success
        monkeypatch.setattr(partitions, "WINDOW_DAYS", 7)
        backfill = warehouse_tables(url)

        alerts = backfill["alert_events"]
        crossing = alerts[
            (alerts["started_at"] < D0) & (alerts["ended_at"].isna() | (alerts["ended_at"] > D0))
        ]
        assert len(crossing), "some alert fires across 2026-11-01T00:00Z, where a re-run starts"
        assert len(backfill["audit_results"]) and len(backfill["budget_snapshots"])
        assert len(backfill["quarantine"]) == 1

        for first_key, last_key in [
            ("2026-11-01", "2026-11-02"),  # starts inside firing alerts and inside the drill
            ("2026-10-31", "2026-10-31"),  # ends inside them
            ("2026-11-02", "2026-11-03"),
            ("2026-10-30", "2026-11-01"),
        ]:
            assert run_range(defs, instance, first_key, last_key).success
            after = warehouse_tables(url)
            for name, frame in backfill.items():
                what = f"{name} after {first_key}..{last_key}"
                if name in schema.APPEND_ONLY:
                    # a log of actions records the re-run too; what it held before stays as it was
                    kept = after[name].merge(frame, how="inner")
                    pd.testing.assert_frame_equal(
                        kept.sort_values(list(kept.columns), ignore_index=True), frame, obj=what
                    )
                    continue
                pd.testing.assert_frame_equal(after[name], frame, obj=what)


def _event(started: int, ended: int | None) -> dict[str, object]:
    return {
        "slo": "checkout-availability",
        "objective": "availability",
        "severity": "ticket",
        "long_window": "1d",
        "short_window": "2h",
        "threshold": 3.0,
        "started_at": started,
        "ended_at": ended,
    }


def test_an_alert_firing_at_a_range_start_keeps_its_identity_and_later_end() -> None:
    start, end = D0, D0 + DAY
    stored = pd.DataFrame([_event(D0 - 8000, D0 + 3 * DAY), _event(D0 - 5 * DAY, D0 - 4 * DAY)])
    replayed = pd.DataFrame([_event(start, None), _event(D0 + 600, D0 + 1200)])
    joined = join_stored_alerts(replayed, stored, start, end)
    # the firing alert is the one stored, started before the range, ended after it: same row, same key
    assert joined.iloc[0]["started_at"] == D0 - 8000 and joined.iloc[0]["ended_at"] == D0 + 3 * DAY
    assert joined.iloc[1]["started_at"] == D0 + 600 and joined.iloc[1]["ended_at"] == D0 + 1200
    # an alert that had ended before the range starts is another alert
    ended = pd.DataFrame([_event(D0 - 8000, D0 - 60)])
    assert join_stored_alerts(replayed, ended, start, end).iloc[0]["started_at"] == start


@pytest.mark.parametrize("stored_end", [None, D0 + 300])
def test_a_stored_alert_still_open_is_continued_not_duplicated(stored_end: int | None) -> None:
    stored = pd.DataFrame([_event(D0 - 8000, stored_end)])
    joined = join_stored_alerts(pd.DataFrame([_event(D0, D0 + 900)]), stored, D0, D0 + DAY)
    assert list(joined["started_at"]) == [D0 - 8000] and list(joined["ended_at"]) == [D0 + 900]


def test_a_later_range_run_first_is_merged_into_the_alert_it_continues() -> None:
    # the later range [D0 + DAY, ...] ran first and recorded the alert as starting at its own start
    stand_in = pd.DataFrame([_event(D0 + DAY, D0 + DAY + 500)])
    joined = join_stored_alerts(pd.DataFrame([_event(D0 + 100, None)]), stand_in, D0, D0 + DAY)
    assert list(joined["started_at"]) == [D0 + 100] and list(joined["ended_at"]) == [D0 + DAY + 500]
