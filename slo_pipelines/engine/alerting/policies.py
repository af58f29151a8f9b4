"""Which BudgetPolicy governs an SLO, and the warning threshold it sets (default 25 % remaining).

The most specific scope wins: a policy naming the SLO beats one naming its service, which beats a
fleet-wide policy without scope.
"""

from typing import Any

from slo_pipelines.catalog.models import SLO, Catalog

DEFAULT_WARNING_BELOW = 0.25


def _specificity(spec: dict[str, Any], slo: SLO) -> int | None:
    scope = spec.get("scope") or {}
    if "slo" in scope:
        return 2 if scope["slo"] == slo.name else None
    if "service" in scope:
        return 1 if scope["service"] == slo.service else None
    return 0


def policy_for(catalog: Catalog, slo: SLO) -> tuple[str, dict[str, Any]] | None:
    best: tuple[int, str, dict[str, Any]] | None = None
    for name, spec in sorted(catalog.budget_policies.items()):
        rank = _specificity(spec, slo)
        if rank is not None and (best is None or rank > best[0]):
            best = (rank, name, spec)
    return None if best is None else (best[1], best[2])


def warning_thresholds(catalog: Catalog) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, slo in catalog.slos.items():
        found = policy_for(catalog, slo)
        spec = found[1] if found else {}
        out[name] = float(spec.get("warningBelow", DEFAULT_WARNING_BELOW))
    return out
