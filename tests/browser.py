"""Open a local HTML file in headless Chromium (Debian's `chromium`) over the DevTools protocol and
report what a reader would see wrong: console errors, exceptions, blocked resources, text cut off or
running past the page at a given width; plus a full-page screenshot."""

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.services import require_service

CHROMIUM = os.environ.get("SLO_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Elements whose content is wider than their box where the box hides the rest, text past the right
# edge of the viewport, and SVG text outside its chart: each is text a reader cannot see.
_CUT_OFF = r"""
(() => {
  const width = window.innerWidth, out = [];
  const name = (el) => el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined
      ? "." + String(el.className).split(" ").join(".") : "");
  if (document.documentElement.scrollWidth > width + 1)
    out.push(`page scrolls sideways: ${document.documentElement.scrollWidth}px > ${width}px`);
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest("svg")) continue;
    const style = getComputedStyle(el);
    const text = (el.innerText || "").trim().slice(0, 40);
    if (!text) continue;
    const hides = ["hidden", "clip"].includes(style.overflowX) || style.textOverflow === "ellipsis";
    if (hides && el.scrollWidth > el.clientWidth + 1)
      out.push(`${name(el)} "${text}" is cut off (${el.scrollWidth}px in ${el.clientWidth}px)`);
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 1)
      out.push(`${name(el)} "${text}" runs past the right edge (${Math.round(r.right)}px)`);
  }
  for (const t of document.querySelectorAll("svg text")) {
    const box = t.getBoundingClientRect(), svg = t.closest("svg").getBoundingClientRect();
    if (box.left < svg.left - 1 || box.right > svg.right + 1
        || box.top < svg.top - 1 || box.bottom > svg.bottom + 1)
      out.push(`chart label "${t.textContent}" is outside its chart`);
  }
  return out;
})()
"""


@dataclass
class PageCheck:
    console_errors: list[str] = field(default_factory=list)
    cut_off: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    title: str = ""


class _Session:
    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect

        self.ws = connect(url, max_size=64 * 1024 * 1024, open_timeout=20)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))))


def _errors(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        params = e.get("params", {})
        if e.get("method") == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.append(
                " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            )
        elif e.get("method") == "Runtime.exceptionThrown":
            out.append(params["exceptionDetails"].get("text", "exception"))
        elif e.get("method") == "Log.entryAdded" and params["entry"].get("level") == "error":
            out.append(params["entry"].get("text", ""))
    return out


def check_page(path: Path, width: int = 1280, height: int = 900) -> PageCheck:
    """Load `path` at `width` x `height` CSS pixels in a fresh profile; skip when Chromium is missing."""
    require_service("Chromium", shutil.which(CHROMIUM) is not None, f"{CHROMIUM} not found")
    profile = tempfile.mkdtemp(prefix="slo-chromium-")
    proc = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            port = int(found.group(1)) if found else None
        assert port is not None, "Chromium did not start its DevTools endpoint"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            targets = json.load(response)
        page = next(t for t in targets if t.get("type") == "page")
        session = _Session(page["webSocketDebuggerUrl"])
        try:
            for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
                session.call(domain)
            session.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            session.call("Page.navigate", url=path.resolve().as_uri())
            session.wait_for("Page.loadEventFired")
            result = PageCheck()
            result.cut_off = session.call("Runtime.evaluate", expression=_CUT_OFF, returnByValue=True)[
                "result"
            ]["value"]
            result.title = session.call("Runtime.evaluate", expression="document.title", returnByValue=True)[
                "result"
            ]["value"]
            shot = session.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            result.screenshot = base64.b64decode(shot["data"])
            result.console_errors = _errors(session.events)
            return result
        finally:
            session.ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
