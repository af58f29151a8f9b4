"""Data-quality audits of SLI data, run by the blocking asset checks and by the `slo` command."""

from slo_pipelines.quality.bucket_audit import (
    AuditResult,
    BucketAuditConsistencyError,
    BucketAuditInputError,
    ExpectationOutcome,
    audit_buckets,
)
from slo_pipelines.quality.bucket_rules import BUCKET_RULES, BucketRule
from slo_pipelines.quality.gx_runtime import get_gx_context

__all__ = [
    "BUCKET_RULES",
    "AuditResult",
    "BucketAuditConsistencyError",
    "BucketAuditInputError",
    "BucketRule",
    "ExpectationOutcome",
    "audit_buckets",
    "get_gx_context",
]
