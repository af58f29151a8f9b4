"""The Prometheus client against a real HTTP server on 127.0.0.1 serving canned answers."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from slo_pipelines.resources.prometheus import (
    ClientSettings,
    PrometheusClient,
    PrometheusError,
    PrometheusResource,
)


class Canned:
    """Answers in order (status, body, delay); the last one repeats. Records every request."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, object, float]] = []
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.lock = threading.Lock()

    def next(self) -> tuple[int, object, float]:
        with self.lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def server() -> Iterator[tuple[str, Canned]]:
    canned = Canned()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            params = parse_qs(self.rfile.read(length).decode())
            canned.requests.append((self.path, params, dict(self.headers.items())))
            status, body, delay = canned.next()
            time.sleep(delay)
            payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", canned
    finally:
        httpd.shutdown()
        httpd.server_close()


def ok(result: list[object], warnings: list[str] | None = None) -> dict[str, object]:
    body: dict[str, object] = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    if warnings:
        body["warnings"] = warnings
    return body


SERIES = {"metric": {"__name__": "x_total", "job": "a"}, "values": [[1000.5, "1"], [1015.5, "3"]]}


def client(url: str, sleeps: list[float] | None = None, **kw: object) -> PrometheusClient:
    settings = ClientSettings(url=url, backoff_seconds=0.25, **kw)  # type: ignore[arg-type]
    record = sleeps if sleeps is not None else []
    return PrometheusClient(settings, sleep=record.append)


def test_5xx_is_retried_with_exponential_backoff(server: tuple[str, Canned]) -> None:
    url, canned = server
    canned.answers = [(503, {"status": "error", "errorType": "timeout", "error": "busy"}, 0)] * 2
    canned.answers += [(502, "bad gateway", 0), (200, ok([SERIES]), 0)]
    sleeps: list[float] = []
    kind, series = client(url, sleeps).query("x_total[15s]", 1016)
    assert kind == "matrix" and series[0].values.tolist() == [1.0, 3.0]
    assert series[0].timestamps_ms.tolist() == [1_000_500, 1_015_500]
    assert len(canned.requests) == 4 and sleeps == [0.25, 0.5, 1.0]
    assert canned.requests[0][1]["query"] == ["x_total[15s]"]


def test_4xx_fails_at_once_naming_the_query(server: tuple[str, Canned]) -> None:
    url, canned = server
    canned.answers = [
        (400, {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}, 0)
    ]
    with pytest.raises(PrometheusError) as info:
        client(url).query("sum(x", 1000)
    message = str(info.value)
    assert "'sum(x'" in message and "HTTP 400" in message and "bad_data: parse error at char 3" in message
    assert len(canned.requests) == 1


def test_gives_up_after_the_retries_and_says_why(server: tuple[str, Canned]) -> None:
    url, canned = server
    canned.answers = [(500, "oops", 0)]
    with pytest.raises(PrometheusError, match=r"HTTP 500: oops \(gave up after 3 attempts\)"):
        client(url, max_retries=2).query("up", 1000)
    assert len(canned.requests) == 3


def test_timeouts_are_retried(server: tuple[str, Canned]) -> None:
    url, canned = server
    canned.answers = [(200, ok([SERIES]), 1.0), (200, ok([SERIES]), 0)]
    sleeps: list[float] = []
    kind, _ = client(url, sleeps, timeout_seconds=0.2).query("x_total[15s]", 1016)
    assert kind == "matrix" and sleeps == [0.25] and len(canned.requests) == 2
    canned.answers = [(200, ok([SERIES]), 1.0)]
    with pytest.raises(PrometheusError, match=r"'up'.*timed out after 0.2s \(gave up after 2 attempts\)"):
        client(url, timeout_seconds=0.2, max_retries=1).query("up", 1000)


def test_refused_connection_is_an_error_naming_the_query() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PrometheusError, match=r"query 'up'.*cannot connect"):
        client(f"http://127.0.0.1:{port}", max_retries=1).query("up", 1000)


def test_status_error_in_a_200_body_and_warnings_are_surfaced(server: tuple[str, Canned]) -> None:
    url, canned = server
    canned.answers = [(200, ok([SERIES], warnings=["partial response: store down"]), 0)]
    c = client(url)
    c.query("x_total[15s]", 1016)
    assert len(c.warnings) == 1 and "partial response: store down" in c.warnings[0]
    assert "x_total[15s]" in c.warnings[0]
    canned.answers = [(200, {"status": "error", "errorType": "execution", "error": "too many samples"}, 0)]
    with pytest.raises(PrometheusError, match="execution: too many samples"):
        c.query("x_total[15s]", 1016)


def test_auth_and_headers_come_from_the_named_environment_variables(server: tuple[str, Canned]) -> None:
    url, canned = server
    canned.answers = [(200, ok([]), 0)]
    resource = PrometheusResource(url=url, bearer_token_env="MY_TOKEN", headers_env="MY_HEADERS")
    env = {"MY_TOKEN": "s3cret", "MY_HEADERS": '{"X-Scope-OrgID": "team-a"}'}
    resource.get_client(env).query("up", 1000)
    headers = canned.requests[-1][2]
    assert headers["Authorization"] == "Bearer s3cret" and headers["X-Scope-OrgID"] == "team-a"
    basic = PrometheusResource(url=url, username_env="U", password_env="P", headers_env="H")
    basic.get_client({"U": "alice", "P": "pw", "H": "X-A: 1; X-B: two"}).query("up", 1000)
    headers = canned.requests[-1][2]
    assert headers["Authorization"] == "Basic YWxpY2U6cHc=" and headers["X-B"] == "two"
    with pytest.raises(PrometheusError, match="H: expected 'Name: value'"):
        basic.get_client({"H": "no colon here"})


def test_query_range_is_chunked_under_the_points_limit(server: tuple[str, Canned]) -> None:
    url, canned = server
    canned.answers = [(200, ok([SERIES]), 0)]
    c = client(url, max_points_per_series=100)
    c.query_range("sum(rate(x[$__bucket]))", 0, 60 * 1000, 60)
    spans = [(float(p["start"][0]), float(p["end"][0]), p["step"][0]) for path, p, _ in canned.requests]
    assert all(path == "/api/v1/query_range" for path, _, _ in canned.requests)
    assert all(step == "60s" for _, _, step in spans)
    assert all((end - start) / 60 + 1 <= 100 for start, end, _ in spans)
    points = sorted(t for start, end, _ in spans for t in range(int(start), int(end) + 1, 60))
    assert points == list(range(0, 60 * 1000 + 1, 60))  # every step once, no overlap or hole


def test_raw_samples_are_chunked_and_joined(server: tuple[str, Canned]) -> None:
    url, canned = server
    first = {"metric": {"__name__": "x_total"}, "values": [[100, "1"], [110, "2"]]}
    second = {"metric": {"__name__": "x_total"}, "values": [[110, "2"], [120, "5"]]}
    canned.answers = [(200, ok([first]), 0), (200, ok([second]), 0)]
    c = client(url, max_points_per_series=11, min_scrape_interval_seconds=1.0)
    series = c.raw_samples("x_total", 100, 120)
    queries = [(p["query"][0], float(p["time"][0])) for _, p, _ in canned.requests]
    assert queries == [("x_total[10s]", 110.0), ("x_total[10s]", 120.0)]
    assert len(series) == 1
    assert series[0].timestamps_ms.tolist() == [100_000, 110_000, 120_000]
    assert series[0].values.tolist() == [1.0, 2.0, 5.0]


def test_nan_values_are_kept_for_quarantine(server: tuple[str, Canned]) -> None:
    url, canned = server
    canned.answers = [(200, ok([{"metric": {}, "values": [[60, "NaN"], [120, "2"]]}]), 0)]
    (series,) = client(url).query_range("q", 60, 120, 60)
    assert str(series.values[0]) == "nan" and series.values[1] == 2.0
