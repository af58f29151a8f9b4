"""`policy_decisions`: budget-policy actions engaging and lifting as the daily budgets change."""

import dagster as dg
import pandas as pd

from slo_pipelines.assets.evaluation import effective_catalog
from slo_pipelines.assets.groups import PIPELINE_GROUP
from slo_pipelines.assets.partitions import daily_asset, partition_bounds
from slo_pipelines.catalog.budget_policy import catalog_budget_policies, policy_for_slo
from slo_pipelines.engine.alerting.budget_decisions import DECISION_COLUMNS, decision_events, engaged_state
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.reports.markdown import markdown_frame
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.warehouse import WarehouseResource


@daily_asset(group_name=PIPELINE_GROUP, tags={"domain": "budgets"}, deps=["error_budgets"], kinds={"pandas"})
def policy_decisions(
    context: dg.AssetExecutionContext, catalog: CatalogResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Every decision with the inputs that caused it: freeze, rollout cap, review, warnings."""
    start, end = partition_bounds(context)
    cat = effective_catalog(catalog, warehouse)
    policies = catalog_budget_policies(cat.documents)
    snapshots = warehouse.read_budget_snapshots(start=start + 1, end=end + 1)
    before = engaged_state(warehouse.read_policy_decisions(end=start + 1))
    events = []
    for name, slo in sorted(cat.slos.items()):
        policy = policy_for_slo(policies, name, slo.service)
        if policy is not None:
            mine = snapshots[snapshots["slo"] == name]
            events.append(decision_events(policy, mine, {k for k in before if k[0] == name}))
    frame = pd.concat(events, ignore_index=True) if events else pd.DataFrame(columns=DECISION_COLUMNS)
    if not frame.empty:
        warehouse.upsert_policy_decisions(frame)
        warehouse.append_audit(
            "policy_decisions",
            "policy.decision",
            f"{format_instant(start)}..{format_instant(end)}",
            "budget policy evaluated on the day-end budgets",
            {
                "decisions": [
                    {k: row[k] for k in ("slo", "objective", "action", "state", "at", "policy", "reason")}
                    for row in frame.to_dict("records")
                ]
            },
        )
    now = engaged_state(warehouse.read_policy_decisions(end=end + 1))
    engaged = pd.DataFrame(sorted(now), columns=["slo", "objective", "action"])
    return dg.MaterializeResult(
        metadata={
            "events": len(frame),
            "engaged": int((frame["state"] == "engaged").sum()) if len(frame) else 0,
            "lifted": int((frame["state"] == "lifted").sum()) if len(frame) else 0,
            "in_force": dg.MetadataValue.md(markdown_frame(engaged) if len(engaged) else "nothing engaged"),
        }
    )
