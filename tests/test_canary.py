"""Canary analysis: calibration on simulated canaries, the statistics against scipy and brute force,
budget terms, minimum sample sizes, the input files and `slo canary`'s exit codes."""

import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.canary_calibration import LATENCY_SLO, RATIO_SLO, error_fail_rate, latency_fail_rate
from slo_pipelines.engine.release.canary import (
    CanaryInputError,
    CanarySample,
    analyse,
    error_ratio_test,
    hodges_lehmann,
    min_requests_for,
)
from slo_pipelines.resources.release_files import read_canary_file
from tests.release_helpers import write_catalog

ROOT = Path(__file__).resolve().parent.parent
NONE = np.empty(0)


def test_false_fail_rate_near_alpha_when_canary_equals_baseline() -> None:
    # 600 repetitions: the binomial standard error at 0.05 is 0.009, so [0.025, 0.075] is ±2.8 SE
    assert 0.025 <= error_fail_rate(0.001, 1.0, 20_000, reps=600) <= 0.075
    assert 0.025 <= latency_fail_rate(200, 1.0, reps=600) <= 0.075


def test_power_against_a_doubled_error_ratio() -> None:
    # 20 vs 40 expected errors per 20,000 requests: the normal approximation gives power ≈ 0.83
    assert 0.72 <= error_fail_rate(0.001, 2.0, 20_000, reps=300) <= 0.93
    assert error_fail_rate(0.001, 2.0, 100_000, reps=100) >= 0.97


def test_error_ratio_test_matches_the_one_sided_z_test() -> None:
    from scipy import stats

    test, p = error_ratio_test(40, 20_000, 62, 20_000)
    pooled = 102 / 40_000
    z = (62 / 20_000 - 40 / 20_000) / np.sqrt(pooled * (1 - pooled) * 2 / 20_000)
    assert test == "two_proportion_chi2"
    assert p == pytest.approx(float(stats.norm.sf(z)), rel=1e-9)
    # a canary better than its baseline is never a failure, however significant
    assert error_ratio_test(62, 20_000, 40, 20_000)[1] == pytest.approx(1 - p, rel=1e-9)
    small_test, small_p = error_ratio_test(0, 200, 3, 200)
    assert small_test == "fisher_exact"
    assert small_p == pytest.approx(stats.fisher_exact([[3, 197], [0, 200]], alternative="greater").pvalue)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 50), min_size=1, max_size=12),
    st.lists(st.integers(0, 50), min_size=1, max_size=12),
)
def test_hodges_lehmann_is_the_median_of_pairwise_differences(xs: list[int], ys: list[int]) -> None:
    shift, lower, upper = hodges_lehmann(np.array(xs, float), np.array(ys, float), 0.05)
    diffs = sorted(x - y for x in xs for y in ys)
    assert shift == statistics.median(diffs)
    assert lower <= shift <= upper
    assert lower in diffs and upper in diffs


def test_hodges_lehmann_recovers_a_known_shift() -> None:
    rng = np.random.default_rng(3)
    base = rng.lognormal(np.log(100), 0.3, 400)
    shift, lower, upper = hodges_lehmann(base + 25.0, base, 0.05)
    assert shift == pytest.approx(25.0)
    assert lower <= 25.0 <= upper and upper - lower < 20


def test_budget_terms_and_verdicts() -> None:
    base = CanarySample(99_900, 100_000, NONE)  # 0.1 % errors: burn 1 at 99.9 %
    canary = CanarySample(49_750, 50_000, NONE)  # 0.5 % errors: burn 5
    report = analyse(RATIO_SLO, base, canary)
    assert report.verdict == "fail"
    [check] = report.checks
    [terms] = check.budget
    assert terms.baseline_burn_rate == pytest.approx(1.0)
    assert terms.canary_burn_rate == pytest.approx(5.0)
    assert terms.excess_burn_rate == pytest.approx(4.0)
    assert terms.budget_exhausted_in_hours == pytest.approx(30 * 24 / 5)
    assert report.to_json()["p_value"] == check.p_value < 1e-10

    assert min_requests_for([0.999]) == 10_000
    few = analyse(RATIO_SLO, CanarySample(9_990, 10_000, NONE), CanarySample(9_000, 9_999, NONE))
    assert few.verdict == "inconclusive" and "9999 in the smaller arm, 10000 needed" in few.checks[0].detail
    same = analyse(RATIO_SLO, base, CanarySample(99_905, 100_000, NONE))
    assert same.verdict == "pass"


def test_latency_check_counts_violations_per_request() -> None:
    rng = np.random.default_rng(5)
    base = rng.lognormal(np.log(100), 0.5, 500)
    slow = base * 3.0  # a share of requests now above the 300 ms threshold
    report = analyse(LATENCY_SLO, CanarySample(None, None, base), CanarySample(None, None, slow))
    [check] = report.checks
    assert check.check == "latency" and check.test == "mann_whitney_u" and report.verdict == "fail"
    [terms] = check.budget
    assert terms.canary_burn_rate == pytest.approx(float(np.mean(slow >= 300)) / 0.01)
    assert check.effect["shift_lower"] > 0
    few = analyse(LATENCY_SLO, CanarySample(None, None, base[:10]), CanarySample(None, None, slow[:10]))
    assert few.verdict == "inconclusive"
    with pytest.raises(CanaryInputError, match="share no data"):
        analyse(LATENCY_SLO, CanarySample(1, 2, NONE), CanarySample(None, None, slow))


def test_canary_files(tmp_path: Path) -> None:
    rows = tmp_path / "c.csv"
    rows.write_text("good,total,latency\n1,1,120.5\n0,1,950\n1,1,\n")
    sample = read_canary_file(rows)
    assert (sample.good, sample.total) == (2, 3) and sample.latency.tolist() == [120.5, 950.0]
    obj = tmp_path / "b.json"
    obj.write_text(json.dumps({"good": 99, "total": 100, "latency": [1, 2]}))
    assert read_canary_file(obj).bad == 1
    obj.write_text(json.dumps({"good": 101, "total": 100}))
    with pytest.raises(CanaryInputError, match=r"b.json good: must be <= total \(got 101 > 100\)"):
        read_canary_file(obj)
    obj.write_text(json.dumps({"good": 1.5, "total": 3}))
    with pytest.raises(CanaryInputError, match="good: must be a whole number"):
        read_canary_file(obj)
    obj.write_text(json.dumps({"errors": 1}))
    with pytest.raises(CanaryInputError, match="errors: unknown field"):
        read_canary_file(obj)


def _slo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slo_pipelines.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_slo_canary_exit_codes(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path)
    base, bad, few = tmp_path / "base.json", tmp_path / "bad.json", tmp_path / "few.json"
    base.write_text(json.dumps({"good": 99_990, "total": 100_000}))
    bad.write_text(json.dumps({"good": 99_900, "total": 100_000}))
    few.write_text(json.dumps({"good": 99, "total": 100}))
    common = ["canary", "--catalog", catalog, "--slo", "checkout-availability", "--baseline", base]
    passed = _slo(*common, "--canary", base)
    assert passed.returncode == 0, passed.stderr
    assert json.loads(passed.stdout)["verdict"] == "pass"
    failed = _slo(*common, "--canary", bad)
    doc = json.loads(failed.stdout)
    assert failed.returncode == 1 and doc["verdict"] == "fail"
    assert doc["checks"][0]["budget"][0]["canary_burn_rate"] == pytest.approx(1.0)
    assert _slo(*common, "--canary", few).returncode == 3
    unknown = _slo("canary", "--catalog", catalog, "--slo", "nope", "--baseline", base, "--canary", base)
    assert unknown.returncode == 2 and "--slo: no SLO" in unknown.stderr
    missing = _slo(*common, "--canary", tmp_path / "none.json")
    assert missing.returncode == 2 and "none.json: file not found" in missing.stderr
