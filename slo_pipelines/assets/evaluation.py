"""The engine over warehouse data: read exactly the history a set of instants needs, then evaluate."""

from slo_pipelines.catalog import Catalog
from slo_pipelines.engine.evaluate import CatalogEvaluator
from slo_pipelines.engine.policies import warning_thresholds
from slo_pipelines.engine.snapshots import history_start
from slo_pipelines.resources.warehouse import WarehouseResource


def warehouse_evaluator(
    catalog: Catalog, warehouse: WarehouseResource, first_at: int, last_at: int
) -> CatalogEvaluator:
    frame = warehouse.read_buckets(history_start(catalog, first_at), last_at)
    return CatalogEvaluator(catalog, frame, warning_thresholds(catalog))
