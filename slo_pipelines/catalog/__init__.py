"""The SLO catalog: OpenSLO v1 documents plus our extension kinds, loaded and validated."""

from slo_pipelines.catalog.durations import DurationError, fixed_seconds, parse_duration
from slo_pipelines.catalog.errors import CatalogError, CatalogIssue
from slo_pipelines.catalog.loader import load_catalog
from slo_pipelines.catalog.models import (
    DEFAULT_BUCKET_SECONDS,
    SLO,
    BudgetingMethod,
    Catalog,
    Document,
    Duration,
    ExclusionCategory,
    ExclusionRule,
    Indicator,
    NoDataPolicy,
    Objective,
    Scope,
    Service,
    ThresholdOp,
    TimeWindow,
)

__all__ = [
    "DEFAULT_BUCKET_SECONDS",
    "SLO",
    "BudgetingMethod",
    "Catalog",
    "CatalogError",
    "CatalogIssue",
    "Document",
    "Duration",
    "DurationError",
    "ExclusionCategory",
    "ExclusionRule",
    "Indicator",
    "NoDataPolicy",
    "Objective",
    "Scope",
    "Service",
    "ThresholdOp",
    "TimeWindow",
    "fixed_seconds",
    "load_catalog",
    "parse_duration",
]
