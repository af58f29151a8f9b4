"""Internal SLO <-> external SLA gaps: where the SLOs a contract is measured from do not back it.

Checks, per contract and covered SLO (`check` names):
  `missing_slo`        the contract names an SLO the catalog does not define
  `objective_looser`   an SLO objective's target (as a percentage) is below the contract's target, so
                       the team's budget allows what the contract forbids
  `window_mismatch`    the SLO's window is rolling, or a calendar window of another length or zone
                       than the contractual period, so the budget the team watches resets elsewhere
  `interval_mismatch`  the contract's measurement interval differs from the SLO's bucket size
  `low_coverage`       in a measured period, the SLO has data for fewer than `min_coverage` of the
                       eligible minutes (minutes without data count as up: a blind spot, not uptime)
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from slo_pipelines.catalog.models import SLO
from slo_pipelines.catalog.sla_contract import SLAContract

DEFAULT_MIN_COVERAGE = 0.9
_CALENDAR_UNIT = {"month": "M", "quarter": "Q"}


@dataclass(frozen=True)
class Gap:
    contract: str
    slo: str
    check: str
    detail: str
    objective: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "slo": self.slo,
            "objective": self.objective,
            "check": self.check,
            "detail": self.detail,
        }


def _window_gap(contract: SLAContract, slo: SLO) -> str | None:
    window = slo.time_window
    wanted = f"1{_CALENDAR_UNIT[contract.calendar]}"
    if window.is_rolling:
        return f"rolling {window.duration} window; the contract is measured per calendar {contract.calendar}"
    if str(window.duration) != wanted:
        return f"calendar {window.duration} window; the contract is measured per calendar {contract.calendar}"
    if window.time_zone != contract.time_zone:
        return f"calendar window in {window.time_zone}; the contract's periods are in {contract.time_zone}"
    return None


def contract_gaps(
    contracts: Sequence[SLAContract],
    slos: Mapping[str, SLO],
    coverage: Mapping[tuple[str, str], float | None] | None = None,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
) -> list[Gap]:
    """Every gap, in contract then SLO order. `coverage`: (contract, slo) -> share of the period's
    eligible minutes with data, when a period was measured."""
    gaps: list[Gap] = []
    for contract in contracts:
        for name in contract.slos:
            slo = slos.get(name)
            if slo is None:
                gaps.append(Gap(contract.name, name, "missing_slo", "no SLO with this name in the catalog"))
                continue
            for objective in slo.objectives:
                percent = Decimal(repr(objective.target)) * 100
                if percent < contract.target:
                    gaps.append(
                        Gap(
                            contract.name,
                            name,
                            "objective_looser",
                            f"objective target {percent.normalize():f} % is below the contract's "
                            f"{contract.target.normalize():f} %",
                            objective.name,
                        )
                    )
            window = _window_gap(contract, slo)
            if window is not None:
                gaps.append(Gap(contract.name, name, "window_mismatch", window))
            if slo.bucket_seconds != contract.measurement_interval_seconds:
                gaps.append(
                    Gap(
                        contract.name,
                        name,
                        "interval_mismatch",
                        f"buckets of {slo.bucket_seconds} s; the contract measures every "
                        f"{contract.measurement_interval_seconds} s",
                    )
                )
            share = (coverage or {}).get((contract.name, name))
            if (
                coverage is not None
                and (contract.name, name) in coverage
                and (share is None or share < min_coverage)
            ):
                shown = "no eligible minute" if share is None else f"{share:.1%} of the eligible minutes"
                gaps.append(
                    Gap(contract.name, name, "low_coverage", f"data for {shown} (below {min_coverage:.0%})")
                )
    return gaps
