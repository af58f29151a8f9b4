"""A real Prometheus on 127.0.0.1 serving OpenMetrics history loaded with `promtool`, for tests."""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.services import require_service


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_prometheus() -> tuple[str, str]:
    """(prometheus, promtool) paths; a skip with the reason, or a failure under SLO_REQUIRE_SERVICES=1."""
    binary, promtool = shutil.which("prometheus"), shutil.which("promtool")
    require_service(
        "Prometheus",
        binary is not None and promtool is not None,
        "prometheus/promtool binaries not on PATH (apt-get install -y prometheus)",
    )
    assert binary is not None and promtool is not None
    return binary, promtool


@contextmanager
def prometheus_with_history(root: Path, openmetrics: str) -> Iterator[str]:
    """Backfill `openmetrics` into a TSDB with promtool, serve it, yield the URL, stop it afterwards."""
    binary, promtool = require_prometheus()
    (root / "data.om").write_text(openmetrics)
    data = root / "tsdb"
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(root / "data.om"), str(data)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (root / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\n")
    port = _free_port()
    log_path = root / "prometheus.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={data}",
                "--storage.tsdb.retention.time=100y",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"prometheus did not become ready: {log_path.read_text()[-2000:]}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
