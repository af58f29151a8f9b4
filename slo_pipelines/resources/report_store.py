"""Where rendered reports go: one directory per report, every file written atomically.

Rendering lives in `reports/`; this is the only place that touches the disk for them. Readers (people,
the archive, a web server) never see a half-written file: each file goes to a temp file in the same
directory, is fsynced, then renamed over the target, and the directory itself is fsynced.
"""

import os
import secrets
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from slo_pipelines.reports import render_budget_files
from slo_pipelines.reports.quality import render_quality_files
from slo_pipelines.reports.sla import render_compliance_files
from slo_pipelines.resources.settings import configured


def write_atomically(target: Path, text: str) -> Path:
    """The temp file gets mode 0o666 filtered by the umask, like any other file the user writes."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


def fsync_directory(directory: Path) -> None:
    """Make the renames durable; some platforms cannot open directories, which is harmless."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_files(out_dir: Path, rendered: dict[str, tuple[str, str]]) -> dict[str, Path]:
    """Write already-rendered files (kind -> (name, text)); returns kind -> path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {kind: write_atomically(out_dir / name, text) for kind, (name, text) in rendered.items()}
    fsync_directory(out_dir)
    return written


class ReportStoreResource(dg.ConfigurableResource):
    base_dir: str = Field(default="out/reports", description="Report output directory (SLO_REPORT_DIR).")

    def path(self, name: str) -> Path:
        return Path(configured(self.base_dir)) / name

    def write(self, name: str, report: dict[str, Any]) -> dict[str, Path]:
        return write_files(self.path(name), render_budget_files(report))

    def period_dir(self, period: str) -> Path:
        """Where every report of a closed period goes (`periods/<period>/<kind>/...`); the compliance
        archive takes every file found there, so a new kind of period report is archived unchanged."""
        return Path(self.base_dir) / "periods" / period

    def write_period(self, period: str, kind: str, report: dict[str, Any]) -> dict[str, Path]:
        return write_files(self.period_dir(period) / kind, render_budget_files(report))

    def period_files(self, period: str) -> dict[str, bytes]:
        """Every finished file under the period's directory, path relative to it -> bytes."""
        return _finished_files(self.period_dir(period))

    def report_names(self, prefix: str) -> list[str]:
        """Report directories under the base whose name starts with `prefix`, sorted."""
        base = Path(self.base_dir)
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and p.name.startswith(prefix))

    def report_files(self, name: str) -> dict[str, bytes]:
        """Every finished file of the report `name` (a directory under the base), relative path -> bytes."""
        return _finished_files(self.path(name))

    def write_quality(self, name: str, report: dict[str, Any]) -> dict[str, Path]:
        return write_files(self.path(name), render_quality_files(report))

    def write_files(self, name: str, rendered: dict[str, tuple[str, str]]) -> dict[str, Path]:
        """Already-rendered files (kind -> (file name, text)) into the report directory `name`."""
        return write_files(self.path(name), rendered)

    def write_compliance(self, name: str, report: dict[str, Any]) -> dict[str, Path]:
        """A period's compliance report: `index.html`, `report.json`, `summary.csv` and, per contract,
        its statement as `<contract>.html|json|csv`."""
        return write_files(self.path(name), render_compliance_files(report))


def _finished_files(base: Path) -> dict[str, bytes]:
    if not base.is_dir():
        return {}
    return {
        p.relative_to(base).as_posix(): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file() and not p.name.startswith(".")  # temp files of an unfinished write
    }
