"""OpenSLO SLI specs (`ratioMetric`, `thresholdMetric`) turned into `Indicator`s.

Metric sources are kept as plain mappings for ingestion, with the source type filled in from the
referenced DataSource so ingestion never has to look it up again.
"""

from typing import Any

from slo_pipelines.catalog.fields import Reporter, as_mapping, boolean, choice, join, mapping, show, string
from slo_pipelines.catalog.models import Indicator
from slo_pipelines.catalog.registry import Registry, reference


def metric_source(
    r: Reporter, registry: Registry, parent: dict[str, Any], base: str
) -> dict[str, Any] | None:
    """`{metricSource: {metricSourceRef?, type?, spec}}` as `{"metricSourceRef", "type", "spec"}`."""
    source = mapping(r, parent, "metricSource", base, required=True)
    if source is None:
        return None
    path = join(base, "metricSource")
    ref = reference(r, registry, source, "metricSourceRef", path, "DataSource")
    source_type = string(r, source, "type", path)
    spec = mapping(r, source, "spec", path, required=True)
    if ref is None and source_type is None and "metricSourceRef" not in source:
        r.error(path, "needs metricSourceRef or type to know which data source to query")
        return None
    if spec is None or ("metricSourceRef" in source and ref is None):
        return None
    if source_type is None and ref is not None:
        data_source = registry.get("DataSource", ref)
        body_spec = data_source.body.get("spec") if data_source is not None else None
        if isinstance(body_spec, dict) and isinstance(body_spec.get("type"), str):
            source_type = body_spec["type"]
    return {"metricSourceRef": ref, "type": source_type, "spec": dict(spec)}


def indicator_from_spec(
    r: Reporter, registry: Registry, spec: dict[str, Any], base: str, name: str
) -> Indicator | None:
    """The `spec` of an SLI (top-level or inline) as an Indicator."""
    has_ratio = spec.get("ratioMetric") is not None
    has_threshold = spec.get("thresholdMetric") is not None
    if has_ratio and has_threshold:
        r.error(base, "set either ratioMetric or thresholdMetric, not both")
        return None
    if has_threshold:
        threshold = mapping(r, spec, "thresholdMetric", base)
        if threshold is None:
            return None
        query = metric_source(r, registry, threshold, join(base, "thresholdMetric"))
        return None if query is None else Indicator(name=name, kind="threshold", threshold_query=query)
    if not has_ratio:
        r.error(base, "needs ratioMetric or thresholdMetric")
        return None
    ratio = mapping(r, spec, "ratioMetric", base)
    return None if ratio is None else _ratio(r, registry, ratio, join(base, "ratioMetric"), name)


def _ratio(r: Reporter, registry: Registry, ratio: dict[str, Any], base: str, name: str) -> Indicator | None:
    counter = boolean(r, ratio, "counter", base)
    if ratio.get("raw") is not None:
        raw_type = choice(r, ratio, "rawType", base, ("success", "failure"), required=True)
        extra = [key for key in ("good", "bad", "total") if ratio.get(key) is not None]
        if extra:
            r.error(join(base, extra[0]), "must not be set together with raw")
        raw_part = mapping(r, ratio, "raw", base)
        raw = None if raw_part is None else metric_source(r, registry, raw_part, join(base, "raw"))
        if raw is None or raw_type is None or extra:
            return None
        return Indicator(name=name, kind="ratio", raw_query=raw, raw_type=raw_type, counter=bool(counter))  # type: ignore[arg-type]
    ok = True
    if ratio.get("good") is not None and ratio.get("bad") is not None:
        r.error(base, "set either good or bad, not both")
        ok = False
    elif ratio.get("good") is None and ratio.get("bad") is None:
        r.error(base, "needs good or bad (with total)")
        ok = False
    queries: dict[str, dict[str, Any] | None] = {}
    for key in ("good", "bad", "total"):
        part = mapping(r, ratio, key, base, required=key == "total")
        if part is not None:
            queries[key] = metric_source(r, registry, part, join(base, key))
            ok = ok and queries[key] is not None
        elif key == "total" or ratio.get(key) is not None:
            ok = False
    if not ok:
        return None
    for key in ("good", "bad"):
        if queries.get(key) is not None and queries[key] == queries.get("total"):
            # OpenSLO's own examples use placeholder queries, so this is a warning, not an error
            r.warn(
                join(base, key),
                f"same query as total: the SLI is constant (always {'100' if key == 'good' else '0'} %) "
                f"(got {show(_query_text(queries[key]))})",
            )
    return Indicator(
        name=name,
        kind="ratio",
        good_query=queries.get("good"),
        bad_query=queries.get("bad"),
        total_query=queries.get("total"),
        counter=bool(counter),
    )


def _query_text(source: dict[str, Any] | None) -> object:
    spec = (source or {}).get("spec") or {}
    return spec.get("query", spec) if isinstance(spec, dict) else spec


def inline_indicator(
    r: Reporter, registry: Registry, value: object, base: str, default_name: str
) -> Indicator | None:
    """An inline `indicator: {metadata: {name}, spec}` inside an SLO or objective."""
    body = as_mapping(r, value, base)
    if body is None:
        return None
    metadata = mapping(r, body, "metadata", base)
    name = default_name
    if metadata is not None:
        name = string(r, metadata, "name", join(base, "metadata")) or default_name
    spec = mapping(r, body, "spec", base, required=True)
    if spec is None:
        return None
    return indicator_from_spec(r, registry, spec, join(base, "spec"), name)
