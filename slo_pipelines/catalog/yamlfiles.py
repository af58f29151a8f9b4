"""Finding catalog files and reading their YAML documents.

Timestamps stay strings (the catalog interprets them with their zones) and duplicate keys are
errors, because YAML would otherwise keep the last value without a word.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from slo_pipelines.catalog.fields import Reporter

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
# libyaml parses about ten times faster; the pure-Python parser is the fallback.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CatalogYamlLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_CatalogYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class RawDocument:
    file: str
    index: int
    data: Any


def catalog_files(root: Path, sink: Reporter) -> list[tuple[Path, str]]:
    """(path on disk, path as shown in messages) for every catalog file under `root`."""
    if not root.exists():
        sink.error("", "no such file or directory")
        return []
    if root.is_file():
        return [(root, root.as_posix())]
    found = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml") and not _hidden(p, root)
    )
    if not found:
        sink.error("", "no *.yaml or *.yml files found")
    return [(p, (root / p.relative_to(root)).as_posix()) for p in found]


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def read_documents(path: Path, shown: str, r: Reporter) -> list[RawDocument]:
    """Every non-empty document of one file; a YAML error keeps the documents read before it.

    A file holds `---`-separated documents, or a top-level YAML list of documents (the form the OpenSLO
    go-sdk and oslo read and write); each list item is then one document with its own index.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        r.error("", f"cannot read file: {exc}")
        return []
    documents: list[RawDocument] = []
    index = 0
    try:
        for data in yaml.load_all(text, Loader=_CatalogYamlLoader):
            items = data if isinstance(data, list) else [data]
            for item in items:
                if item is not None:
                    documents.append(RawDocument(shown, index, item))
                index += 1
    except yaml.YAMLError as exc:
        r.index = index
        r.error("", f"malformed YAML: {_describe(exc)}")
    return documents


def _describe(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot parse"
        if mark is not None:
            return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
        return problem
    return " ".join(str(exc).split())
