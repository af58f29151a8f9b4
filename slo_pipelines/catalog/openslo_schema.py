"""The fields each OpenSLO v1 kind allows, checked over a whole document before it is read.

Source: the OpenSLO v1 specification (github.com/OpenSLO/OpenSLO, README "v1"). An unknown field is an
error naming it, because a misspelt optional field (`alertAfer`, `compositeWeigth`) would otherwise fall
back to its default without a word. Free-form parts (`labels`, `annotations`, `connectionDetails`, a
metric source's `spec`) are not looked into. The same walk checks the two rules the spec states on
every document: names are RFC 1123 labels and a description holds at most 1050 characters.
"""

import re
from typing import Any

from slo_pipelines.catalog.fields import Reporter, join, show

MAX_DESCRIPTION = 1050
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
RFC1123_HELP = (
    "must be an RFC 1123 label: at most 63 lower-case letters, digits and '-', "
    "starting and ending with a letter or digit"
)


class _Any:
    """A free-form value: anything goes below it."""


class _ListOf:
    def __init__(self, item: "Schema") -> None:
        self.item = item


Schema = dict[str, Any] | _Any | _ListOf | None
ANY = _Any()

METADATA: dict[str, Any] = {"name": None, "displayName": None, "labels": ANY, "annotations": ANY}
METRIC_SOURCE: dict[str, Any] = {"metricSource": {"metricSourceRef": None, "type": None, "spec": ANY}}
SLI_SPEC: dict[str, Any] = {
    "description": None,
    "thresholdMetric": METRIC_SOURCE,
    "ratioMetric": {
        "counter": None,
        "good": METRIC_SOURCE,
        "bad": METRIC_SOURCE,
        "total": METRIC_SOURCE,
        "rawType": None,
        "raw": METRIC_SOURCE,
    },
}
INLINE_SLI: dict[str, Any] = {"metadata": METADATA, "spec": SLI_SPEC}
CONDITION_SPEC: dict[str, Any] = {
    "description": None,
    "severity": None,
    "condition": {"kind": None, "op": None, "threshold": None, "lookbackWindow": None, "alertAfter": None},
}
TARGET_SPEC: dict[str, Any] = {"description": None, "target": None}
POLICY_SPEC: dict[str, Any] = {
    "description": None,
    "alertWhenNoData": None,
    "alertWhenResolved": None,
    "alertWhenBreaching": None,
    # `operator` (and|or) joins conditions in the spec's AlertPolicy schema
    "conditions": _ListOf(
        {
            "conditionRef": None,
            "operator": None,
            "apiVersion": None,
            "kind": None,
            "metadata": METADATA,
            "spec": CONDITION_SPEC,
        }
    ),
    "notificationTargets": _ListOf(
        {"targetRef": None, "apiVersion": None, "kind": None, "metadata": METADATA, "spec": TARGET_SPEC}
    ),
}
SLO_SPEC: dict[str, Any] = {
    "description": None,
    "service": None,
    "indicator": INLINE_SLI,
    "indicatorRef": None,
    "timeWindow": _ListOf(
        {"duration": None, "isRolling": None, "calendar": {"startTime": None, "timeZone": None}}
    ),
    "budgetingMethod": None,
    "objectives": _ListOf(
        {
            "displayName": None,
            "op": None,
            "value": None,
            "target": None,
            "targetPercent": None,
            "timeSliceTarget": None,
            "timeSliceWindow": None,
            "indicator": INLINE_SLI,
            "indicatorRef": None,
            "compositeWeight": None,
        }
    ),
    "alertPolicies": _ListOf(
        {"alertPolicyRef": None, "apiVersion": None, "kind": None, "metadata": METADATA, "spec": POLICY_SPEC}
    ),
}
SPECS: dict[str, dict[str, Any]] = {
    "Service": {"description": None},
    "DataSource": {"description": None, "type": None, "connectionDetails": ANY},
    "SLI": SLI_SPEC,
    "SLO": SLO_SPEC,
    "AlertPolicy": POLICY_SPEC,
    "AlertCondition": CONDITION_SPEC,
    "AlertNotificationTarget": TARGET_SPEC,
}


def check_document(r: Reporter, kind: str, body: dict[str, Any]) -> None:
    """Report unknown fields, over-long descriptions and names that are not RFC 1123 labels."""
    schema = {"apiVersion": None, "kind": None, "metadata": METADATA, "spec": SPECS[kind]}
    _walk(r, body, schema, "")


def _walk(r: Reporter, value: object, schema: Schema, path: str) -> None:
    if isinstance(schema, _ListOf):
        if isinstance(value, list):
            for i, item in enumerate(value):
                _walk(r, item, schema.item, f"{path}[{i}]")
        return
    if not isinstance(schema, dict) or not isinstance(value, dict):
        return  # a leaf, a free-form value, or a wrong type the typed readers report
    for key in sorted(str(k) for k in value if k not in schema):
        r.error(join(path, key), f"unknown field; known: {', '.join(schema)}")
    for key, sub in schema.items():
        if key in value:
            _walk(r, value[key], sub, join(path, key))
    if schema is METADATA:
        name = value.get("name")
        if isinstance(name, str) and name.strip() and not _LABEL.match(name):
            r.error(join(path, "name"), f"{RFC1123_HELP} (got {show(name)})")
    description = value.get("description")
    if "description" in schema and isinstance(description, str) and len(description) > MAX_DESCRIPTION:
        r.error(
            join(path, "description"),
            f"must be at most {MAX_DESCRIPTION} characters (got {len(description)} characters)",
        )
