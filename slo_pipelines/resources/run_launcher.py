"""A Dagster run launcher whose run workers can be health-checked, so run monitoring sees dead runs.

Dagster's run monitoring (the `run_monitoring` section of `dagster.yaml`, performed by the daemon's
monitoring loop) marks a STARTED run failed only when the instance's run launcher can check its worker;
the default launcher cannot, so a run whose worker was killed (`kill -9`, an OOM kill, a lost machine)
stays STARTED forever and its partitions look "in progress". This launcher starts each run worker as a
local process (`dagster api execute_run`, the command Dagster's own code servers run) and records its
process id, host and start time on the run as tags; `check_run_worker_health` then tells the monitor
whether that process is still there. Runs executed in-process (`slo demo`) record the same tags
(`worker_tags()`), so a killed demo run is seen too.

Only workers on the daemon's own host can be checked; a run worker elsewhere is reported as running
(across machines, Dagster's Celery or Kubernetes executors and launchers bring their own monitoring).
"""

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from dagster import DagsterRun
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, RunLauncher, WorkerStatus
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import ConfigurableClass, ConfigurableClassData, serialize_value

PID_TAG = "slo-pipelines/worker-pid"
HOST_TAG = "slo-pipelines/worker-host"
STARTED_TAG = "slo-pipelines/worker-started"  # the process's start time, so a reused pid is not mistaken


def _process_start(pid: int) -> str | None:
    """Start time of a live process in clock ticks since boot (Linux), None when it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    state, start = fields[0], fields[19]
    return None if state in ("Z", "X") else start


def worker_tags(pid: int | None = None) -> dict[str, str]:
    """Tags identifying the process that executes a run (this one by default)."""
    pid = os.getpid() if pid is None else pid
    return {PID_TAG: str(pid), HOST_TAG: socket.gethostname(), STARTED_TAG: _process_start(pid) or ""}


def worker_status(tags: Mapping[str, str]) -> CheckRunHealthResult:
    """RUNNING while the tagged worker process lives; FAILED once it is gone (the run is not finished)."""
    pid = tags.get(PID_TAG)
    if pid is None or tags.get(HOST_TAG) != socket.gethostname():
        return CheckRunHealthResult(WorkerStatus.RUNNING, "worker not on this host; cannot be checked")
    started = _process_start(int(pid))
    if started is not None and started == tags.get(STARTED_TAG, started):
        return CheckRunHealthResult(WorkerStatus.RUNNING, f"worker process {pid} is alive")
    return CheckRunHealthResult(
        WorkerStatus.FAILED, f"worker process {pid} on {tags.get(HOST_TAG)} is gone (killed or crashed)"
    )


class LocalProcessRunLauncher(RunLauncher, ConfigurableClass):
    """Launches each run in its own `dagster api execute_run` process and health-checks it.

    In `dagster.yaml`:

        run_launcher:
          module: slo_pipelines.resources.run_launcher
          class: LocalProcessRunLauncher
    """

    def __init__(self, inst_data: ConfigurableClassData | None = None) -> None:
        self._inst_data = inst_data
        self._workers: dict[str, subprocess.Popen[bytes]] = {}
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> Self:
        return cls(inst_data=inst_data)

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        args = ExecuteRunArgs(
            job_origin=run.job_code_origin,  # type: ignore[arg-type]
            run_id=run.run_id,
            instance_ref=self._instance.get_ref(),
            set_exit_code_on_failure=True,
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "dagster", "api", "execute_run", serialize_value(args)],
            start_new_session=True,  # a signal to the daemon's process group does not reach the run
        )
        self._workers[run.run_id] = worker
        self._instance.add_run_tags(run.run_id, worker_tags(worker.pid))

    def _reap(self) -> None:
        """Collect exited workers, so a dead child is gone rather than a zombie that looks alive."""
        for run_id, worker in list(self._workers.items()):
            if worker.poll() is not None:
                del self._workers[run_id]

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        self._reap()
        return worker_status(run.tags)

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished or worker_status(run.tags).status != WorkerStatus.RUNNING:
            return False
        pid = run.tags.get(PID_TAG)
        if pid is None or run.tags.get(HOST_TAG) != socket.gethostname():
            return False
        self._instance.report_run_canceling(run)
        os.kill(int(pid), signal.SIGTERM)  # the worker turns SIGTERM into an orderly cancellation
        return True

    def dispose(self) -> None:
        self._reap()
