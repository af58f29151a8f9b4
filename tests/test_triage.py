"""Triage of a window's staged rows: each row's fate and reason, and verdicts cut into UTC days."""

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from slo_pipelines.quality.triage import triage_rows

D0 = 1_793_491_200  # 2026-11-01T00:00:00Z
DAY = 86400
KNOWN = ["a", "b", "c"]
NO_UNPLACED = pd.DataFrame(columns=["source", "reason"])


def staged(rows: list[tuple[object, object, float, float, str | None]]) -> pd.DataFrame:
    slo, start, good, total, reason = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "slo": pd.array(slo, dtype="str"),
            "start": pd.array(start, dtype="Int64"),
            "good": good,
            "total": total,
            "bucket_seconds": pd.array([60] * len(rows), dtype="Int64"),
            "source": "drop.csv",
            "row_number": np.arange(1, len(rows) + 1),
            "reason": pd.Series(reason, dtype=object),
        }
    )


def test_each_rejected_row_keeps_the_first_reason_that_applies() -> None:
    raw = staged(
        [
            ("a", D0, 5.0, 10.0, None),  # clean
            ("a", D0 + 60, 5.0, 10.0, "timestamp: not aligned (got 61)"),  # the samples rules said why
            ("zz", D0 + 120, 5.0, 10.0, None),  # unknown SLO
            ("zz", D0 + 180, 5.0, 10.0, "good: not a number (got 'x')"),  # unknown, and the rules said why
            ("b", D0 + 240, 11.0, 10.0, None),  # a GX rule
            ("b", D0 + 300, 11.0, 10.0, "good: more than total (got 11)"),  # both: the rules' words win
            ("c", D0 + 360, 5.0, 10.0, None),  # clean
        ]
    )

    triage = triage_rows(raw, NO_UNPLACED, KNOWN, D0, D0 + DAY)

    assert list(triage.clean["row_number"]) == [1, 7]
    assert dict(zip(triage.rejected["row_number"], triage.rejected["reason"], strict=True)) == {
        2: "timestamp: not aligned (got 61)",
        3: "unknown SLO (not in the catalog): zz",
        4: "good: not a number (got 'x')",
        5: "good > total (good=11.0, total=10.0)",
        6: "good: more than total (got 11)",
    }


def test_a_clean_window_rejects_nothing() -> None:
    raw = staged([(s, D0 + 60 * i, 5.0, 10.0, None) for s in KNOWN for i in range(5)])
    triage = triage_rows(raw, NO_UNPLACED, KNOWN, D0, D0 + DAY)
    assert len(triage.clean) == 15 and triage.rejected.empty
    assert triage.verdicts["success"].all() and (triage.verdicts["unexpected_count"] == 0).all()


def dirty_days(seed: int, days: int) -> pd.DataFrame:
    """Rows over `days` days (and a little before and after) with every kind of fault sprinkled in."""
    rng = np.random.default_rng(seed)
    n = 3000
    total = rng.integers(0, 2000, n) / 4
    rows = pd.DataFrame(
        {
            "slo": pd.array(rng.choice([*KNOWN, "stranger"], n, p=[0.33, 0.33, 0.32, 0.02]), dtype="str"),
            "start": pd.array(D0 - 600 + 60 * rng.integers(0, days * 1440 + 30, n), dtype="Int64"),
            "good": np.minimum(total, rng.integers(0, 2000, n) / 4),
            "total": total,
            "bucket_seconds": pd.array(np.full(n, 60), dtype="Int64"),
            "source": rng.choice(["x.csv", "y.parquet"], n),
            "row_number": np.arange(1, n + 1),
            "reason": pd.Series([None] * n, dtype=object),
        }
    )
    for column, value, share in [
        ("slo", None, 0.01),
        ("start", None, 0.01),
        ("good", np.nan, 0.02),
        ("total", -3.0, 0.01),
        ("good", np.inf, 0.005),
        ("good", 5000.25, 0.02),
        ("bucket_seconds", 0, 0.005),
        ("bucket_seconds", 300, 0.02),
    ]:
        rows.loc[rng.random(n) < share, column] = value
    odd = rng.random(n) < 0.01
    rows.loc[odd, "start"] = rows.loc[odd, "start"] + 7
    ruled = rng.random(n) < 0.02
    rows.loc[ruled, "reason"] = [f"timestamp: rule {i}" for i in range(int(ruled.sum()))]
    copies = rows.sample(frac=0.01, random_state=seed)
    return pd.concat([rows, copies], ignore_index=True).sample(frac=1.0, random_state=seed)


@pytest.mark.parametrize("seed", [1, 2])
def test_window_verdicts_per_day_are_each_day_triaged_alone(seed: int) -> None:
    # every rule is row-wise or keyed on (slo, start), so a day's counts and first examples cannot
    # depend on the other days of the window
    raw = dirty_days(seed, 3)
    window = triage_rows(raw, NO_UNPLACED, KNOWN, D0, D0 + 3 * DAY)

    assert set(window.verdicts["partition_start"]) == {D0, D0 + DAY, D0 + 2 * DAY}
    assert not window.verdicts["success"].all()
    for day in range(D0, D0 + 3 * DAY, DAY):
        starts = raw["start"].astype("Float64")
        alone = triage_rows(
            raw[((starts >= day) & (starts < day + DAY)).fillna(False).to_numpy(dtype=bool)],
            NO_UNPLACED,
            KNOWN,
            day,
            day + DAY,
        )
        mine = window.verdicts[window.verdicts["partition_start"] == day].reset_index(drop=True)
        assert_frame_equal(mine, alone.verdicts, check_exact=True)
        assert (~mine["success"]).sum() >= 5  # every day has failures to count and show
