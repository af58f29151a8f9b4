"""Just enough PromQL to know when ingestion may read raw counter samples instead of a computed query.

Exact per-bucket counts come from the samples themselves (see `engine/sli/counters.py`), which is only
possible when the query is a plain series selector, optionally wrapped in `sum(...)` or
`sum by/without (...) (...)`: summing every selected series per bucket is what such a query means
for an SLO, which is one number per bucket. Anything else is evaluated by Prometheus once per bucket,
with `$__bucket` standing for the bucket's length so the query can say `increase(x[$__bucket])`.
"""

import re
from dataclasses import dataclass

BUCKET_PLACEHOLDER = "$__bucket"

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_STRING = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`"
_MATCHER = rf"\s*(?P<label>{_LABEL})\s*(?P<op>=~|!~|!=|=)\s*(?P<value>{_STRING})\s*"
_SELECTOR_RE = re.compile(rf"\s*(?P<metric>{_NAME})?\s*(?:\{{(?P<matchers>(?:{_MATCHER},?)*)\}})?\s*")
_MATCHER_RE = re.compile(_MATCHER)
_GROUPING = rf"(?:by|without)\s*\(\s*(?:{_LABEL}\s*(?:,\s*{_LABEL}\s*)*,?)?\s*\)"
_SUM_PREFIX_RE = re.compile(rf"\s*sum\s*(?:(?P<pre>{_GROUPING})\s*)?\(", re.IGNORECASE)
_SUM_SUFFIX_RE = re.compile(rf"\s*(?P<post>{_GROUPING})?\s*", re.IGNORECASE)
_KEYWORDS = {"sum", "by", "without", "rate", "increase", "and", "or", "unless", "offset", "bool"}


class QueryError(ValueError):
    """A query ingestion cannot use; the message names the query."""


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str


@dataclass(frozen=True)
class SeriesSelector:
    """A recognised selector: `text` is the bare selector to wrap in a range (`text[5m]`)."""

    text: str
    metric: str | None
    matchers: tuple[Matcher, ...]
    summed: bool

    def equality(self, label: str) -> str | None:
        """The value a label is pinned to by `label="v"`, if any (used for histogram `le`)."""
        if label == "__name__" and self.metric is not None:
            return self.metric
        for m in self.matchers:
            if m.label == label and m.op == "=":
                return m.value
        return None


def _unquote(token: str) -> str:
    if token.startswith("`"):
        return token[1:-1]
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _selector(text: str) -> SeriesSelector | None:
    match = _SELECTOR_RE.fullmatch(text)
    if match is None:
        return None
    metric, matchers_text = match.group("metric"), match.group("matchers")
    if metric is None and matchers_text is None:
        return None
    if metric is not None and metric.lower() in _KEYWORDS:
        return None
    matchers = tuple(
        Matcher(m.group("label"), m.group("op"), _unquote(m.group("value")))
        for m in _MATCHER_RE.finditer(matchers_text or "")
    )
    if metric is None and not any(m.op in ("=", "=~") and m.value for m in matchers):
        return None  # Prometheus refuses selectors that could match every series
    return SeriesSelector(text=text.strip(), metric=metric, matchers=matchers, summed=False)


def _closing_paren(text: str, opening: int) -> int | None:
    """Index of the `)` matching `text[opening]`, skipping quoted label values."""
    depth, i, quote = 0, opening, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def parse_series_selector(query: str) -> SeriesSelector | None:
    """The selector inside `query` when it is `sel`, `sum(sel)`, `sum by (l)(sel)` or `sum(sel) by (l)`."""
    plain = _selector(query)
    if plain is not None:
        return plain
    head = _SUM_PREFIX_RE.match(query)
    if head is None:
        return None
    close = _closing_paren(query, head.end() - 1)
    if close is None:
        return None
    tail = _SUM_SUFFIX_RE.fullmatch(query[close + 1 :])
    if tail is None or (tail.group("post") and head.group("pre")):
        return None
    inner = _selector(query[head.end() : close])
    if inner is None:
        return None
    return SeriesSelector(text=inner.text, metric=inner.metric, matchers=inner.matchers, summed=True)


def bucket_duration(bucket_seconds: int) -> str:
    """A PromQL duration literal for one bucket (`60s`)."""
    if bucket_seconds <= 0:
        raise QueryError(f"bucket length must be positive (got {bucket_seconds})")
    return f"{bucket_seconds}s"


def substitute_bucket(query: str, bucket_seconds: int) -> str:
    """`query` with every `$__bucket` replaced by the bucket length, e.g. `increase(x[$__bucket])`."""
    return query.replace(BUCKET_PLACEHOLDER, bucket_duration(bucket_seconds))


def uses_bucket_placeholder(query: str) -> bool:
    return BUCKET_PLACEHOLDER in query
