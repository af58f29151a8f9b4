"""Where SLI samples come from in the pipeline: a drop directory of sample files, and the demo generator."""

from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from slo_pipelines.catalog import Catalog
from slo_pipelines.demo.generator import generate
from slo_pipelines.engine.samples import SamplesError, stage_raw, staged_buckets
from slo_pipelines.resources.sample_files import SUFFIXES, read_samples

DEMO_SOURCE = "demo-generator"


class SampleSourceResource(dg.ConfigurableResource):
    """Reads raw rows for a time range: every file in `drop_dir` plus, when enabled, the demo fleet."""

    drop_dir: str = Field(
        default=".slo/drop", description="Directory watched for sample files (SLO_DROP_DIR)."
    )
    demo_fleet: bool = Field(default=False, description="Also generate the synthetic demo history.")

    def files(self) -> list[Path]:
        root = Path(self.drop_dir)
        if not root.is_dir():
            return []
        return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)

    def read_range(self, catalog: Catalog, start: int, end: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(staged rows with `start` in [start, end), unreadable files with their reason).

        Rows whose timestamp is unreadable are kept in every range, so the data-quality audit quarantines
        them rather than losing them; a file that cannot be read at all is reported whole.
        """
        frames = []
        unreadable = []
        for path in self.files():
            try:
                staged = stage_raw(read_samples(path), path.name)
            except SamplesError as exc:
                unreadable.append({"source": path.name, "row_number": None, "reason": str(exc)})
                continue
            keep = staged["start"].isna() | ((staged["start"] >= start) & (staged["start"] < end))
            frames.append(staged[keep.fillna(True).to_numpy(dtype=bool)])
        if self.demo_fleet:
            frames.append(staged_buckets(generate(catalog, start, end), DEMO_SOURCE))
        if not frames:
            frames.append(stage_raw(pd.DataFrame(columns=["slo", "timestamp", "good", "total"]), "none"))
        failed = pd.DataFrame(unreadable, columns=["source", "row_number", "reason"])
        return pd.concat(frames, ignore_index=True), failed
