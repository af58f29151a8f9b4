"""The catalog directory as a Dagster resource; loading and validation stay in `catalog/`."""

from functools import lru_cache
from pathlib import Path

import dagster as dg
from pydantic import Field

from slo_pipelines.catalog import Catalog, load_catalog
from slo_pipelines.resources.settings import configured


@lru_cache(maxsize=8)
def _load(path: str, mtime_key: tuple[float, ...]) -> Catalog:
    return load_catalog(path)


def _mtimes(path: str) -> tuple[float, ...]:
    """Change detector so a long-lived process (the daemon, `dagster dev`) sees catalog edits."""
    root = Path(path)
    files = sorted(root.rglob("*.y*ml")) if root.is_dir() else [root]
    return tuple(f.stat().st_mtime for f in files if f.exists())


class CatalogResource(dg.ConfigurableResource):
    """Loads the SLO catalog (a directory of OpenSLO + slo-pipelines YAML)."""

    path: str = Field(default="examples/fleet", description="Catalog directory (SLO_CATALOG_DIR).")

    def load(self) -> Catalog:
        path = configured(self.path)
        return _load(path, _mtimes(path))

    def files(self) -> dict[str, bytes]:
        """Every YAML file of the catalog, path relative to the catalog directory -> bytes (for the
        compliance archive, so an archived period can be recomputed from its own catalog)."""
        root = Path(configured(self.path))
        if not root.is_dir():
            return {root.name: root.read_bytes()}
        return {
            f.relative_to(root).as_posix(): f.read_bytes()
            for f in sorted(root.rglob("*.y*ml"))
            if f.is_file()
        }
