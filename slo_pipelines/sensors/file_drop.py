"""Watch the drop directory; request one run per contiguous day range a new or changed file touches.

The cursor maps file name → "mtime_ns:size", so a file is processed once per version, and the run key
carries the same identity, so Dagster de-duplicates re-requests forever.
"""

import json
from collections.abc import Iterator

import dagster as dg
import numpy as np

from slo_pipelines.assets.partitions import daily_partitions
from slo_pipelines.engine.common.partition_ranges import day_index, day_ranges
from slo_pipelines.resources.sample_source import SampleSourceResource

MAX_FILES_PER_TICK = 20


def build_file_drop_sensor(job_name: str) -> dg.SensorDefinition:
    @dg.sensor(job_name=job_name, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED)
    def sample_file_sensor(
        context: dg.SensorEvaluationContext, samples: SampleSourceResource
    ) -> Iterator[dg.RunRequest]:
        """New or changed sample files in the drop directory → runs for exactly the days they cover."""
        files = samples.files()
        present = {p.name for p in files}
        # files that were removed from the drop directory leave the cursor, so it never grows unbounded
        seen = {
            k: v for k, v in (json.loads(context.cursor) if context.cursor else {}).items() if k in present
        }
        first_key = daily_partitions.get_first_partition_key()
        last_key = daily_partitions.get_last_partition_key()
        if first_key is None or last_key is None:
            return
        first_day, last_day = day_index(first_key), day_index(last_key)
        handled = 0
        for path in files:
            stat = path.stat()
            version = f"{stat.st_mtime_ns}:{stat.st_size}"
            if seen.get(path.name) == version:
                continue
            # the cursor moves past a file before it is parsed: a file that breaks parsing is reported
            # once per version instead of wedging the sensor on every tick
            if handled >= MAX_FILES_PER_TICK:
                break  # keep the tick short; the next tick continues from the cursor
            handled += 1
            seen[path.name] = version
            # the drop directory's index reads the file once; the runs then read it only for its days
            days = samples.covered_days(path)
            if not days:
                context.log.warning(f"skipping {path.name}: no row with a usable timestamp")
                continue
            for first, last in day_ranges(np.array(days, dtype=np.int64), first_day, last_day):
                yield dg.RunRequest(
                    run_key=f"drop:{path.name}:{version}:{first}:{last}",
                    tags={
                        "dagster/asset_partition_range_start": first,
                        "dagster/asset_partition_range_end": last,
                        "slo-pipelines/source-file": path.name,
                    },
                )
        context.update_cursor(json.dumps(seen, sort_keys=True))

    return sample_file_sensor
