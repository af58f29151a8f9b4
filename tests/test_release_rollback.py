"""Blue-green rollback trigger: thresholds from the policy, binomial evidence, `slo rollback-check`."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from slo_pipelines.catalog import load_catalog
from slo_pipelines.catalog.budget_policy import BudgetPolicy, BudgetRule, catalog_budget_policies
from slo_pipelines.catalog.models import Scope
from slo_pipelines.engine.release.rollback import rollback_check, rollback_threshold
from tests.release_helpers import AT, write_catalog

ROOT = Path(__file__).resolve().parent.parent
SWITCH = AT - 1800


def colour(
    minutes: int, bad: int, total: int = 100, start: int = SWITCH, slo: str = "checkout-availability"
) -> pd.DataFrame:
    starts = [start + 60 * i for i in range(minutes)]
    return pd.DataFrame(
        {
            "slo": slo,
            "start": starts,
            "good": float(total - bad),
            "total": float(total),
            "value": float("nan"),
        }
    )


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return load_catalog(write_catalog(tmp_path_factory.mktemp("rb")))


def _check(catalog, buckets: pd.DataFrame, at: int = AT, policies=None):  # type: ignore[no-untyped-def]
    slos = [s for s in catalog.slos.values() if s.service == "checkout"]
    pol = catalog_budget_policies(catalog.documents) if policies is None else policies
    return rollback_check("checkout", slos, buckets, SWITCH, at, 1800, pol)


def test_rollback_keep_and_inconclusive(catalog) -> None:  # type: ignore[no-untyped-def]
    # the checkout policy has no burn-rate rule: the 30-day page threshold 14.4 applies (1.44 % errors)
    burning = _check(catalog, colour(10, 5), at=SWITCH + 600)
    [e] = burning.evidence
    assert burning.decision == "rollback"
    assert e.threshold_burn_rate == pytest.approx(14.4) and "page threshold" in e.threshold_source
    assert (e.bad, e.total) == (50, 1000) and e.burn_rate == pytest.approx(50.0)
    assert e.p_value == pytest.approx(float(stats.binom.sf(49, 1000, 0.0144)), rel=1e-9)

    healthy = _check(catalog, colour(30, 0).assign(good=[99.9 if i % 10 else 99.0 for i in range(30)]))
    assert healthy.decision == "keep", healthy.evidence[0].detail

    early = _check(catalog, colour(2, 1), at=SWITCH + 120)
    assert early.decision == "inconclusive" and "695 requests needed" in early.evidence[0].detail
    none = _check(catalog, colour(0, 0))
    assert none.decision == "inconclusive" and "no requests" in none.evidence[0].detail


def test_only_the_interval_after_the_switch_counts(catalog) -> None:  # type: ignore[no-untyped-def]
    before = colour(30, 50, start=SWITCH - 1800)  # the old colour's outage is not the new colour's fault
    after = colour(30, 0)
    decision = _check(catalog, pd.concat([before, after], ignore_index=True))
    assert decision.decision == "keep" and decision.evidence[0].total == 3000
    assert decision.to_json()["interval"] == {"start": "2026-10-31T23:30:00Z", "end": "2026-11-01T00:00:00Z"}


def test_threshold_from_the_policy(catalog) -> None:  # type: ignore[no-untyped-def]
    policy = BudgetPolicy(
        "strict",
        Scope(service="checkout"),
        rules=(
            BudgetRule(("warn",), burn_window="1h", burn_above=6.0),
            BudgetRule(("require_review",), burn_window="5m", burn_above=2.0),
        ),
    )
    slo = catalog.slos["checkout-availability"]
    assert rollback_threshold(policy, slo) == (
        2.0,
        "strict: burn rate over 5m > 2".replace("strict", "policy strict"),
    )
    # 0.5 % errors: under the page threshold, over the policy's 2x (0.2 %)
    buckets = colour(30, 0).assign(good=[99.0 if i % 2 else 100.0 for i in range(30)])
    assert _check(catalog, buckets).decision == "keep"
    assert _check(catalog, buckets, policies=[policy]).decision == "rollback"


def _slo(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slo_pipelines.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_slo_rollback_check(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path)
    path = tmp_path / "green.csv"
    colour(10, 5).rename(columns={"start": "timestamp"}).drop(columns="value").to_csv(path, index=False)
    common = ["rollback-check", "--catalog", catalog, "--service", "checkout", "--samples", path]
    out = _slo(*common, "--switch-at", SWITCH, "--at", SWITCH + 600)
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert doc["decision"] == "rollback" and doc["evidence"][0]["bad"] == 50
    colour(10, 1).rename(columns={"start": "timestamp"}).drop(columns="value").to_csv(path, index=False)
    wait = _slo(*common, "--switch-at", SWITCH, "--at", SWITCH + 60)
    assert wait.returncode == 3 and json.loads(wait.stdout)["decision"] == "inconclusive"
    bad = _slo(*common, "--switch-at", SWITCH, "--at", SWITCH + 600, "--window", "1M")
    assert bad.returncode == 2 and "--window" in bad.stderr
    assert _slo(*common, "--switch-at", SWITCH, "--at", SWITCH - 60).returncode == 2
