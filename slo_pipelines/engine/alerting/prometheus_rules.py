"""Catalog → Prometheus recording and alerting rules that fire when the engine's burn-rate alerts do.

Names follow Sloth's conventions so existing Sloth dashboards and alert routes work unchanged:
`slo:sli_error:ratio_rate<window>` per lookback, the metadata series (`slo:objective:ratio`,
`slo:error_budget:ratio`, ...), the labels `sloth_id`, `sloth_service`, `sloth_slo`, `sloth_window`,
`sloth_severity`, and the groups `sloth-slo-{sli-recordings,meta-recordings,alerts}-<id>`. As in Sloth's
OpenSLO loader each objective is its own Sloth SLO: `sloth_slo = <slo>-<index>` and
`sloth_id = <service>-<slo>-<index>`.

The thresholds are the engine's (`engine/alerting/rules.py`): a rule fires when both its windows' error ratios
exceed `threshold · (1 − target)`, which is `burn > threshold` with `burn = ratio / (1 − target)`.
Only what Prometheus can compute the same way is exported: Occurrences SLOs whose indicator is a
Prometheus `ratioMetric` with good or bad and total. Everything else is returned in `skipped` with the
reason, so nobody believes an SLO is alerted on when it is not.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from slo_pipelines.catalog.models import SLO, BurnRateCondition, Catalog, Indicator, Objective
from slo_pipelines.engine.alerting.rules import (
    ALERT_RULES,
    LOOKBACKS,
    AlertRule,
    window_label,
    window_seconds,
)
from slo_pipelines.engine.sli.promql import BUCKET_PLACEHOLDER, parse_series_selector, uses_bucket_placeholder

SLI_ERROR_METRIC = "slo:sli_error:ratio_rate{window}"
WINDOW_LABEL = "sloth_window"
SEVERITY_LABEL = "sloth_severity"
ID_LABELS = ("sloth_id", "sloth_service", "sloth_slo")
CURRENT_BURN_WINDOW = "5m"  # Sloth's current burn rate reads the page rule's shortest window


class RulesError(ValueError):
    """An SLO the rules cannot express; the message says why."""


@dataclass(frozen=True)
class SkippedObjective:
    slo: str
    objective: str
    reason: str

    def describe(self) -> str:
        return f"SLO {self.slo} objective {self.objective}: {self.reason}"


@dataclass(frozen=True)
class RulesExport:
    """`groups` is the Prometheus rule file (`{"groups": [...]}`) ready for YAML."""

    groups: dict[str, Any]
    exported: tuple[str, ...]  # sloth_id of every exported objective
    skipped: tuple[SkippedObjective, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


def prom_duration(seconds: int) -> str:
    """The largest whole Prometheus unit (`5m`, `1h`, `28d`, `2w` stays `14d`): Sloth's spelling."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def period_duration(seconds: int) -> str:
    """The SLO period as Sloth names it: whole weeks in `w` (`4w` for 28 d, `1w` for 7 d), else as
    `prom_duration`."""
    week = 7 * 86400
    return f"{seconds // week}w" if seconds % week == 0 else prom_duration(seconds)


def number(x: float) -> str:
    """A float as PromQL reads it, without binary noise (`0.001`, `13.44`)."""
    return f"{x:.12g}"


def sloth_ids(slo: SLO, objective: Objective) -> dict[str, str]:
    name = f"{slo.name}-{objective.index}"
    return {"sloth_id": f"{slo.service}-{name}", "sloth_service": slo.service, "sloth_slo": name}


def label_filter(labels: Mapping[str, str]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{{{inner}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def sli_error_metric(window: str) -> str:
    return SLI_ERROR_METRIC.format(window=window)


def _query(role: str, source: Mapping[str, Any] | None) -> str:
    if source is None:
        raise RulesError(f"ratioMetric has no {role} query")
    if str(source.get("type") or "").lower() != "prometheus":
        raise RulesError(f"{role} metric source is not Prometheus (type {source.get('type')!r})")
    spec = source.get("spec")
    query = spec.get("query") if isinstance(spec, Mapping) else None
    if not isinstance(query, str) or not query.strip():
        raise RulesError(f"{role} metricSource spec.query is missing")
    return query.strip()


def windowed(role: str, query: str, counter: bool, window: str) -> str:
    """`query` as the amount of events over the lookback `window`.

    A counter selector (optionally in `sum(...)`, as ingestion reads it) becomes `sum(rate(sel[W]))`;
    a query written with `$__bucket` gets the window in its place, since ingestion sums its per-bucket
    values and `increase`/`rate` over the window is that sum. Anything else is a per-bucket value that
    no range function turns into the window's total.
    """
    selector = parse_series_selector(query)
    if counter and selector is not None:
        return f"sum(rate({selector.text}[{window}]))"
    if uses_bucket_placeholder(query):
        return query.replace(BUCKET_PLACEHOLDER, window)
    if counter:
        raise RulesError(
            f"{role} query {query!r} is neither a series selector (optionally in sum(...)) "
            f"nor written with {BUCKET_PLACEHOLDER}"
        )
    raise RulesError(
        f"{role} query {query!r} has counter: false and no {BUCKET_PLACEHOLDER}, so its values are "
        "per-bucket amounts that a windowed rule cannot sum"
    )


def error_ratio_expr(indicator: Indicator, window: str) -> str:
    """The error ratio over `window`: `bad / total`, or `1 - good / total` as Sloth's OpenSLO loader."""
    if indicator.kind != "ratio":
        raise RulesError("only ratioMetric indicators are exported (thresholdMetric is not)")
    if indicator.raw_query is not None:
        raise RulesError("ratioMetric.raw reports a ratio per bucket; only good/bad with total are exported")
    total = windowed("total", _query("total", indicator.total_query), indicator.counter, window)
    if indicator.bad_query is not None:
        bad = windowed("bad", _query("bad", indicator.bad_query), indicator.counter, window)
        return f"(\n  {bad}\n)\n/\n(\n  {total}\n)"
    good = windowed("good", _query("good", indicator.good_query), indicator.counter, window)
    return f"1 - (\n  (\n    {good}\n  )\n  /\n  (\n    {total}\n  )\n)"


def _check_expressible(slo: SLO, objective: Objective) -> Indicator:
    if slo.budgeting_method != "Occurrences":
        raise RulesError(
            f"budgetingMethod {slo.budgeting_method} burns budget in time slices, "
            "which a ratio of rates does not measure; only Occurrences is exported"
        )
    return slo.indicator_of(objective)


def _severity_expr(ids: Mapping[str, str], rules: list[AlertRule], period: int, budget: float) -> str:
    """Either window pair firing, without `sloth_window` in the result: which pair fires is not part of
    the alert's identity, so a page that moves from the 1h/5m pair to the 6h/30m one stays one alert
    in Alertmanager instead of a resolve and a new alert."""
    filt = label_filter(ids)
    pairs = []
    for rule in rules:
        bound = f"({number(rule.threshold(period))} * {number(budget)})"
        short = f"{sli_error_metric(rule.short_window)}{filt} > {bound}"
        long = f"{sli_error_metric(rule.long_window)}{filt} > {bound}"
        pairs.append(f"(\n  ({short})\n  and ignoring ({WINDOW_LABEL})\n  ({long})\n)")
    joined = f"\nor ignoring ({WINDOW_LABEL})\n".join(pairs)
    return f"max without ({WINDOW_LABEL}) (\n{joined}\n)"


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def alert_name(slo: SLO) -> str:
    """CamelCase of the SLO name + `ErrorBudgetBurn`; page and ticket share it, as in Sloth."""
    camel = _camel(slo.name)
    if not camel or not camel[0].isalpha():
        camel = f"SLO{camel}"
    return f"{camel}ErrorBudgetBurn"


def policy_alert_name(slo: SLO, condition: BurnRateCondition) -> str:
    """CamelCase of the SLO and AlertCondition names, e.g. `CheckoutAvailabilityFastBurn`."""
    camel = _camel(slo.name) + _camel(condition.condition)
    return camel if camel[:1].isalpha() else f"SLO{camel}"


PROMQL_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _policy_alert_rules(slo: SLO, ids: Mapping[str, str], objective: Objective) -> list[dict[str, Any]]:
    """One alert per burnrate AlertCondition of the SLO's AlertPolicies, `alertAfter` as `for:`."""
    budget = objective.budget_fraction
    out = []
    for c in slo.policy_alerts:
        window = window_label(c.lookback_seconds)
        expr = (
            f"max without ({WINDOW_LABEL}) (\n  {sli_error_metric(window)}{label_filter(ids)}\n"
            f"  {PROMQL_OPS[c.op]} ({number(c.threshold)} * {number(budget)})\n)"
        )
        rule: dict[str, Any] = {"alert": policy_alert_name(slo, c), "expr": expr}
        if c.alert_after_seconds:
            rule["for"] = prom_duration(c.alert_after_seconds)
        rule["labels"] = {
            **ids,
            SEVERITY_LABEL: c.severity,
            "severity": c.severity,
            "openslo_alert_policy": c.policy,
            "openslo_alert_condition": c.condition,
        }
        rule["annotations"] = {
            "title": f"({c.severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} burn rate over "
            f"{window} {PROMQL_OPS[c.op]} {number(c.threshold)} (AlertPolicy {c.policy}).",
            "objective": objective.name,
        }
        out.append(rule)
    return out


def _sli_rules(
    ids: Mapping[str, str], indicator: Indicator, period_window: str, extra: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    windows = sorted(dict.fromkeys([*LOOKBACKS, *extra]), key=window_seconds)
    rules: list[dict[str, Any]] = [
        {
            "record": sli_error_metric(w),
            "expr": error_ratio_expr(indicator, w),
            "labels": {**ids, WINDOW_LABEL: w},
        }
        for w in windows
    ]
    if period_window not in windows and window_seconds(period_window) not in map(window_seconds, windows):
        # The period's error ratio from the increases summed over the whole period, as the engine
        # computes it. Sloth's shortcut (the mean of the 5-minute ratios) turns NaN for the rest of the
        # period once a quiet spell gives a 0/0 ratio, and weighs a quiet minute like a busy one.
        rules.append(
            {
                "record": sli_error_metric(period_window),
                "expr": error_ratio_expr(indicator, period_window),
                # Sloth sets only the window here; the ids too keep `promtool check rules` from
                # seeing one series recorded by several rules.
                "labels": {**ids, WINDOW_LABEL: period_window},
            }
        )
    return rules


def _meta_rules(ids: Mapping[str, str], objective: Objective, period_seconds: int) -> list[dict[str, Any]]:
    filt = label_filter(ids)
    period_window = period_duration(period_seconds)
    on = f"on({', '.join(ID_LABELS)}) group_left"

    def burn(window: str) -> str:
        return f"{sli_error_metric(window)}{filt}\n/ {on}\nslo:error_budget:ratio{filt}"

    target = objective.target
    return [
        {"record": "slo:objective:ratio", "expr": f"vector({number(target)})", "labels": dict(ids)},
        {"record": "slo:error_budget:ratio", "expr": f"vector(1-{number(target)})", "labels": dict(ids)},
        {
            "record": "slo:time_period:days",
            "expr": f"vector({number(period_seconds / 86400)})",
            "labels": dict(ids),
        },
        {"record": "slo:current_burn_rate:ratio", "expr": burn(CURRENT_BURN_WINDOW), "labels": dict(ids)},
        {"record": "slo:period_burn_rate:ratio", "expr": burn(period_window), "labels": dict(ids)},
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{filt}",
            "labels": dict(ids),
        },
        {
            "record": "sloth_slo_info",
            "expr": "vector(1)",
            "labels": {**ids, "sloth_spec": "openslo/v1", "sloth_objective": number(target * 100)},
        },
    ]


def _alert_rules(slo: SLO, ids: Mapping[str, str], objective: Objective, period: int) -> list[dict[str, Any]]:
    budget = objective.budget_fraction
    out = []
    for severity in dict.fromkeys(r.severity for r in ALERT_RULES):
        rules = [r for r in ALERT_RULES if r.severity == severity]
        windows = ", ".join(
            f"{r.long_window}/{r.short_window} > {number(r.threshold(period))}" for r in rules
        )
        out.append(
            {
                "alert": alert_name(slo),
                "expr": _severity_expr(ids, rules, period, budget),
                # the ids are inherited from the expression anyway; stating them keeps the objectives
                # of one SLO apart for `promtool check rules`, which flags identical alert rules
                "labels": {**ids, SEVERITY_LABEL: severity, "severity": severity},
                "annotations": {
                    "title": f"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} "
                    "SLO error budget burn rate is too fast.",
                    "summary": f"{{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget "
                    f"burn rate is over expected (burn rate {windows}).",
                    "objective": objective.name,
                },
            }
        )
    return out


def objective_groups(slo: SLO, objective: Objective) -> list[dict[str, Any]]:
    """The three Sloth groups of one objective; raises RulesError when it cannot be expressed."""
    indicator = _check_expressible(slo, objective)
    ids = sloth_ids(slo, objective)
    period = slo.time_window.duration.nominal_seconds()
    sid = ids["sloth_id"]
    policy_windows = tuple(window_label(c.lookback_seconds) for c in slo.policy_alerts)
    alerts = _alert_rules(slo, ids, objective, period) if slo.default_alerts else []
    alerts += _policy_alert_rules(slo, ids, objective)
    return [
        {
            "name": f"sloth-slo-sli-recordings-{sid}",
            "rules": _sli_rules(ids, indicator, period_duration(period), policy_windows),
        },
        {"name": f"sloth-slo-meta-recordings-{sid}", "rules": _meta_rules(ids, objective, period)},
        {"name": f"sloth-slo-alerts-{sid}", "rules": alerts},
    ]


def check_distinct_ids(catalog: Catalog) -> None:
    """Sloth joins service and SLO names with `-`, so service `web` + SLO `api-errors` and service
    `web-api` + SLO `errors` get one `sloth_id`; Prometheus then refuses the file for its repeated group
    names. Raises RulesError naming the clash, so the names stay Sloth's everywhere else."""
    seen: dict[str, tuple[SLO, Objective]] = {}
    for name in sorted(catalog.slos):
        slo = catalog.slos[name]
        for objective in slo.objectives:
            sid = sloth_ids(slo, objective)["sloth_id"]
            if sid in seen:
                other, other_objective = seen[sid]
                raise RulesError(
                    f"sloth_id {sid!r} would name both SLO {other.name} (service {other.service}, objective "
                    f"{other_objective.name}) and SLO {slo.name} (service {slo.service}, objective "
                    f"{objective.name}); rename one of the SLOs or services"
                )
            seen[sid] = (slo, objective)


def export_rules(catalog: Catalog) -> RulesExport:
    """Every expressible objective's rules, in SLO name order; the rest in `skipped` with the reason.

    Raises RulesError when two objectives would share a `sloth_id` (see `check_distinct_ids`)."""
    check_distinct_ids(catalog)
    groups: list[dict[str, Any]] = []
    exported: list[str] = []
    skipped: list[SkippedObjective] = []
    warnings: list[str] = []
    for name in sorted(catalog.slos):
        slo = catalog.slos[name]
        before = len(exported)
        for objective in slo.objectives:
            try:
                groups.extend(objective_groups(slo, objective))
            except RulesError as exc:
                skipped.append(SkippedObjective(slo.name, objective.name, str(exc)))
                continue
            exported.append(sloth_ids(slo, objective)["sloth_id"])
        if len(exported) == before:
            continue
        if not slo.time_window.is_rolling or slo.time_window.duration.is_calendar_unit:
            warnings.append(
                f"SLO {slo.name}: the calendar window {slo.time_window.duration} is recorded as a rolling "
                f"{period_duration(slo.time_window.duration.nominal_seconds())} in the period rules"
            )
        if any(rule.scope.applies_to(slo.name, slo.service) for rule in catalog.exclusions):
            warnings.append(
                f"SLO {slo.name}: maintenance windows or exclusions apply to it, which Prometheus rules "
                "cannot honour, so they may fire where the engine does not"
            )
    return RulesExport({"groups": groups}, tuple(exported), tuple(skipped), tuple(warnings))


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line expressions as `|-` blocks, the way Sloth and promtool print them."""


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str_presenter)


def rules_yaml(export: RulesExport, header: str = "") -> str:
    """The rule file as YAML, with `header` and the skipped objectives as leading comments."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    if export.skipped:
        lines.append("# Not exported (the engine still evaluates them):")
        lines += [f"#   {s.describe()}" for s in export.skipped]
    body = yaml.dump(export.groups, Dumper=_LiteralDumper, sort_keys=False, width=200)
    return "\n".join([*lines, body]) if lines else body
