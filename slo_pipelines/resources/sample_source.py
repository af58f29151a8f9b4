"""Where SLI samples come from in the pipeline: a drop directory of sample files, and the demo generator.

The drop directory keeps an index (`.slo-index.json`, ignored as input) of the UTC days each file
covers, keyed by the file's sha256: a run reads only the files touching its partitions, and a file is
re-read for the index only when its size or modification time changes and its content hash with it.
"""

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from slo_pipelines.catalog import Catalog
from slo_pipelines.engine.sli.samples import SamplesError, stage_raw, staged_buckets
from slo_pipelines.quality.triage import sample_rule_reasons
from slo_pipelines.resources.demo_history import generate
from slo_pipelines.resources.sample_files import SUFFIXES, original_rows, read_samples
from slo_pipelines.resources.settings import configured

DEMO_SOURCE = "demo-generator"
INDEX_NAME = ".slo-index.json"
DAY = 86400
# rows no day can own are kept in the index (so runs not reading the file still quarantine them);
# beyond this many, the file is simply read by every run
MAX_INDEXED_UNPLACED = 1000
_EMPTY = pd.DataFrame(columns=["slo", "timestamp", "good", "total", "row_number"])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [{str(k): v for k, v in r.items()} for r in out]


class SampleSourceResource(dg.ConfigurableResource):
    """Reads raw rows for a time range: the drop directory's files that touch it, plus the demo fleet."""

    drop_dir: str = Field(
        default=".slo/drop", description="Directory watched for sample files (SLO_DROP_DIR)."
    )
    demo_fleet: bool = Field(default=False, description="Also generate the synthetic demo history.")

    def files(self) -> list[Path]:
        """Sample files under `drop_dir`, except hidden ones (partial uploads, the index)."""
        root = Path(configured(self.drop_dir))
        if not root.is_dir():
            return []
        return sorted(
            p
            for p in root.rglob("*")
            if p.is_file()
            and p.suffix.lower() in SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )

    def source_name(self, path: Path) -> str:
        return path.relative_to(Path(configured(self.drop_dir))).as_posix()

    # ---- reading one file ---------------------------------------------------------------------

    def _stage_file(
        self, path: Path, bucket_seconds: Mapping[str, int] | None, wanted: tuple[int, int] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(staged rows with the shared row rules' `reason`, rows no day can own) of one file.

        With `wanted` (a range), a file with no row in it is only indexed: its rows are not checked
        (the run of their own days checks them), only those no day can own, which are returned.
        """
        source = self.source_name(path)
        bad_lines: list[dict[str, object]] = []
        try:
            raw = read_samples(path, bad_lines)
            staged = stage_raw(raw if len(raw) else _EMPTY, source)
        except SamplesError as exc:
            return stage_raw(_EMPTY, source).assign(reason=None), pd.DataFrame(
                [{"source": source, "row_number": None, "reason": str(exc)}]
            )
        timeless = staged["start"].isna().to_numpy(dtype=bool)
        starts = staged["start"]
        if wanted is None or ((starts >= wanted[0]) & (starts < wanted[1])).fillna(False).any():
            staged["reason"] = sample_rule_reasons(raw, bucket_seconds).to_numpy(dtype=object)
        else:  # validation is the costly part of reading: skip it for rows this run does not own
            staged["reason"] = None
            staged.loc[timeless, "reason"] = sample_rule_reasons(raw[timeless], bucket_seconds).to_numpy(
                dtype=object
            )
        unplaced = [staged[timeless]]
        if bad_lines:
            unplaced.append(pd.DataFrame(bad_lines).assign(source=source))
        orphans = pd.concat([u for u in unplaced if not u.empty] or [pd.DataFrame(columns=["source"])])
        return staged[~timeless], orphans.reset_index(drop=True)

    # ---- the index ----------------------------------------------------------------------------

    def _index_path(self) -> Path:
        return Path(configured(self.drop_dir)) / INDEX_NAME

    def _load_index(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self._index_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def _save_index(self, index: dict[str, Any]) -> None:
        """Atomic replace: concurrent runs may both rebuild an entry, never leave a torn file."""
        root = Path(configured(self.drop_dir))
        if not root.is_dir():
            return
        fd, tmp = tempfile.mkstemp(prefix=".slo-index-", suffix=".tmp", dir=root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(index, fh, sort_keys=True)
            os.replace(tmp, self._index_path())
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _entry(
        self,
        index: dict[str, Any],
        path: Path,
        bucket_seconds: Mapping[str, int] | None,
        wanted: tuple[int, int] | None = None,
    ) -> tuple[dict[str, Any], tuple[pd.DataFrame, pd.DataFrame] | None]:
        """The index entry of `path`, refreshed when the file changed; plus the staged file if read."""
        source = self.source_name(path)
        stat = path.stat()
        entry = index.get(source)
        if entry and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
            return entry, None
        digest = _sha256(path)
        if entry and entry.get("sha256") == digest:  # touched, not changed
            entry = {**entry, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            index[source] = entry
            return entry, None
        staged, unplaced = self._stage_file(path, bucket_seconds, wanted)
        starts = staged["start"].dropna().to_numpy(dtype=np.int64)
        days = sorted({int(d) for d in np.unique(starts // DAY * DAY)})
        entry = {
            "sha256": digest,
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "days": days,
            "unplaced": _json_rows(unplaced) if len(unplaced) <= MAX_INDEXED_UNPLACED else None,
        }
        index[source] = entry
        return entry, (staged, unplaced)

    def covered_days(self, path: Path, catalog: Catalog | None = None) -> list[int]:
        """UTC day starts (epoch seconds) the file has rows for, from the index (refreshed if needed)."""
        index = self._load_index()
        sizes = (
            {k: s.bucket_seconds for k, s in catalog.slos_by_data_key().items()}
            if catalog is not None
            else None
        )
        entry, _ = self._entry(index, path, sizes)
        self._save_index(index)
        return list(entry["days"])

    # ---- a range ------------------------------------------------------------------------------

    def read_range(self, catalog: Catalog, start: int, end: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(rows with `start` in [start, end), rows no day can own: unreadable files, lines, timestamps).

        Only files whose indexed days meet [start, end) are read. Each row carries `reason` when the
        samples format's row rules (the ones `slo evaluate` applies) reject it. Rows without a usable
        timestamp cannot belong to any partition, so they never block one; they are returned for
        quarantine with their reason. A file delivered twice (identical rows) counts once; conflicting
        rows for the same bucket still reach the audit and fail it.
        """
        sizes = {k: s.bucket_seconds for k, s in catalog.slos_by_data_key().items()}
        frames = []
        orphans = []
        index = self._load_index()
        present = set()
        for path in self.files():
            present.add(self.source_name(path))
            entry, read = self._entry(index, path, sizes, (start, end))
            touches = any(start <= day < end for day in entry["days"])
            if read is None and (touches or entry["unplaced"] is None):
                read = self._stage_file(path, sizes)
            elif entry["unplaced"] and read is None:
                orphans.append(pd.DataFrame(entry["unplaced"]))
            if read is None:
                continue
            staged, unplaced = read
            orphans.append(unplaced)
            if touches:
                inside = ((staged["start"] >= start) & (staged["start"] < end)).fillna(False)
                frames.append(staged[inside.to_numpy(dtype=bool)])
        self._save_index({k: v for k, v in index.items() if k in present})
        if self.demo_fleet:
            frames.append(staged_buckets(generate(catalog, start, end), DEMO_SOURCE).assign(reason=None))
        if not frames:
            frames.append(stage_raw(_EMPTY, "none").assign(reason=None))
        rows = pd.concat(frames, ignore_index=True)
        same = ["slo", "start", "good", "total", "value", "bucket_seconds"]
        valid = rows["reason"].isna()
        repeated = rows[valid].duplicated(subset=same, keep="first").reindex(rows.index, fill_value=False)
        rows = rows[~repeated.to_numpy(dtype=bool)].reset_index(drop=True)
        orphans = [o for o in orphans if not o.empty]
        unplaced = (
            pd.concat(orphans, ignore_index=True) if orphans else pd.DataFrame(columns=["source", "reason"])
        )
        return rows, unplaced

    def with_original_text(self, rejected: pd.DataFrame) -> pd.DataFrame:
        """`rejected` plus `raw`: each row exactly as its file holds it (the line's text for CSV and
        JSONL, the values for Parquet); rows already carrying `raw`, or not from a file, keep theirs."""
        out = rejected.reset_index(drop=True).copy()
        raw = list(out["raw"]) if "raw" in out else [None] * len(out)
        root = Path(configured(self.drop_dir))
        if "row_number" in out:
            for source, group in out.groupby("source", sort=False):
                path = root / str(source)
                pending = [i for i in group.index if raw[i] is None or raw[i] is np.nan]
                if not pending or not path.is_file() or group["row_number"].isna().all():
                    continue
                try:
                    texts = original_rows(path, out.loc[pending])
                except (OSError, ValueError, SamplesError):
                    continue
                for i, text in zip(pending, texts, strict=True):
                    raw[i] = text
        out["raw"] = [None if isinstance(v, float) and np.isnan(v) else v for v in raw]
        return out
