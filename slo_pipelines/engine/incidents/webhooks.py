"""PagerDuty v3 webhook signatures (pure): `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]`.

The signature is HMAC-SHA256 of the raw request body with the subscription's secret, hex-encoded.
PagerDuty sends one `v1=` per active secret while a secret is being rotated, and we may hold several
secrets too, so a delivery is genuine when any of our secrets matches any of its signatures. Every
comparison is constant-time (`hmac.compare_digest`).
"""

import hashlib
import hmac
from collections.abc import Sequence


def sign(body: bytes, secret: str) -> str:
    """The `v1=` value PagerDuty would send for `body` under `secret`."""
    return "v1=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_problem(body: bytes, header: str | None, secrets: Sequence[str]) -> str | None:
    """None when the delivery is signed by one of `secrets`, else the reason it is refused."""
    if not secrets:
        return "no webhook secret is configured"
    if not header or not header.strip():
        return "missing X-PagerDuty-Signature header"
    offered = [part.strip()[3:] for part in header.split(",") if part.strip().startswith("v1=")]
    if not offered:
        return "X-PagerDuty-Signature carries no v1= signature"
    matched = False
    for secret in secrets:
        expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        for candidate in offered:
            # no early exit: every pair is compared, so timing says nothing about which one matched
            matched |= hmac.compare_digest(expected, candidate.lower())
    return None if matched else "signature does not match any configured secret"
