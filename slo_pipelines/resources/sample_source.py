"""Where SLI samples come from in the pipeline: a drop directory of sample files, and the demo generator."""

from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from slo_pipelines.catalog import Catalog
from slo_pipelines.engine.sli.samples import SamplesError, stage_raw, staged_buckets
from slo_pipelines.resources.demo_history import generate
from slo_pipelines.resources.sample_files import SUFFIXES, read_samples
from slo_pipelines.resources.settings import configured

DEMO_SOURCE = "demo-generator"


class SampleSourceResource(dg.ConfigurableResource):
    """Reads raw rows for a time range: every file in `drop_dir` plus, when enabled, the demo fleet."""

    drop_dir: str = Field(
        default=".slo/drop", description="Directory watched for sample files (SLO_DROP_DIR)."
    )
    demo_fleet: bool = Field(default=False, description="Also generate the synthetic demo history.")

    def files(self) -> list[Path]:
        root = Path(configured(self.drop_dir))
        if not root.is_dir():
            return []
        return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)

    def read_range(self, catalog: Catalog, start: int, end: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(rows with `start` in [start, end), rows no day can own: unreadable files and timestamps).

        Rows without a usable timestamp cannot belong to any partition, so they never block one; they
        are returned for quarantine with their reason. A file delivered twice (identical rows) counts
        once; conflicting rows for the same bucket still reach the audit and fail it.
        """
        frames = []
        orphans = []
        for path in self.files():
            try:
                staged = stage_raw(read_samples(path), path.name)
            except SamplesError as exc:
                orphans.append(pd.DataFrame([{"source": path.name, "row_number": None, "reason": str(exc)}]))
                continue
            timeless = staged["start"].isna().to_numpy(dtype=bool)
            if timeless.any():
                orphans.append(
                    staged[timeless].assign(reason="timestamp missing, unreadable or out of range")
                )
            inside = ((staged["start"] >= start) & (staged["start"] < end)).fillna(False).to_numpy(dtype=bool)
            frames.append(staged[inside])
        if self.demo_fleet:
            frames.append(staged_buckets(generate(catalog, start, end), DEMO_SOURCE))
        if not frames:
            frames.append(stage_raw(pd.DataFrame(columns=["slo", "timestamp", "good", "total"]), "none"))
        rows = pd.concat(frames, ignore_index=True)
        same = ["slo", "start", "good", "total", "value", "bucket_seconds"]
        rows = rows[~rows.duplicated(subset=same, keep="first")].reset_index(drop=True)
        unplaced = (
            pd.concat(orphans, ignore_index=True) if orphans else pd.DataFrame(columns=["source", "reason"])
        )
        return rows, unplaced
