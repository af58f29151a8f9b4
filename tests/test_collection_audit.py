"""Collection audits: gap lists, staleness and volume drops computed and judged by GX."""

import json

import numpy as np
import pandas as pd
import pytest

from slo_pipelines.quality.collection import (
    CollectionFinding,
    CollectionThresholds,
    _expectations,
    _gaps,
    audit_collection,
    audit_collection_days,
    collection_summary,
)
from slo_pipelines.quality.gx_runtime import dataframe_validation
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


RULE_COLUMNS = {
    "completeness": "completeness",
    "staleness": "staleness_seconds",
    "volume_drop": "volume_change",
}


def _alone_by_gx(summary: pd.DataFrame, thresholds: CollectionThresholds) -> dict[str, tuple[bool, int]]:
    """GX's own verdict and count per column for this summary validated by itself (SUMMARY format)."""
    validation = dataframe_validation("test_collection_alone", lambda: _expectations(thresholds))
    frame = summary[["slo", "completeness", "staleness_seconds", "volume_change"]].astype(
        {"completeness": "float64", "staleness_seconds": "float64", "volume_change": "float64"}
    )
    result = validation.run(batch_parameters={"dataframe": frame}, result_format={"result_format": "SUMMARY"})
    by_column = {
        str(r.expectation_config.kwargs["column"]): r for r in result.results if r.expectation_config
    }
    return {c: (bool(r.success), int(r.result.get("unexpected_count") or 0)) for c, r in by_column.items()}


def _as_json(findings: list[CollectionFinding]) -> str:
    return json.dumps([vars(f) for f in findings], default=str, sort_keys=True)


def test_one_validation_per_window_judges_each_day_as_if_alone() -> None:
    names = [f"slo-{i}" for i in range(6)]
    slos = {n: make_slo(RefSLO(method="Occurrences", target=0.99, window_seconds=DAY), name=n) for n in names}
    full = np.arange(D0, D0 + 7 * DAY, 60)
    rng = np.random.default_rng(7)
    frames = []
    for i, name in enumerate(names):
        keep = np.ones(full.size, dtype=bool)
        if i == 1:  # day 1: a four-hour hole
            keep &= ~((full >= D0 + DAY + 3600) & (full < D0 + DAY + 5 * 3600))
        if i in (2, 4):  # day 4: two SLOs lose their morning
            keep &= ~((full >= D0 + 4 * DAY) & (full < D0 + 4 * DAY + 6 * 3600))
        if i == 3:  # silent for the last hour of day 2, and for day 5 after 01:00
            keep &= ~((full >= D0 + 3 * DAY - 3600) & (full < D0 + 3 * DAY))
            keep &= ~((full >= D0 + 5 * DAY + 3600) & (full < D0 + 6 * DAY))
        total = rng.integers(50, 100, full.size).astype(float)
        if i == 5:  # day 6: traffic falls by 90 %
            total[(full >= D0 + 6 * DAY)] /= 10
        frames.append(buckets(name, full[keep]).assign(good=total[keep], total=total[keep]))
    frame = pd.concat(frames, ignore_index=True)
    summaries, previous = [], None
    for day in range(D0, D0 + 7 * DAY, DAY):
        today = frame[(frame["start"] >= day) & (frame["start"] < day + DAY)]
        summary = collection_summary(today, slos, day, day + DAY, D0 + 7 * DAY, previous)
        summaries.append(summary)
        previous = {str(s): float(v) for s, v in zip(summary["slo"], summary["volume"], strict=True)}
    summaries.insert(3, summaries[0].iloc[0:0])  # an empty summary in the middle passes, as alone
    thresholds = CollectionThresholds(0.9, 900, 0.5)

    batched = audit_collection_days(summaries, thresholds)

    assert len(batched) == len(summaries)
    failing = [
        (k, f.name, [s["slo"] for s in f.failing_slos])
        for k, findings in enumerate(batched)
        for f in findings
        if not f.success
    ]
    assert failing == [
        (1, "completeness", ["slo-1"]),
        (2, "staleness", ["slo-3"]),
        (5, "completeness", ["slo-2", "slo-4"]),
        (6, "completeness", ["slo-3"]),
        (6, "staleness", ["slo-3"]),
        (6, "volume_drop", ["slo-3"]),
        (7, "volume_drop", ["slo-5"]),
    ]
    for summary, findings in zip(summaries, batched, strict=True):
        assert _as_json(findings) == _as_json(audit_collection(summary, thresholds))
        if summary.empty:
            assert all(f.success and f.unexpected_count == 0 for f in findings)
            continue
        alone = _alone_by_gx(summary, thresholds)  # the day validated by itself, as before batching
        assert {f.name: (f.success, f.unexpected_count) for f in findings} == {
            rule: alone[column] for rule, column in RULE_COLUMNS.items()
        }
