"""Secrets stay secret: a password planted in SLO_PROMETHEUS_URL or SLO_PROMETHEUS_HEADERS appears in
no output a person or a log could read (console, Dagster event log, compute logs, metadata), and values
from input files are escaped in Dagster Markdown metadata."""

import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from slo_pipelines.assets.ingest import sli_buckets
from slo_pipelines.engine.common.redaction import redact, redact_url
from slo_pipelines.resources.prometheus import PrometheusResource
from tests.pipeline_helpers import FLEET, drop, resources

PLANTED = "Pl4nted-S3cret-9f2c"
ROOT = Path(__file__).parents[1]


def _closed_port() -> int:
    """A local port nothing listens on (Prometheus is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_redact_url_and_text() -> None:
    assert (
        redact_url(f"http://slo:{PLANTED}@prom:9090/x?token=abc&q=1")
        == "http://slo:***@prom:9090/x?token=%2A%2A%2A&q=1"
    )
    assert redact_url("http://prom:9090") == "http://prom:9090"
    assert redact_url(f"https://{PLANTED}@prom") == "https://***@prom"
    assert redact(f"failed for Bearer {PLANTED}!", [PLANTED]) == "failed for Bearer ***!"


def _ingest(env_extra: dict[str, str], url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env_extra}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "slo_pipelines.cli",
            "ingest",
            "prometheus",
            "--catalog",
            str(FLEET),
            "--url",
            url,
            "--start",
            "2026-11-01T00:00:00Z",
            "--end",
            "2026-11-01T01:00:00Z",
            "--out",
            str(tmp_path / "s.csv"),
            "--retries",
            "0",
            "--timeout",
            "2",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_console_never_shows_the_url_password(tmp_path: Path) -> None:
    run = _ingest({}, f"http://slo:{PLANTED}@127.0.0.1:{_closed_port()}", tmp_path)
    assert run.returncode == 1 and "slo:***@127.0.0.1" in run.stderr
    assert PLANTED not in run.stdout + run.stderr


@pytest.mark.parametrize(
    "headers",
    [
        f"X-Api-Key {PLANTED}",
        f'{{"X-Api-Key": {PLANTED}}}',
        f"Authorization: Bearer {PLANTED}; junk{PLANTED}",
    ],
)
def test_malformed_headers_are_not_echoed(tmp_path: Path, headers: str) -> None:
    run = _ingest({"SLO_PROMETHEUS_HEADERS": headers}, f"http://127.0.0.1:{_closed_port()}", tmp_path)
    assert run.returncode == 1 and "SLO_PROMETHEUS_HEADERS" in run.stderr
    assert PLANTED not in run.stdout + run.stderr


def test_dagster_event_log_compute_logs_and_storage_never_hold_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLO_TEST_PROMETHEUS_URL", f"http://slo:{PLANTED}@127.0.0.1:{_closed_port()}")
    home = tmp_path / "dagster_home"
    home.mkdir()
    res = resources(tmp_path)
    res["prometheus"] = PrometheusResource(
        url=dg.EnvVar("SLO_TEST_PROMETHEUS_URL"), ingest=True, max_retries=0
    )
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        result = dg.materialize(
            [sli_buckets], partition_key="2026-11-01", resources=res, instance=instance, raise_on_error=False
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        assert "slo:***@127.0.0.1" in str(failure.step_failure_data.error)
        logs = instance.all_logs(result.run_id)
        assert logs and not any(PLANTED in str(record) for record in logs)
    leaked = [p for p in home.rglob("*") if p.is_file() and PLANTED.encode() in p.read_bytes()]
    assert leaked == []


def test_markdown_metadata_escapes_names_from_input_files(tmp_path: Path) -> None:
    rows = pd.DataFrame(
        {
            "slo": ["<script>alert(1)</script>"],
            "timestamp": ["2026-11-01T00:00:00Z"],
            "good": [1],
            "total": [1],
        }
    )
    drop(tmp_path, "bad.csv", rows.assign(value=float("nan")))
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        result = dg.materialize(
            [sli_buckets],
            partition_key="2026-11-01",
            resources=resources(tmp_path),
            instance=instance,
            raise_on_error=False,
        )
        texts = [
            str(value.value)
            for event in result.all_events
            if event.event_type_value in ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION")
            for value in (
                event.event_specific_data.materialization.metadata
                if event.event_type_value == "ASSET_MATERIALIZATION"
                else event.event_specific_data.metadata
            ).values()
            if isinstance(value, dg.MarkdownMetadataValue)
        ]
    assert texts and not any("<script>" in t for t in texts)
    assert any("&lt;script&gt;" in t for t in texts)
