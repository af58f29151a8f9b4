"""Where rendered reports go: one directory per report, files written atomically."""

from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from slo_pipelines.reports import write_report


class ReportStoreResource(dg.ConfigurableResource):
    base_dir: str = Field(default="out/reports", description="Report output directory (SLO_REPORT_DIR).")

    def path(self, name: str) -> Path:
        return Path(self.base_dir) / name

    def write(self, name: str, report: dict[str, Any]) -> dict[str, Path]:
        return write_report(report, self.path(name))
