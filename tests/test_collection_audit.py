"""Collection audits: gap lists, staleness and volume drops computed and judged by GX."""

import numpy as np
import pandas as pd
import pytest

from slo_pipelines.quality.collection import CollectionThresholds, _gaps, audit_collection, collection_summary
from tests.engine_helpers import make_slo
from tests.reference import RefSLO

D0 = 1_793_491_200  # 2026-11-01T00:00:00Z
DAY = 86400


def buckets(slo: str, starts: np.ndarray, total: float = 10.0) -> pd.DataFrame:
    return pd.DataFrame({"slo": slo, "start": starts, "good": total, "total": total, "bucket_seconds": 60})


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        ([], [(0, 600)]),
        ([0, 60, 120, 180, 240, 300, 360, 420, 480, 540], []),
        ([60, 120, 480], [(0, 60), (180, 480), (540, 600)]),
        ([540], [(0, 540)]),
        ([0], [(60, 600)]),
    ],
)
def test_gaps_are_the_missing_runs(present: list[int], expected: list[tuple[int, int]]) -> None:
    assert _gaps(np.array(present, dtype=np.int64), 60, 0, 600) == expected


def test_summary_and_verdicts() -> None:
    slos = {n: make_slo(RefSLO(method="Occurrences", target=0.99, window_seconds=DAY), name=n) for n in "abc"}
    full = np.arange(D0, D0 + DAY, 60)
    frame = pd.concat(
        [
            buckets("a", full),
            buckets("b", full[(full < D0 + 3600) | (full >= D0 + 5400)]),  # a 30-minute hole
            buckets("c", full[full < D0 + DAY - 3600], total=2.0),  # silent for the last hour, traffic fell
        ]
    )
    summary = collection_summary(
        frame, slos, D0, D0 + DAY, D0 + DAY, {"a": 14400.0, "b": 14100.0, "c": 14400.0}
    )
    by = summary.set_index("slo")
    assert by.loc["b", "gaps"] == [["2026-11-01T01:00:00Z", "2026-11-01T01:30:00Z"]]
    assert by.loc["b", "present"] == 1410 and by.loc["b", "completeness"] == pytest.approx(1410 / 1440)
    assert by.loc["c", "staleness_seconds"] == 3600 and by.loc["a", "staleness_seconds"] == 0
    assert by.loc["c", "volume_change"] == pytest.approx(2.0 * 1380 / 14400 - 1)
    findings = {f.name: f for f in audit_collection(summary, CollectionThresholds(0.99, 900, 0.5))}
    assert [s["slo"] for s in findings["completeness"].failing_slos] == ["b", "c"]
    assert [s["slo"] for s in findings["staleness"].failing_slos] == ["c"]
    assert [s["slo"] for s in findings["volume_drop"].failing_slos] == ["c"]
    assert findings["completeness"].unexpected_count == 2 and not findings["completeness"].success
    lenient = {f.name: f for f in audit_collection(summary, CollectionThresholds(0.9, 7200, 0.9))}
    assert all(f.success for f in lenient.values())


def test_no_previous_day_means_no_volume_verdict() -> None:
    slos = {"a": make_slo(RefSLO(method="Occurrences", target=0.99, window_seconds=DAY), name="a")}
    summary = collection_summary(buckets("a", np.arange(D0, D0 + DAY, 60)), slos, D0, D0 + DAY, D0 + DAY)
    assert summary["volume_change"].isna().all()
    assert all(f.success for f in audit_collection(summary))
