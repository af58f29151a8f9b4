"""A run whose worker is killed (kill -9) is marked FAILURE by Dagster's run monitoring in the daemon.

Real processes on a real instance: the demo's shipped dagster.yaml, `dagster-daemon run` (whose
monitoring loop does the checking), a run submitted with `dagster job launch`, and its worker killed.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml

from slo_pipelines.demo.run import DAGSTER_YAML
from slo_pipelines.resources.run_launcher import PID_TAG, worker_status

REPO = Path(__file__).resolve().parent.parent
DEPLOY_YAML = REPO / "deploy" / "dagster.yaml"

JOB_MODULE = """
import time

import dagster as dg


@dg.op
def linger() -> None:
    time.sleep(600)


@dg.job(executor_def=dg.in_process_executor)
def lingering():
    linger()


defs = dg.Definitions(jobs=[lingering])
"""


def _wait(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    (tmp_path / "lingering.py").write_text(JOB_MODULE)
    (tmp_path / "workspace.yaml").write_text("load_from:\n  - python_file: lingering.py\n")
    with dg.DagsterInstance.from_config(str(home)):
        pass  # create the storage once, before the daemon and the CLI open it concurrently
    yield home


def test_shipped_instance_configs_enable_monitoring_with_a_checkable_launcher() -> None:
    for text in (DAGSTER_YAML, DEPLOY_YAML.read_text()):
        config = yaml.safe_load(text)
        monitoring = config["run_monitoring"]
        assert monitoring["enabled"] is True
        assert monitoring["poll_interval_seconds"] <= 60  # dead runs seen within a minute or two
        assert config["run_launcher"]["class"] == "LocalProcessRunLauncher"


def test_worker_status_follows_the_tagged_process() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        from slo_pipelines.resources.run_launcher import worker_tags

        tags = worker_tags(child.pid)
        assert worker_status(tags).status == dg._core.launcher.WorkerStatus.RUNNING
        child.kill()
        child.wait()
        assert worker_status(tags).status == dg._core.launcher.WorkerStatus.FAILED
        # a different process that happens to get the same pid later is not the worker
        assert worker_status({**tags, "slo-pipelines/worker-started": "1"}).status.value == "FAILED"
    finally:
        child.kill()


def test_a_killed_run_is_marked_failed_by_the_daemon(home: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": f"{REPO}:{os.environ.get('PYTHONPATH', '')}",
    }
    bin_dir = Path(sys.executable).parent
    daemon = subprocess.Popen(
        [str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "daemon.log").open("w"),
        start_new_session=True,
    )
    try:
        launched = subprocess.run(
            [str(bin_dir / "dagster"), "job", "launch", "-w", "workspace.yaml", "-j", "lingering"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert launched.returncode == 0, launched.stderr[-2000:]
        with dg.DagsterInstance.from_config(str(home)) as instance:
            [run] = instance.get_runs()

            def started() -> dg.DagsterRun | None:
                current = instance.get_run_by_id(run.run_id)
                ok = current is not None and current.status == dg.DagsterRunStatus.STARTED
                return current if ok and PID_TAG in current.tags else None

            running = _wait(started, 120, "the daemon to launch the run")
            os.kill(int(running.tags[PID_TAG]), signal.SIGKILL)
            killed_at = time.monotonic()

            def failed() -> bool:
                current = instance.get_run_by_id(run.run_id)
                return current is not None and current.status == dg.DagsterRunStatus.FAILURE

            _wait(failed, 120, "run monitoring to mark the killed run failed")
            assert time.monotonic() - killed_at < 120
            messages = [
                e.message for e in instance.all_logs(run.run_id) if e.message and "worker" in e.message
            ]
            assert any("is gone" in m for m in messages), messages
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
