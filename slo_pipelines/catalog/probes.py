"""Synthetic probe files: multi-step user transactions written in YAML, parsed and validated here.

A probe file holds one or more YAML documents, each one transaction::

    name: checkout-purchase
    slo: checkout-availability        # the SLO whose buckets the results feed
    interval: 5m                      # a multiple of the 5-minute schedule tick
    baseUrlEnv: CHECKOUT_STAGING_URL  # optional; otherwise the runner's configured base URL
    steps:
      - name: add to cart
        method: POST
        path: /api/cart
        headers: {Content-Type: application/json}
        body: {sku: "ABC-1", quantity: 1}
        expect: {status: 201, bodyContains: "ABC-1", jsonPath: {"$.items[0].sku": "ABC-1"}}
        capture: {cartId: "$.id"}     # later steps may use {{cartId}} in path, headers, body, expect
        latencyBudgetMs: 400

Step paths are paths, never URLs: the host always comes from configuration, so a probe file cannot
point at production by accident. Errors are reported like the catalog's: every problem at once, each
naming the file, the document index, the field path and the offending value.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slo_pipelines.catalog.durations import DurationError, parse_fixed_seconds
from slo_pipelines.catalog.errors import CatalogError, CatalogIssue
from slo_pipelines.catalog.fields import (
    Reporter,
    as_mapping,
    join,
    mapping,
    number,
    sequence,
    show,
    string,
    unknown_fields,
)
from slo_pipelines.catalog.yamlfiles import catalog_files, read_documents

PROBE_TICK_SECONDS = 300
"""The `synthetic_probes` schedule fires every 5 minutes; probe intervals are multiples of it."""

DEFAULT_INTERVAL_SECONDS = PROBE_TICK_SECONDS
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_PROBE_FIELDS = ("name", "slo", "description", "interval", "baseUrlEnv", "steps")
_STEP_FIELDS = ("name", "method", "path", "headers", "body", "expect", "capture", "latencyBudgetMs")
_EXPECT_FIELDS = ("status", "bodyContains", "jsonPath")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TEMPLATE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_PATH_TOKEN = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[\"([^\"]*)\"\]|\['([^']*)'\]")

JsonPath = tuple[str | int, ...]


class JsonPathError(ValueError):
    """A JSONPath outside the supported subset; the message is ready for an issue."""


@dataclass(frozen=True)
class JsonPathExpectation:
    text: str
    path: JsonPath
    expected: Any


@dataclass(frozen=True)
class Expectation:
    statuses: tuple[int, ...]
    body_contains: tuple[str, ...]
    json_paths: tuple[JsonPathExpectation, ...]


@dataclass(frozen=True)
class ProbeStep:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    expect: Expectation
    capture: dict[str, tuple[str, JsonPath]]
    latency_budget_ms: float


@dataclass(frozen=True)
class Probe:
    name: str
    slo: str
    file: str
    index: int
    interval_seconds: int
    base_url_env: str | None
    steps: tuple[ProbeStep, ...]

    def is_due(self, tick: int) -> bool:
        """Stateless scheduling: a 15m probe runs on the ticks at :00, :15, :30 and :45 (epoch-aligned)."""
        return tick % self.interval_seconds < PROBE_TICK_SECONDS


def parse_json_path(text: str) -> JsonPath:
    """`$`, `.name`, `[0]` and `["any key"]`: enough to reach into a response, and nothing that guesses."""
    if not text.startswith("$"):
        raise JsonPathError(f"must start with $ such as $.items[0].id (got {show(text)})")
    steps: list[str | int] = []
    pos = 1
    while pos < len(text):
        match = _PATH_TOKEN.match(text, pos)
        if match is None:
            raise JsonPathError(
                f'unsupported JSONPath at character {pos + 1}; use $.name, [index] or ["key"] '
                f"(got {show(text)})"
            )
        name, index, dquoted, squoted = match.groups()
        steps.append(
            int(index) if index is not None else next(g for g in (name, dquoted, squoted) if g is not None)
        )
        pos = match.end()
    return tuple(steps)


def resolve_json_path(document: Any, path: JsonPath) -> tuple[bool, Any]:
    """(found, value): a missing key and an explicit null are different answers."""
    current = document
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return False, None
            current = current[step]
        else:
            if not isinstance(current, dict) or step not in current:
                return False, None
            current = current[step]
    return True, current


def template_names(value: Any) -> list[str]:
    """Every `{{name}}` used in a string, or in the strings nested in a mapping or list."""
    if isinstance(value, str):
        return [m.group(1) for m in _TEMPLATE.finditer(value)]
    if isinstance(value, dict):
        return [name for item in value.values() for name in template_names(item)]
    if isinstance(value, list):
        return [name for item in value for name in template_names(item)]
    return []


def fill_templates(value: Any, variables: dict[str, str]) -> Any:
    """`value` with each `{{name}}` replaced by the captured value (validation guarantees it exists)."""
    if isinstance(value, str):
        return _TEMPLATE.sub(lambda m: variables[m.group(1)], value)
    if isinstance(value, dict):
        return {key: fill_templates(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [fill_templates(item, variables) for item in value]
    return value


def load_probes(path: str | Path) -> list[Probe]:
    """Every probe under `path` (a directory of YAML files, or one file); raises `CatalogError`."""
    root = Path(path)
    issues: list[CatalogIssue] = []
    probes: list[Probe] = []
    for on_disk, shown in catalog_files(root, Reporter(root.as_posix(), None, issues)):
        for doc in read_documents(on_disk, shown, Reporter(shown, None, issues)):
            probe = parse_probe(doc.data, shown, doc.index, issues)
            if probe is not None:
                probes.append(probe)
    first_seen: dict[str, Probe] = {}
    for probe in probes:
        if probe.name in first_seen:
            other = first_seen[probe.name]
            issues.append(
                CatalogIssue(
                    probe.file,
                    probe.index,
                    "name",
                    f"duplicate probe name (also in {other.file}[{other.index}]) (got {show(probe.name)})",
                )
            )
        first_seen.setdefault(probe.name, probe)
    if issues:
        raise CatalogError(issues)
    return probes


def parse_probe(data: Any, file: str, index: int, sink: list[CatalogIssue]) -> Probe | None:
    """One probe document, or None with every problem appended to `sink`."""
    r = Reporter(file, index, sink)
    before = len(sink)
    doc = as_mapping(r, data, "")
    if doc is None:
        return None
    unknown_fields(r, doc, _PROBE_FIELDS, "")
    name = string(r, doc, "name", "", required=True)
    slo = string(r, doc, "slo", "", required=True)
    string(r, doc, "description", "")
    interval = _interval(r, doc)
    env = string(r, doc, "baseUrlEnv", "")
    if env is not None and not _ENV_NAME.match(env):
        r.error("baseUrlEnv", f"must be an environment variable name such as CHECKOUT_URL (got {show(env)})")
    raw_steps = sequence(r, doc, "steps", "", required=True)
    steps: list[ProbeStep] = []
    captured: set[str] = set()
    names: set[str] = set()
    for i, raw in enumerate(raw_steps or []):
        step = _step(r, raw, f"steps[{i}]", captured)
        if step is None:
            continue
        if step.name in names:
            r.error(f"steps[{i}].name", f"duplicate step name in this probe (got {show(step.name)})")
        names.add(step.name)
        steps.append(step)
    if len(sink) > before or name is None or slo is None or interval is None:
        return None
    return Probe(name, slo, file, index, interval, env, tuple(steps))


def _interval(r: Reporter, doc: dict[str, Any]) -> int | None:
    raw = doc.get("interval")
    if raw is None:
        return DEFAULT_INTERVAL_SECONDS
    try:
        seconds = parse_fixed_seconds(raw)
    except DurationError as exc:
        r.error("interval", str(exc))
        return None
    if seconds % PROBE_TICK_SECONDS:
        r.error("interval", f"must be a multiple of 5m, the probe schedule's tick (got {show(raw)})")
        return None
    return seconds


def _step(r: Reporter, raw: Any, base: str, captured: set[str]) -> ProbeStep | None:
    before = len(r.sink)
    step = as_mapping(r, raw, base)
    if step is None:
        return None
    unknown_fields(r, step, _STEP_FIELDS, base)
    name = string(r, step, "name", base, required=True)
    method = _method(r, step, base)
    path = _path(r, step, base)
    headers = _headers(r, step, base)
    body = step.get("body")
    if body is not None and not isinstance(body, dict | list | str):
        r.error(join(base, "body"), f"must be a mapping, a list or a string (got {show(body)})")
    expect = _expect(r, step, base)
    budget = number(r, step, "latencyBudgetMs", base, required=True)
    if budget is not None and budget <= 0:
        r.error(join(base, "latencyBudgetMs"), f"must be positive (got {show(step['latencyBudgetMs'])})")
    templated = (("path", path), ("headers", headers), ("body", body), ("expect", step.get("expect")))
    for field, value in templated:
        for used in template_names(value):
            if used not in captured:
                known = ", ".join(sorted(captured)) or "none yet"
                r.error(
                    join(base, field),
                    f"uses {{{{{used}}}}}, which no earlier step captures (captured: {known})",
                )
    capture = _capture(r, step, base)
    captured.update(capture)
    if len(r.sink) > before or None in (name, method, path, headers, expect, budget):
        return None
    assert name is not None and method is not None and path is not None  # narrowed by the check above
    assert headers is not None and expect is not None and budget is not None
    return ProbeStep(name, method, path, headers, body, expect, capture, budget)


def _method(r: Reporter, step: dict[str, Any], base: str) -> str | None:
    raw = step.get("method", "GET")
    if not isinstance(raw, str) or raw.upper() not in METHODS:
        r.error(join(base, "method"), f"must be one of {', '.join(METHODS)} (got {show(raw)})")
        return None
    return raw.upper()


def _path(r: Reporter, step: dict[str, Any], base: str) -> str | None:
    path = string(r, step, "path", base, required=True)
    if path is None:
        return None
    if not path.startswith("/") or path.startswith("//"):
        r.error(
            join(base, "path"),
            f"must be a path starting with / (the base URL comes from configuration) (got {show(path)})",
        )
        return None
    return path


def _headers(r: Reporter, step: dict[str, Any], base: str) -> dict[str, str] | None:
    raw = mapping(r, step, "headers", base)
    if raw is None:
        return {} if step.get("headers") is None else None
    headers: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            r.error(join(base, f"headers.{key}"), f"must be a string (got {show(value)})")
        else:
            headers[str(key)] = value
    return headers


def _expect(r: Reporter, step: dict[str, Any], base: str) -> Expectation | None:
    where = join(base, "expect")
    raw = mapping(r, step, "expect", base, required=True)
    if raw is None:
        return None
    unknown_fields(r, raw, _EXPECT_FIELDS, where)
    statuses = _statuses(r, raw.get("status"), join(where, "status"))
    contains = _contains(r, raw.get("bodyContains"), join(where, "bodyContains"))
    paths: list[JsonPathExpectation] = []
    for text, expected in (mapping(r, raw, "jsonPath", where) or {}).items():
        try:
            paths.append(JsonPathExpectation(str(text), parse_json_path(str(text)), expected))
        except JsonPathError as exc:
            r.error(join(where, f"jsonPath.{text}"), str(exc))
    if statuses is None or contains is None:
        return None
    return Expectation(statuses, contains, tuple(paths))


def _statuses(r: Reporter, raw: Any, path: str) -> tuple[int, ...] | None:
    if raw is None:
        r.error(path, "is required")
        return None
    values = raw if isinstance(raw, list) else [raw]
    ok = bool(values) and all(
        isinstance(v, int) and not isinstance(v, bool) and 100 <= v <= 599 for v in values
    )
    if not ok:
        r.error(path, f"must be an HTTP status (100-599) or a list of them (got {show(raw)})")
        return None
    return tuple(values)


def _contains(r: Reporter, raw: Any, path: str) -> tuple[str, ...] | None:
    if raw is None:
        return ()
    values = raw if isinstance(raw, list) else [raw]
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value:
            where = f"{path}[{i}]" if isinstance(raw, list) else path
            r.error(where, f"must be a non-empty string (got {show(value)})")
            return None
    return tuple(values)


def _capture(r: Reporter, step: dict[str, Any], base: str) -> dict[str, tuple[str, JsonPath]]:
    out: dict[str, tuple[str, JsonPath]] = {}
    for key, text in (mapping(r, step, "capture", base) or {}).items():
        where = join(base, f"capture.{key}")
        if not isinstance(key, str) or not _VARIABLE.match(key):
            r.error(where, f"variable names are letters, digits and _ (got {show(key)})")
            continue
        if not isinstance(text, str):
            r.error(where, f"must be a JSONPath string such as $.id (got {show(text)})")
            continue
        try:
            out[key] = (text, parse_json_path(text))
        except JsonPathError as exc:
            r.error(where, str(exc))
    return out
