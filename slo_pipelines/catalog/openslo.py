"""The OpenSLO v1 kinds: Service, DataSource, SLI, SLO and the alerting kinds."""

import re
from decimal import Decimal
from typing import Any, cast

from slo_pipelines.catalog.durations import DurationError, parse_duration, parse_fixed_seconds
from slo_pipelines.catalog.fields import (
    Reporter,
    as_mapping,
    boolean,
    choice,
    join,
    mapping,
    number,
    sequence,
    show,
    string,
)
from slo_pipelines.catalog.indicators import indicator_from_spec, inline_indicator
from slo_pipelines.catalog.models import (
    DEFAULT_BUCKET_SECONDS,
    SLO,
    BudgetingMethod,
    BurnRateCondition,
    Document,
    Indicator,
    NoDataPolicy,
    Objective,
    Service,
    ThresholdOp,
    TimeWindow,
)
from slo_pipelines.catalog.registry import Registry, reference
from slo_pipelines.catalog.timeparse import TimeValueError, instant, local_iso, local_time, zone

BUDGETING_METHODS: tuple[str, ...] = ("Occurrences", "Timeslices", "RatioTimeslices")
THRESHOLD_OPS: tuple[str, ...] = ("lt", "lte", "gt", "gte")
NO_DATA_POLICIES: tuple[str, ...] = ("ignore", "good", "bad")
CALENDAR_UNITS = ("d", "w", "M", "Q", "Y")
CONDITION_KINDS = ("burnrate",)
NO_DATA_ANNOTATION = "slo-pipelines.io/no-data-policy"
BUCKET_ANNOTATION = "slo-pipelines.io/bucket-seconds"
# DESIGN.md §3 "Measured since": time before this instant is outside every window, like an exclusion
MEASURED_SINCE_ANNOTATION = "slo-pipelines.io/measured-since"
DEMO_RATE_ANNOTATION = "slo-pipelines.io/demo-rate"
# active-passive: two regions serving at once is a failover defect (series carry a `region` label)
REGION_MODE_ANNOTATION = "slo-pipelines.io/region-mode"
# `policy`: only the SLO's AlertPolicy conditions alert; `both` (default): they alert beside the default pairs
ALERTING_ANNOTATION = "slo-pipelines.io/alerting"
ANNOTATION_PREFIX = "slo-pipelines.io/"
KNOWN_ANNOTATIONS = (
    NO_DATA_ANNOTATION,
    BUCKET_ANNOTATION,
    MEASURED_SINCE_ANNOTATION,
    DEMO_RATE_ANNOTATION,
    REGION_MODE_ANNOTATION,
    ALERTING_ANNOTATION,
)
REGION_MODES = ("active-active", "active-passive")
ALERTING_MODES = ("both", "policy")


def service(r: Reporter, document: Document) -> Service:
    spec = mapping(r, document.body, "spec", "") or {}
    return Service(name=document.name, description=string(r, spec, "description", "spec") or "")


def data_source(r: Reporter, document: Document) -> None:
    spec = mapping(r, document.body, "spec", "", required=True)
    if spec is not None:
        # connectionDetails is free-form in OpenSLO (a mapping, or the list the go-sdk examples use)
        string(r, spec, "type", "spec", required=True)


def sli(r: Reporter, registry: Registry, document: Document) -> Indicator | None:
    spec = mapping(r, document.body, "spec", "", required=True)
    return None if spec is None else indicator_from_spec(r, registry, spec, "spec", document.name)


def alert_condition_spec(r: Reporter, spec: dict[str, Any], base: str) -> None:
    """OpenSLO v1 AlertCondition: `severity` is required; `condition.kind` is `burnrate`, which needs
    `op` and `threshold`; `lookbackWindow` and `alertAfter` are durations (`alertAfter: 0m` fires at once)."""
    string(r, spec, "severity", base, required=True)
    condition = mapping(r, spec, "condition", base, required=True)
    if condition is None:
        return
    path = join(base, "condition")
    choice(r, condition, "kind", path, CONDITION_KINDS)
    choice(r, condition, "op", path, THRESHOLD_OPS, required=True)
    number(r, condition, "threshold", path, required=True)
    if condition.get("lookbackWindow") is None:
        r.error(join(path, "lookbackWindow"), "is required for a burnrate condition")
    else:
        _duration_seconds(r, condition, "lookbackWindow", path)
    if condition.get("alertAfter") is not None:
        _duration_seconds(r, condition, "alertAfter", path, allow_zero=True)


def notification_target_spec(r: Reporter, spec: dict[str, Any], base: str) -> None:
    string(r, spec, "target", base, required=True)
    string(r, spec, "description", base)


def alert_policy_spec(r: Reporter, registry: Registry, spec: dict[str, Any], base: str) -> None:
    """OpenSLO v1 AlertPolicy: exactly one condition ("max of one condition") and at least one
    notification target, each a reference or an inline document."""
    for key in ("alertWhenNoData", "alertWhenResolved", "alertWhenBreaching"):
        boolean(r, spec, key, base)
    conditions = sequence(r, spec, "conditions", base, required=True) or []
    if len(conditions) > 1:
        r.error(join(base, "conditions"), f"must hold exactly one condition (got {len(conditions)})")
    for i, item in enumerate(conditions):
        _ref_or_inline(
            r, registry, item, f"{join(base, 'conditions')}[{i}]", "conditionRef", "AlertCondition"
        )
    targets = sequence(r, spec, "notificationTargets", base, required=True) or []
    for i, item in enumerate(targets):
        _ref_or_inline(
            r,
            registry,
            item,
            f"{join(base, 'notificationTargets')}[{i}]",
            "targetRef",
            "AlertNotificationTarget",
        )


def _ref_or_inline(r: Reporter, registry: Registry, item: object, path: str, ref_key: str, kind: str) -> None:
    """`{<ref_key>: name}` or an inline document of `kind` with metadata and spec."""
    body = as_mapping(r, item, path)
    if body is None:
        return
    if ref_key in body:
        reference(r, registry, body, ref_key, path, kind, required=True)
        return
    if body.get("kind") != kind:
        r.error(path, f"needs {ref_key} or an inline {kind} (got kind {show(body.get('kind'))})")
        return
    metadata = mapping(r, body, "metadata", path, required=True)
    if metadata is not None:
        string(r, metadata, "name", join(path, "metadata"), required=True)
    spec = mapping(r, body, "spec", path, required=True)
    if spec is None:
        return
    if kind == "AlertCondition":
        alert_condition_spec(r, spec, join(path, "spec"))
    else:
        notification_target_spec(r, spec, join(path, "spec"))


def _duration_seconds(
    r: Reporter, parent: dict[str, Any], key: str, base: str, *, allow_zero: bool = False
) -> int | None:
    try:
        return parse_fixed_seconds(parent.get(key), allow_zero=allow_zero)
    except DurationError as exc:
        r.error(join(base, key), str(exc))
        return None


def slo(
    r: Reporter, registry: Registry, indicators: dict[str, Indicator | None], document: Document
) -> SLO | None:
    spec = mapping(r, document.body, "spec", "", required=True)
    if spec is None:
        return None
    metadata = document.body.get("metadata") or {}
    annotations = _annotations(r, metadata)
    no_data_policy, bucket_seconds = _extension_annotations(r, annotations)
    measured_since = _measured_since(r, annotations)
    # a Service document is optional (the loader warns once per missing name)
    service_name = string(r, spec, "service", "spec", required=True)
    description = string(r, spec, "description", "spec") or ""
    composite = _is_composite(spec)
    indicator = None if composite else _slo_indicator(r, registry, indicators, spec, document.name)
    window = _time_window(r, spec)
    method = cast(
        BudgetingMethod | None, choice(r, spec, "budgetingMethod", "spec", BUDGETING_METHODS, required=True)
    )
    objectives = _objectives(r, registry, indicators, spec, document.name, indicator, method, bucket_seconds)
    policies = _alert_policies(r, registry, spec)
    if (
        service_name is None
        or (indicator is None and not composite)
        or window is None
        or method is None
        or objectives is None
        or policies is None
        or no_data_policy is None
        or bucket_seconds is None
    ):
        return None
    alerting = annotations.get(ALERTING_ANNOTATION, "both")
    conditions = policy_conditions(registry, spec)
    if alerting == "policy" and not conditions:
        r.error(
            f"metadata.annotations[{ALERTING_ANNOTATION}]",
            "turns the default burn-rate alerts off, but no AlertPolicy of this SLO has a burnrate "
            f"condition, so nothing would alert (got {show(alerting)})",
        )
        return None
    return SLO(
        name=document.name,
        service=service_name,
        description=description,
        indicator=indicator,
        time_window=window,
        budgeting_method=method,
        objectives=objectives,
        alert_policies=policies,
        policy_alerts=conditions,
        default_alerts=alerting != "policy",
        no_data_policy=no_data_policy,
        bucket_seconds=bucket_seconds,
        measured_since=measured_since,
        annotations=annotations,
        source_file=document.file,
    )


def _annotations(r: Reporter, metadata: dict[str, Any]) -> dict[str, str]:
    raw = mapping(r, metadata, "annotations", "metadata") or {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, dict | list) or value is None:
            r.error(f"metadata.annotations[{key}]", f"must be a string (got {show(value)})")
        else:
            out[str(key)] = value if isinstance(value, str) else show(value)
    return out


def _extension_annotations(
    r: Reporter, annotations: dict[str, str]
) -> tuple[NoDataPolicy | None, int | None]:
    for key in annotations:
        if key.startswith(ANNOTATION_PREFIX) and key not in KNOWN_ANNOTATIONS:
            # a misspelt extension would otherwise be ignored and the SLO silently use defaults
            r.error(
                f"metadata.annotations[{key}]", f"unknown annotation; known: {', '.join(KNOWN_ANNOTATIONS)}"
            )
    mode = annotations.get(REGION_MODE_ANNOTATION)
    alerting = annotations.get(ALERTING_ANNOTATION)
    if alerting is not None and alerting not in ALERTING_MODES:
        r.error(
            f"metadata.annotations[{ALERTING_ANNOTATION}]",
            f"must be one of {', '.join(ALERTING_MODES)} (got {show(alerting)})",
        )
    if mode is not None and mode not in REGION_MODES:
        r.error(
            f"metadata.annotations[{REGION_MODE_ANNOTATION}]",
            f"must be one of {', '.join(REGION_MODES)} (got {show(mode)})",
        )
    policy = annotations.get(NO_DATA_ANNOTATION, "ignore")
    no_data: NoDataPolicy | None = None
    if policy in NO_DATA_POLICIES:
        no_data = cast(NoDataPolicy, policy)
    else:
        r.error(
            f"metadata.annotations[{NO_DATA_ANNOTATION}]",
            f"must be one of {', '.join(NO_DATA_POLICIES)} (got {show(policy)})",
        )
    raw_bucket = annotations.get(BUCKET_ANNOTATION)
    if raw_bucket is None:
        return no_data, DEFAULT_BUCKET_SECONDS
    path = f"metadata.annotations[{BUCKET_ANNOTATION}]"
    if not re.fullmatch(r"[0-9]{1,6}", raw_bucket) or int(raw_bucket) <= 0:
        r.error(path, f"must be a positive whole number of seconds (got {show(raw_bucket)})")
        return no_data, None
    bucket = int(raw_bucket)
    if 86400 % bucket:
        r.error(path, f"must divide a day (86400 s) evenly so buckets never straddle days (got {bucket})")
        return no_data, None
    return no_data, bucket


def _measured_since(r: Reporter, annotations: dict[str, str]) -> int | None:
    """The annotation's instant (ISO 8601 with offset, or Unix seconds), or None when absent."""
    raw = annotations.get(MEASURED_SINCE_ANNOTATION)
    if raw is None:
        return None
    try:
        return instant(raw)
    except TimeValueError as exc:
        r.error(f"metadata.annotations[{MEASURED_SINCE_ANNOTATION}]", str(exc))
        return None


def _is_composite(spec: dict[str, Any]) -> bool:
    """A composite SLO (OpenSLO v1) carries its indicators under `objectives[]` instead of `spec`."""
    objectives = spec.get("objectives")
    return (
        spec.get("indicator") is None
        and spec.get("indicatorRef") is None
        and isinstance(objectives, list)
        and bool(objectives)
        and all(
            isinstance(o, dict) and (o.get("indicator") is not None or o.get("indicatorRef") is not None)
            for o in objectives
        )
    )


def _slo_indicator(
    r: Reporter,
    registry: Registry,
    indicators: dict[str, Indicator | None],
    spec: dict[str, Any],
    slo_name: str,
) -> Indicator | None:
    has_inline = spec.get("indicator") is not None
    has_ref = spec.get("indicatorRef") is not None
    if has_inline and has_ref:
        r.error("spec", "set either indicator or indicatorRef, not both")
        return None
    if has_inline:
        return inline_indicator(r, registry, spec["indicator"], "spec.indicator", slo_name)
    if has_ref:
        name = reference(r, registry, spec, "indicatorRef", "spec", "SLI")
        return None if name is None else indicators.get(name)
    r.error(
        "spec",
        "needs indicator (inline SLI) or indicatorRef, or an indicator in every objective (a composite SLO)",
    )
    return None


def _time_window(r: Reporter, spec: dict[str, Any]) -> TimeWindow | None:
    windows = sequence(r, spec, "timeWindow", "spec", required=True)
    if windows is None:
        return None
    if len(windows) != 1:
        r.error("spec.timeWindow", f"must hold exactly one window (got {len(windows)})")
        return None
    base = "spec.timeWindow[0]"
    window = as_mapping(r, windows[0], base)
    if window is None:
        return None
    duration = None
    if window.get("duration") is None:
        r.error(join(base, "duration"), "is required")
    else:
        try:
            duration = parse_duration(window["duration"])
        except DurationError as exc:
            r.error(join(base, "duration"), str(exc))
    is_rolling = boolean(r, window, "isRolling", base)
    calendar = mapping(r, window, "calendar", base)
    if calendar is None and window.get("calendar") is not None:
        return None
    if calendar is None:
        if is_rolling is False:
            r.error(join(base, "calendar"), "is required when isRolling is false (startTime and timeZone)")
            return None
        if duration is None:
            return None
        # rolling 1M / 1Q / 1Y last their nominal 30 / 90 / 365 days (Duration.nominal_seconds)
        return TimeWindow(duration=duration, is_rolling=True)
    if is_rolling is True:
        r.error(join(base, "isRolling"), "must be false when calendar is set (got true)")
    cal_path = join(base, "calendar")
    time_zone: str | None = None
    if calendar.get("timeZone") is None:
        r.error(join(cal_path, "timeZone"), "is required for calendar windows")
    else:
        try:
            time_zone = zone(calendar["timeZone"]).key
        except TimeValueError as exc:
            r.error(join(cal_path, "timeZone"), str(exc))
    start: str | None = None
    if calendar.get("startTime") is None:
        r.error(join(cal_path, "startTime"), "is required for calendar windows")
    else:
        try:
            start = local_iso(local_time(calendar["startTime"], "calendar.timeZone"))
        except TimeValueError as exc:
            r.error(join(cal_path, "startTime"), str(exc))
    if duration is not None and duration.unit not in CALENDAR_UNITS:
        r.error(
            join(base, "duration"),
            "calendar windows must be a positive count of d, w, M, Q or Y such as 1d, 2w, 1M "
            f"(got {show(str(duration))})",
        )
        return None
    if duration is None or time_zone is None or start is None or is_rolling is True:
        return None
    return TimeWindow(duration=duration, is_rolling=False, calendar_start=start, time_zone=time_zone)


def _alert_policies(r: Reporter, registry: Registry, spec: dict[str, Any]) -> tuple[str, ...] | None:
    items = sequence(r, spec, "alertPolicies", "spec")
    if items is None:
        return None if spec.get("alertPolicies") is not None else ()
    names: list[str] = []
    ok = True
    for i, item in enumerate(items):
        path = f"spec.alertPolicies[{i}]"
        if isinstance(item, str):
            if registry.has("AlertPolicy", item):
                names.append(item)
            else:
                r.error(path, f"no AlertPolicy with this name in the catalog (got {show(item)})")
                ok = False
            continue
        body = as_mapping(r, item, path)
        if body is None:
            ok = False
        elif "alertPolicyRef" in body:
            name = reference(r, registry, body, "alertPolicyRef", path, "AlertPolicy", required=True)
            ok = ok and name is not None
            names.extend([name] if name else [])
        elif body.get("kind") == "AlertPolicy":
            metadata = mapping(r, body, "metadata", path, required=True) or {}
            name = string(r, metadata, "name", join(path, "metadata"), required=True)
            policy_spec = mapping(r, body, "spec", path, required=True)
            if policy_spec is not None:
                alert_policy_spec(r, registry, policy_spec, join(path, "spec"))
            ok = ok and name is not None
            names.extend([name] if name else [])
        else:
            r.error(path, "needs an AlertPolicy name, alertPolicyRef or an inline AlertPolicy")
            ok = False
    return tuple(names) if ok else None


def policy_conditions(registry: Registry, spec: dict[str, Any]) -> tuple[BurnRateCondition, ...]:
    """The burnrate conditions of the SLO's (already validated) alert policies, referenced or inline."""
    out: list[BurnRateCondition] = []
    for item in spec.get("alertPolicies") or []:
        if isinstance(item, str) or (isinstance(item, dict) and "alertPolicyRef" in item):
            name = item if isinstance(item, str) else item["alertPolicyRef"]
            document = registry.get("AlertPolicy", name)
            policy_spec = document.body.get("spec") if document is not None else None
        else:
            name = ((item.get("metadata") or {}).get("name")) if isinstance(item, dict) else None
            policy_spec = item.get("spec") if isinstance(item, dict) else None
        if not isinstance(name, str) or not isinstance(policy_spec, dict):
            continue
        targets = tuple(_target_name(t) for t in policy_spec.get("notificationTargets") or [])
        for c in policy_spec.get("conditions") or []:
            condition_name, condition_spec = _condition_body(registry, c)
            built = _burn_rate_condition(name, condition_name, condition_spec, targets)
            if built is not None:
                out.append(built)
    return tuple(out)


def _target_name(item: object) -> str:
    if isinstance(item, dict):
        if "targetRef" in item:
            return str(item["targetRef"])
        return str((item.get("metadata") or {}).get("name", ""))
    return ""


def _condition_body(registry: Registry, item: object) -> tuple[str, dict[str, Any] | None]:
    if not isinstance(item, dict):
        return "", None
    if "conditionRef" in item:
        document = registry.get("AlertCondition", str(item["conditionRef"]))
        body = document.body.get("spec") if document is not None else None
        return str(item["conditionRef"]), body if isinstance(body, dict) else None
    spec = item.get("spec")
    return str((item.get("metadata") or {}).get("name", "")), spec if isinstance(spec, dict) else None


def _burn_rate_condition(
    policy: str, name: str, spec: dict[str, Any] | None, targets: tuple[str, ...]
) -> BurnRateCondition | None:
    condition = (spec or {}).get("condition")
    if not isinstance(spec, dict) or not isinstance(condition, dict):
        return None
    try:
        lookback = parse_fixed_seconds(condition.get("lookbackWindow"))
        after = (
            0
            if condition.get("alertAfter") is None
            else parse_fixed_seconds(condition["alertAfter"], allow_zero=True)
        )
    except DurationError:
        return None  # reported where the condition is defined
    op, threshold = condition.get("op"), condition.get("threshold")
    if op not in THRESHOLD_OPS or isinstance(threshold, bool) or not isinstance(threshold, int | float):
        return None
    return BurnRateCondition(
        policy=policy,
        condition=name,
        severity=str(spec.get("severity", "")),
        op=cast(ThresholdOp, op),
        threshold=float(threshold),
        lookback_seconds=lookback,
        alert_after_seconds=after,
        notification_targets=targets,
    )


def _ratio_value(r: Reporter, objective: dict[str, Any], base: str) -> float | None:
    has_target = objective.get("target") is not None
    has_percent = objective.get("targetPercent") is not None
    if has_target and has_percent:
        r.error(base, "set either target or targetPercent, not both")
        return None
    if has_percent:
        percent = number(r, objective, "targetPercent", base)
        if percent is None:
            return None
        if not 0 <= percent < 100:
            bound = "< 100" if percent >= 100 else ">= 0"
            r.error(join(base, "targetPercent"), f"must be {bound} (got {show(objective['targetPercent'])})")
            return None
        return float(Decimal(str(percent)) / 100)
    target = number(r, objective, "target", base)
    if target is None:
        if not has_target:
            r.error(join(base, "target"), "is required (or targetPercent)")
        return None
    if not 0 <= target < 1:
        bound = "< 1" if target >= 1 else ">= 0"
        r.error(join(base, "target"), f"must be {bound} (got {show(objective['target'])})")
        return None
    return target


def _objectives(
    r: Reporter,
    registry: Registry,
    indicators: dict[str, Indicator | None],
    spec: dict[str, Any],
    slo_name: str,
    indicator: Indicator | None,
    method: str | None,
    bucket_seconds: int | None,
) -> tuple[Objective, ...] | None:
    items = sequence(r, spec, "objectives", "spec", required=True)
    if items is None:
        return None
    out: list[Objective] = []
    seen: dict[str, int] = {}
    ok = True
    for i, item in enumerate(items):
        base = f"spec.objectives[{i}]"
        objective = as_mapping(r, item, base)
        if objective is None:
            ok = False
            continue
        name = string(r, objective, "displayName", base) or f"objective-{i}"
        if name in seen:
            r.error(
                join(base, "displayName"), f"repeats objective {seen[name]} of this SLO (got {show(name)})"
            )
            ok = False
        seen.setdefault(name, i)
        built = _objective(
            r, registry, indicators, objective, base, i, name, slo_name, indicator, method, bucket_seconds
        )
        if built is None:
            ok = False
        else:
            out.append(built)
    return tuple(out) if ok else None


def _objective(
    r: Reporter,
    registry: Registry,
    indicators: dict[str, Indicator | None],
    objective: dict[str, Any],
    base: str,
    index: int,
    name: str,
    slo_name: str,
    slo_indicator: Indicator | None,
    method: str | None,
    bucket_seconds: int | None,
) -> Objective | None:
    ok = True
    own_indicator: Indicator | None = None
    if objective.get("indicator") is not None and objective.get("indicatorRef") is not None:
        r.error(base, "set either indicator or indicatorRef, not both")
        ok = False
    elif objective.get("indicator") is not None:
        own_indicator = inline_indicator(
            r, registry, objective["indicator"], join(base, "indicator"), slo_name
        )
        ok = own_indicator is not None
    elif objective.get("indicatorRef") is not None:
        ref = reference(r, registry, objective, "indicatorRef", base, "SLI")
        own_indicator = None if ref is None else indicators.get(ref)
        ok = own_indicator is not None
    effective = own_indicator or slo_indicator
    target = _ratio_value(r, objective, base)
    op = cast(ThresholdOp | None, choice(r, objective, "op", base, THRESHOLD_OPS))
    value = number(r, objective, "value", base)
    if effective is not None and effective.kind == "threshold":
        for key, got in (("op", op), ("value", value)):
            if got is None and objective.get(key) is None:
                r.error(join(base, key), "is required for a thresholdMetric indicator")
                ok = False
    if objective.get("compositeWeight") is not None:
        weight = number(r, objective, "compositeWeight", base)
        if weight is not None and weight <= 0:
            r.error(join(base, "compositeWeight"), f"must be > 0 (got {show(objective['compositeWeight'])})")
    slice_target, slice_seconds, slices_ok = _slices(r, objective, base, method, bucket_seconds)
    if not ok or not slices_ok or target is None:
        return None
    if (objective.get("op") is not None and op is None) or (
        objective.get("value") is not None and value is None
    ):
        return None
    return Objective(
        name=name,
        index=index,
        target=target,
        op=op,
        value=value,
        time_slice_target=slice_target,
        time_slice_window_seconds=slice_seconds,
        indicator=own_indicator,
    )


def _slices(
    r: Reporter, objective: dict[str, Any], base: str, method: str | None, bucket_seconds: int | None
) -> tuple[float | None, int | None, bool]:
    """(timeSliceTarget, timeSliceWindow seconds, valid) for the objective under its budgeting method."""
    ok = True
    slice_target: float | None = None
    if objective.get("timeSliceTarget") is not None:
        slice_target = number(r, objective, "timeSliceTarget", base)
        if slice_target is None:
            ok = False
        elif not 0 < slice_target <= 1:
            r.error(
                join(base, "timeSliceTarget"),
                f"must be > 0 and <= 1 (got {show(objective['timeSliceTarget'])})",
            )
            ok = False
    elif method == "Timeslices":
        r.error(join(base, "timeSliceTarget"), "is required when budgetingMethod is Timeslices")
        ok = False
    slice_seconds: int | None = None
    if objective.get("timeSliceWindow") is not None:
        slice_seconds = _duration_seconds(r, objective, "timeSliceWindow", base)
        if slice_seconds is None:
            ok = False
        elif bucket_seconds is not None and slice_seconds % bucket_seconds:
            r.error(
                join(base, "timeSliceWindow"),
                f"must be a multiple of the SLO's bucket of {bucket_seconds} s "
                f"(got {show(objective['timeSliceWindow'])})",
            )
            ok = False
    elif method in ("Timeslices", "RatioTimeslices"):
        r.error(join(base, "timeSliceWindow"), f"is required when budgetingMethod is {method}")
        ok = False
    return slice_target, slice_seconds, ok
