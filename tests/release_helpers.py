"""A small catalog and sample histories for the release-management tests."""

from pathlib import Path

import pandas as pd

AT = 1_793_491_200  # 2026-11-01T00:00:00Z
AT_ISO = "2026-11-01T00:00:00Z"
HOUR = 3600

CATALOG = """\
apiVersion: openslo/v1
kind: Service
metadata: {name: checkout}
spec: {description: Checkout}
---
apiVersion: openslo/v1
kind: Service
metadata: {name: cart}
spec: {description: "Cart, calls checkout"}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-availability}
spec:
  service: checkout
  indicator:
    metadata: {name: checkout-ok}
    spec:
      ratioMetric:
        good: {metricSource: {type: Prometheus, spec: {query: good}}}
        total: {metricSource: {type: Prometheus, spec: {query: total}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: availability, target: 0.999}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: cart-availability}
spec:
  service: cart
  indicator:
    metadata: {name: cart-ok}
    spec:
      ratioMetric:
        good: {metricSource: {type: Prometheus, spec: {query: good}}}
        total: {metricSource: {type: Prometheus, spec: {query: total}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: availability, target: 0.99}]
---
apiVersion: slo-pipelines/v1
kind: Dependency
metadata: {name: cart-on-checkout}
spec: {service: cart, upstream: checkout}
---
apiVersion: slo-pipelines/v1
kind: BudgetPolicy
metadata: {name: checkout-policy}
spec:
  scope: {service: checkout}
  thresholds:
    - remainingBelow: 0.75
      actions: [cap_rollout]
      rolloutCapPercent: 25
    - remainingBelow: 0.5
      actions: [require_review, cap_rollout]
      rolloutCapPercent: 10
    - remainingBelow: 0
      actions: [freeze_deploys]
      exceptFor: [security]
---
apiVersion: slo-pipelines/v1
kind: MaintenanceWindow
metadata: {name: checkout-db}
spec:
  scope: {service: checkout}
  start: "2026-11-01T10:00:00Z"
  end: "2026-11-01T11:00:00Z"
  reason: Database failover drill
  approvedBy: change-board
"""


def write_catalog(tmp: Path) -> Path:
    directory = tmp / "catalog"
    directory.mkdir(exist_ok=True)
    (directory / "catalog.yaml").write_text(CATALOG)
    return directory


def history(
    slo: str, bad_per_minute: int, last_hour_bad: int | None = None, total: int = 100, end: int = AT
) -> pd.DataFrame:
    """Two days of minute buckets ending at `end`; the last hour may fail at another rate."""
    starts = list(range(end - 2 * 86400, end, 60))
    bad = [last_hour_bad if last_hour_bad is not None and s >= end - HOUR else bad_per_minute for s in starts]
    return pd.DataFrame({"slo": slo, "timestamp": starts, "good": [total - b for b in bad], "total": total})


def write_samples(tmp: Path, *frames: pd.DataFrame) -> Path:
    path = tmp / "samples.csv"
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    return path
