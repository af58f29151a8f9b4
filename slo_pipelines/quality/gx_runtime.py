"""One quiet, in-memory Great Expectations context per process.

Building a GX context, data source and suite costs far more than validating a batch, and asset checks
run many times per process, so everything GX-side is built once and reused. The context is ephemeral:
audits leave no files behind, and nothing is sent anywhere (analytics off).

GX itself is imported on first use, not at module import: it takes seconds to import, and loading the
Dagster code location or running an `slo` command that never audits should not pay for it.
"""

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from great_expectations.core.validation_definition import ValidationDefinition
    from great_expectations.data_context import AbstractDataContext
    from great_expectations.datasource.fluent import PandasDatasource
    from great_expectations.expectations import Expectation

_DATA_SOURCE = "slo_pipelines_frames"

_lock = threading.RLock()
_context: "AbstractDataContext | None" = None
_frames: "PandasDatasource | None" = None
_validations: "dict[str, ValidationDefinition]" = {}


def _quiet_gx_logging() -> None:
    """GX logs routine steps at INFO; a blocking check should print only what matters."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def _build_context() -> "tuple[AbstractDataContext, PandasDatasource]":
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    _quiet_gx_logging()
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    return context, context.data_sources.add_pandas(name=_DATA_SOURCE)


def _ensure_context() -> "tuple[AbstractDataContext, PandasDatasource]":
    global _context, _frames
    with _lock:
        if _context is None or _frames is None:
            _context, _frames = _build_context()
        return _context, _frames


def get_gx_context() -> "AbstractDataContext":
    """The process-wide ephemeral context, created on first use (thread-safe)."""
    return _ensure_context()[0]


def dataframe_validation(name: str, build: "Callable[[], Sequence[Expectation]]") -> "ValidationDefinition":
    """The validation definition `name` over a whole in-memory DataFrame, built once per process.

    `build` is called only the first time; later calls reuse the same asset, batch definition and suite,
    so each audit pays only for the validation itself.
    """
    with _lock:
        cached = _validations.get(name)
        if cached is not None:
            return cached
        import great_expectations as gx
        from great_expectations.core.validation_definition import ValidationDefinition

        context, frames = _ensure_context()
        asset = frames.add_dataframe_asset(name=name)
        batch_definition = asset.add_batch_definition_whole_dataframe(name=f"{name}_whole_frame")
        suite = context.suites.add(gx.ExpectationSuite(name=f"{name}_suite", expectations=list(build())))
        validation = context.validation_definitions.add(
            ValidationDefinition(name=f"{name}_validation", data=batch_definition, suite=suite)
        )
        _validations[name] = validation
        return validation


def run_lock() -> threading.RLock:
    """Serialises validations: GX objects shared across threads are not documented as thread-safe."""
    return _lock
