"""Webhook signatures: the Standard Webhooks scheme, and the deprecated ``Budget-Signature``.

Every delivery carries the three Standard Webhooks headers
(https://www.standardwebhooks.com), so receivers verify with any of its
libraries (e.g. ``standardwebhooks.Webhook(secret).verify(body, headers)``):

* ``webhook-id``: the event's id (the same on every retry: dedupe on it);
* ``webhook-timestamp``: unix seconds of the attempt;
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``,
  one entry per live secret, separated by spaces (two during a rotation's overlap).

The secret is ``whsec_<base64 key>``; the HMAC key is the decoded part after
the prefix. Secrets issued before this scheme were ``whsec_`` + URL-safe
base64 without padding: :func:`secret_key` reads them as written (``-`` and
``_`` are URL-safe digits), so they sign the same 32 bytes, and
:func:`standard_secret` rewrites such a secret in the standard alphabet for
libraries that expect it.

Deprecated, sent for one more release: ``Budget-Signature: t=<unix seconds>,v1=<hex>``,
the hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with the secret string's
UTF-8 bytes (prefix included). :func:`verify_signature` checks it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from collections.abc import Iterable

#: Deprecated header (one more release); see the module docstring.
SIGNATURE_HEADER = "Budget-Signature"
EVENT_ID_HEADER = "Budget-Event-Id"
EVENT_TYPE_HEADER = "Budget-Event-Type"
DELIVERY_HEADER = "Budget-Delivery-Id"
WEBHOOK_ID_HEADER = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
#: Random bytes in a new secret's key.
KEY_BYTES = 32
#: Seconds a signature stays acceptable (either side of the receiver's clock).
DEFAULT_TOLERANCE = 300


def new_secret() -> str:
    """A fresh webhook secret, ``whsec_`` + standard base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(KEY_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret: its base64 part decoded (standard
    or URL-safe alphabet, padding optional); ValueError if it is not base64."""
    encoded = secret.removeprefix(SECRET_PREFIX).rstrip("=")
    alphabet = b"-_" if ("-" in encoded or "_" in encoded) else None
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(padded, altchars=alphabet, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not key:
        raise ValueError("a webhook secret is whsec_ followed by base64")
    return key


def standard_secret(secret: str) -> str:
    """``secret`` written as ``whsec_`` + padded standard base64 (the same key)."""
    return SECRET_PREFIX + base64.b64encode(secret_key(secret)).decode()


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``"<msg_id>.<timestamp>.<body>"`` under ``secret``."""
    message = f"{msg_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(secret_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def standard_headers(
    secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with each of ``secrets``."""
    signatures = " ".join(standard_signature(s, msg_id, timestamp, body) for s in secrets)
    return {
        WEBHOOK_ID_HEADER: msg_id,
        WEBHOOK_TIMESTAMP_HEADER: str(int(timestamp)),
        WEBHOOK_SIGNATURE_HEADER: signatures,
    }


# --- deprecated: Budget-Signature ---------------------------------------------------


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    """Deprecated scheme: the hex HMAC-SHA256 of ``b"<timestamp>." + body`` under ``secret``."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str | Iterable[str], body: bytes, timestamp: int | None = None) -> str:
    """The deprecated ``Budget-Signature`` value for ``body`` (a ``v1`` per secret)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    secrets = [secret] if isinstance(secret, str) else list(secret)
    return f"t={ts}," + ",".join(f"v1={compute_signature(s, ts, body)}" for s in secrets)


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
    """Deprecated scheme: True if ``header`` signs ``body`` with ``secret`` within
    ``tolerance`` seconds. New receivers verify the Standard Webhooks headers."""
    try:
        timestamp, signatures = parse_signature_header(header)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = compute_signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in signatures)
