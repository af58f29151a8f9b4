"""Reading release, change and canary files for the release commands (the engine never touches disk).

Document files are YAML (`---`-separated documents) or JSON (one document or a list of them), read
with the catalog's YAML rules (timestamps stay strings, duplicate keys are errors). Every problem is a
`ReleaseInputError` naming the file.
"""

import json
from pathlib import Path
from typing import Any

import pandas as pd

from slo_pipelines.catalog.errors import CatalogIssue
from slo_pipelines.catalog.fields import Reporter
from slo_pipelines.catalog.yamlfiles import read_documents
from slo_pipelines.engine.release.canary import CanaryInputError, CanarySample, canary_sample
from slo_pipelines.engine.release.releases import ReleaseInputError


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if p.is_dir():
        raise ReleaseInputError(f"{p}: is a directory, not a file")
    if not p.is_file():
        raise ReleaseInputError(f"{p}: file not found")
    return p


def read_document_file(path: str | Path) -> list[tuple[str, Any]]:
    """(`FILE[index]`, document) for every document of a YAML or JSON file."""
    p = _existing(path)
    shown = p.as_posix()
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ReleaseInputError(f"{shown}: not valid JSON ({exc})") from None
        items = data if isinstance(data, list) else [data]
        return [(f"{shown}[{i}]", d) for i, d in enumerate(items)]
    issues: list[CatalogIssue] = []
    documents = read_documents(p, shown, Reporter(shown, None, issues))
    if issues:
        raise ReleaseInputError(str(issues[0]))
    if not documents:
        raise ReleaseInputError(f"{shown}: holds no documents")
    return [(f"{d.file}[{d.index}]", d.data) for d in documents]


def read_canary_file(path: str | Path) -> CanarySample:
    """A canary or baseline file: a JSON object `{"good", "total", "latency": [...]}`, or CSV/JSONL rows
    with columns `good`, `total` (summed) and/or `latency` (one request's value per row)."""
    p = _existing(path)
    suffix = p.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(p.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise CanaryInputError(f"{p}: expected a JSON object with good, total and/or latency")
            return canary_sample(data, str(p))
        if suffix == ".csv":
            frame = pd.read_csv(p, skipinitialspace=True)
        elif suffix in (".jsonl", ".ndjson"):
            frame = pd.read_json(p, lines=True)
        else:
            raise CanaryInputError(f"{p}: unsupported file type {p.suffix!r} (use .json, .csv or .jsonl)")
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        if isinstance(exc, CanaryInputError):
            raise
        raise CanaryInputError(f"{p}: cannot read: {str(exc).splitlines()[0]}") from None
    return canary_sample({c: frame[c].tolist() for c in frame.columns}, str(p), rows=True)
