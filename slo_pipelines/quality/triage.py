"""Split a day range's staged rows into the clean buckets to store and the rows to quarantine.

One place decides every row's fate in the pipeline and in `slo audit`: rows no day can own
(unreadable files, lines and timestamps), rows naming an SLO the catalog does not know, rows the
samples format's row rules reject (`engine/sli/samples.validate_samples`, the very rules `slo evaluate`
applies), and rows failing an expectation of the GX bucket audit. The verdicts are returned in the
warehouse's `audit_results` shape, one set per UTC day, so a re-run of any sub-range replaces exactly
the verdicts of its days.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from slo_pipelines.engine.sli.samples import SamplesError, validate_samples
from slo_pipelines.quality.bucket_audit import MAX_EXAMPLES, ExpectationOutcome, audit_buckets
from slo_pipelines.quality.report import audit_rows_for_warehouse

KNOWN_SLO_CHECK = "slo_in_catalog"
KNOWN_SLO_DESCRIPTION = "every row names an SLO of the catalog"
SAMPLE_RULES_CHECK = "sample_rules"
SAMPLE_RULES_DESCRIPTION = (
    "every row satisfies the samples format's row rules (the ones `slo evaluate` applies: timestamp with"
    " offset, aligned and in range, counts numbers below 1e15, bucket size of the catalog, no duplicate)"
)
REASON = "reason"
DAY = 86400


def sample_rule_reasons(raw: pd.DataFrame, bucket_seconds: Mapping[str, int] | None) -> pd.Series:
    """Per raw row (by position), why `validate_samples` rejects it (`field: reason (got value)`), else None.

    `raw` is a file's rows as read (`row_number` identifies them); `bucket_seconds` maps each catalog SLO
    to its bucket size (None: SLO names are not checked). A whole-file problem (no rows, a missing
    column) yields no per-row reason: reading the file reports it.
    """
    none = pd.Series([None] * len(raw), index=raw.index, dtype=object)
    if raw.empty or "row_number" not in raw:
        return none
    try:
        checked = validate_samples(raw, known_slos=bucket_seconds)
    except SamplesError:
        return none
    if checked.rejected.empty:
        return none
    r = checked.rejected
    text = r["field"].astype(str) + ": " + r["reason"].astype(str) + " (got " + r["value"].map(repr) + ")"
    by_row = dict(zip(r["row_number"].tolist(), text.tolist(), strict=True))
    return pd.Series([by_row.get(n) for n in raw["row_number"].tolist()], index=raw.index, dtype=object)


@dataclass(frozen=True)
class Triage:
    clean: pd.DataFrame
    rejected: pd.DataFrame  # with a `reason` column
    outcomes: list[ExpectationOutcome]  # over the whole input: bucket audit, sample rules, slo_in_catalog
    verdicts: pd.DataFrame  # audit_results rows (scope "rows"), one set per UTC day of [start, end)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if len(frame) == 0:
        return []
    return [
        {str(k): v for k, v in r.items()}
        for r in frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    ]


def _daily_verdicts(
    outcomes: list[ExpectationOutcome],
    masks: dict[str, np.ndarray],
    rows: pd.DataFrame,
    start: int,
    end: int,
) -> pd.DataFrame:
    """Each outcome cut into UTC days by the rows' bucket start: counts and examples of that day only."""
    starts = rows["start"].to_numpy(dtype="float64", na_value=np.nan)
    day_of = np.where(np.isnan(starts), -1, (np.nan_to_num(starts, nan=0) - start) // DAY).astype(np.int64)
    days = range(start, end, DAY)
    in_range = (day_of >= 0) & (day_of < len(days))
    shown = rows.drop(columns=[REASON], errors="ignore")
    daily: list[list[ExpectationOutcome]] = [[] for _ in days]
    for o in outcomes:
        # only the failing rows are split by day (one pass over the mask, not one per day)
        hits = np.flatnonzero(masks[o.name] & in_range)
        hit_days = day_of[hits]
        counts = np.bincount(hit_days, minlength=len(days))
        for k in range(len(days)):
            count = int(counts[k])
            daily[k].append(
                ExpectationOutcome(
                    name=o.name,
                    description=o.description,
                    success=count == 0,
                    unexpected_count=count,
                    examples=_records(shown.iloc[hits[hit_days == k][:MAX_EXAMPLES]]) if count else [],
                )
            )
    frames = [audit_rows_for_warehouse(day, day + DAY, daily[k], []) for k, day in enumerate(days)]
    return pd.concat(frames, ignore_index=True) if frames else audit_rows_for_warehouse(start, end, [], [])


def triage_rows(
    raw: pd.DataFrame, unplaced: pd.DataFrame, known_slos: Collection[str], start: int, end: int
) -> Triage:
    """Decide each staged row's fate; `raw` may carry `reason` (the samples row rules' verdict)."""
    raw = raw.reset_index(drop=True)
    unknown = (raw["slo"].notna() & ~raw["slo"].isin(list(known_slos))).to_numpy(dtype=bool)
    ruled = raw[REASON].notna().to_numpy(dtype=bool) if REASON in raw else np.zeros(len(raw), dtype=bool)
    audit = audit_buckets(raw[~unknown].drop(columns=[REASON], errors="ignore"))
    masks: dict[str, np.ndarray] = {}
    for name, mask in audit.masks.items():
        full = np.zeros(len(raw), dtype=bool)
        full[~unknown] = mask
        masks[name] = full
    masks[SAMPLE_RULES_CHECK] = ruled & ~unknown
    masks[KNOWN_SLO_CHECK] = unknown
    gx_failing = np.zeros(len(raw), dtype=bool)
    for name in audit.masks:
        gx_failing |= masks[name]
    rejected_mask = unknown | ruled | gx_failing
    # reasons are worded for the rejected rows only: a clean window then pays for no text at all
    rejected_rows = raw[rejected_mask]
    labels = rejected_rows.index
    reasons = (
        rejected_rows[REASON].copy()
        if REASON in raw
        else pd.Series([None] * len(labels), index=labels, dtype=object)
    )
    strangers = "unknown SLO (not in the catalog): " + rejected_rows["slo"].astype(str)
    reasons = reasons.where(~pd.Series(unknown[rejected_mask], index=labels) | reasons.notna(), strangers)
    gx_reasons = pd.Series(None, index=labels, dtype=object)
    # the audited frame keeps `raw`'s labels, so its failing rows point straight back at `raw`
    gx_reasons.loc[audit.failing_rows.index] = audit.failing_rows[REASON].to_numpy()
    reasons = reasons.where(reasons.notna(), gx_reasons)
    rejected_rows = rejected_rows.assign(**{REASON: reasons})
    parts = [p for p in (unplaced, rejected_rows) if not p.empty]
    rejected = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["source", REASON])
    shown = raw.drop(columns=[REASON], errors="ignore")
    outcomes = [
        *audit.expectations,
        ExpectationOutcome(
            name=SAMPLE_RULES_CHECK,
            description=SAMPLE_RULES_DESCRIPTION,
            success=not masks[SAMPLE_RULES_CHECK].any(),
            unexpected_count=int(masks[SAMPLE_RULES_CHECK].sum()),
            examples=_records(raw[masks[SAMPLE_RULES_CHECK]].head(MAX_EXAMPLES)),
        ),
        ExpectationOutcome(
            name=KNOWN_SLO_CHECK,
            description=KNOWN_SLO_DESCRIPTION,
            success=not unknown.any(),
            unexpected_count=int(unknown.sum()),
            examples=_records(shown[unknown].head(MAX_EXAMPLES)),
        ),
    ]
    verdicts = _daily_verdicts(outcomes, masks, raw, start, end)
    clean = shown[~rejected_mask]
    return Triage(clean, rejected, outcomes, verdicts)
