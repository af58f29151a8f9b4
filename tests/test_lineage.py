"""The Dagster UI at a glance: one group, and one connected lineage from SLI data to the archive."""

import itertools

from slo_pipelines.definitions import defs


def test_the_whole_pipeline_is_one_connected_lineage() -> None:
    graph = defs.resolve_asset_graph()
    nodes = {n.key: n for n in graph.asset_nodes}
    assert {n.group_name for n in nodes.values()} == {"slo_pipeline"}
    assert all("domain" in n.tags for n in nodes.values())
    # weakly connected: every asset reaches sli_buckets through parents or children
    neighbours = {k: set(n.parent_keys) | set(n.child_keys) for k, n in nodes.items()}
    start = next(k for k in nodes if k.to_user_string() == "sli_buckets")
    seen, todo = {start}, [start]
    while todo:
        for nxt in neighbours[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert {k.to_user_string() for k in nodes} - {k.to_user_string() for k in seen} == set()
    order = [
        "sli_buckets",
        "sli_clean",
        "error_budgets",
        "incident_impact",
        "sla_periods",
        "compliance_reports",
    ]
    for upstream, downstream in itertools.pairwise(order):
        assert any(k.to_user_string() == upstream for k in _ancestors(nodes, downstream)), (
            upstream,
            downstream,
        )


def _ancestors(nodes: dict, name: str) -> set:
    key = next(k for k in nodes if k.to_user_string() == name)
    found, todo = set(), [key]
    while todo:
        for parent in nodes[todo.pop()].parent_keys:
            if parent not in found:
                found.add(parent)
                todo.append(parent)
    return found
