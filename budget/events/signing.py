"""Webhook signatures: HMAC-SHA256 over ``"<timestamp>.<body>"`` with the webhook's secret.

Every delivery carries ``Budget-Signature: t=<unix seconds>,v1=<hex digest>``.
A receiver recomputes the digest over the raw body it received, compares in
constant time, and refuses a timestamp too far from its clock (replays).
:func:`verify_signature` does exactly that, for receivers written in Python.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Budget-Signature"
EVENT_ID_HEADER = "Budget-Event-Id"
EVENT_TYPE_HEADER = "Budget-Event-Type"
DELIVERY_HEADER = "Budget-Delivery-Id"
SECRET_PREFIX = "whsec_"
#: Seconds a signature stays acceptable (either side of the receiver's clock).
DEFAULT_TOLERANCE = 300


def new_secret() -> str:
    """A fresh webhook secret (shown once, when the webhook is created)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``b"<timestamp>." + body`` under ``secret``."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The value of the ``Budget-Signature`` header for ``body``."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={ts},v1={compute_signature(secret, ts, body)}"


def parse_signature_header(header: str) -> tuple[int, list[str]]:
    """``t=…,v1=…[,v1=…]`` as (timestamp, signatures); ValueError if malformed."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise ValueError(f"not a Budget-Signature header: {header!r}")
    return timestamp, signatures


def verify_signature(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds."""
    try:
        timestamp, signatures = parse_signature_header(header)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = compute_signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in signatures)
