"""Credentials never reach a console, a log or an event: URLs lose their password (and secret-looking
query parameters) and any known secret value is replaced wherever it appears in a message."""

from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

REDACTED = "***"
_SECRET_PARAMS = ("password", "passwd", "pwd", "token", "secret", "key", "apikey", "api_key", "access_token")
# Shorter values would blank ordinary words out of messages (a password "a" is its own problem).
_MIN_SECRET_LENGTH = 3


def redact_url(url: str) -> str:
    """`http://user:pass@host/x?token=t` -> `http://user:***@host/x?token=***`; unparsable text unchanged."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    netloc = parts.netloc
    if password is not None or "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{host}" if password is not None else f"{REDACTED}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in _SECRET_PARAMS for k, _ in pairs):
            query = urlencode([(k, REDACTED if k.lower() in _SECRET_PARAMS else v) for k, v in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_secrets(url: str) -> list[str]:
    """The credential parts of a URL (password, user-info, secret query values), raw and decoded."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    found: list[str] = []
    if password:
        found += [password, unquote(password)]
    if "@" in parts.netloc and password is None:
        userinfo = parts.netloc.rpartition("@")[0]
        found += [userinfo, unquote(userinfo)]
    found += [v for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_PARAMS]
    return found


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret (longest first) replaced by `***`."""
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
