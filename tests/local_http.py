"""A real HTTP server on 127.0.0.1 in a thread, with per-path scripted answers, for network tests."""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    body: str
    headers: dict[str, str]


Route = Callable[[Seen], Reply]


@dataclass
class LocalServer:
    url: str
    routes: dict[tuple[str, str], Route]
    seen: list[Seen]

    def route(self, method: str, path: str, reply: Reply | Route) -> None:
        self.routes[(method, path)] = reply if callable(reply) else (lambda _seen: reply)


@contextmanager
def local_server() -> Iterator[LocalServer]:
    routes: dict[tuple[str, str], Route] = {}
    seen: list[Seen] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Seen(
                self.command,
                self.path,
                self.rfile.read(length).decode("utf-8") if length else "",
                dict(self.headers.items()),
            )
            seen.append(request)
            route = routes.get((self.command, self.path)) or routes.get(
                (self.command, self.path.split("?")[0])
            )
            reply = route(request) if route else Reply(404, "not found")
            if reply.delay_seconds:
                time.sleep(reply.delay_seconds)
            payload = reply.body.encode("utf-8")
            try:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test); nothing left to do

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalServer(f"http://127.0.0.1:{server.server_address[1]}", routes, seen)
    finally:
        server.shutdown()
        server.server_close()


def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
