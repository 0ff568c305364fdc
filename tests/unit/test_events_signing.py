"""Webhook signatures: the Standard Webhooks scheme, checked with its reference
library, and the deprecated Budget-Signature (HMAC-SHA256 over "<timestamp>.<body>")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from budget.events.types import Event
from budget.webhooks.deliveries import Claim
from budget.webhooks.sender import delivery_headers, event_body
from budget.webhooks.signing import (
    compute_signature,
    new_secret,
    parse_signature_header,
    secret_key,
    signature_header,
    standard_secret,
    standard_signature,
    verify_signature,
)

SECRET = "whsec_test"
BODY = b'{"id":"evt_1","type":"usage.recorded"}'


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert compute_signature(SECRET, 1700000000, BODY) == expected
    assert signature_header(SECRET, BODY, 1700000000) == f"t=1700000000,v1={expected}"


def test_a_valid_signature_verifies_within_the_tolerance():
    header = signature_header(SECRET, BODY, 1700000000)
    assert verify_signature(SECRET, BODY, header, now=1700000000)
    assert verify_signature(SECRET, BODY, header, now=1700000299)
    assert not verify_signature(SECRET, BODY, header, now=1700000301)  # too old: a replay
    assert not verify_signature(SECRET, BODY, header, now=1699999000)


@pytest.mark.parametrize(
    "secret, body",
    [("whsec_other", BODY), (SECRET, BODY + b" "), (SECRET, BODY.replace(b"1", b"2"))],
)
def test_another_secret_or_a_changed_body_fails(secret, body):
    header = signature_header(SECRET, BODY, 1700000000)
    assert not verify_signature(secret, body, header, now=1700000000)


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "t=1700000000", "v1=00"])
def test_a_malformed_header_fails_without_raising(header):
    assert not verify_signature(SECRET, BODY, header, now=1700000000)


def test_any_of_several_v1_signatures_may_match():
    good = compute_signature(SECRET, 1700000000, BODY)
    header = f"t=1700000000,v1=deadbeef,v1={good}"
    assert parse_signature_header(header) == (1700000000, ["deadbeef", good])
    assert verify_signature(SECRET, BODY, header, now=1700000000)


def test_secrets_are_random_and_prefixed():
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("whsec_") and len(a) > 40


# --- the Standard Webhooks scheme -----------------------------------------------------


def claim(secrets: tuple[str, ...], kind: str = "generic") -> Claim:
    event = Event("evt_42", "usage.recorded", datetime(2026, 12, 1, tzinfo=UTC), {"n": 1}, ())
    return Claim(7, "whk_1", "http://hooks.example/x", secrets, 0, event, kind)


def test_new_secrets_are_whsec_and_standard_base64_of_32_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert base64.b64decode(secret[6:], validate=True) == secret_key(secret)
    assert len(secret_key(secret)) == 32 and secret_key(new_secret()) != secret_key(secret)


def test_the_signature_is_base64_hmac_of_id_dot_timestamp_dot_body():
    secret = new_secret()
    digest = hmac.new(secret_key(secret), b"evt_1.1700000000." + BODY, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    assert standard_signature(secret, "evt_1", 1700000000, BODY) == expected
    signed_by_library = Webhook(secret).sign(
        "evt_1", datetime.fromtimestamp(1700000000, UTC), BODY.decode()
    )
    assert signed_by_library == expected


def test_the_conformance_library_verifies_a_delivery():
    secret = new_secret()
    c = claim((secret,))
    body = event_body(c)
    headers = delivery_headers(c, body, int(time.time()))
    assert headers["webhook-id"] == "evt_42"
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    assert verify_signature(secret, body, headers["Budget-Signature"])  # deprecated, still sent
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    stale = delivery_headers(c, body, int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, stale)


def test_during_an_overlap_both_secrets_verify():
    new, old = new_secret(), new_secret()
    c = claim((new, old))
    body = event_body(c)
    headers = delivery_headers(c, body, int(time.time()))
    assert [s.split(",")[0] for s in headers["webhook-signature"].split(" ")] == ["v1", "v1"]
    for secret in (new, old):
        assert Webhook(secret).verify(body, headers)
        assert verify_signature(secret, body, headers["Budget-Signature"])
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_secrets_issued_before_the_standard_sign_the_same_key():
    raw = bytes(range(250, 256)) + bytes(range(26))  # encodes with "-" and "_"
    legacy = "whsec_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert "-" in legacy or "_" in legacy
    assert secret_key(legacy) == raw
    converted = standard_secret(legacy)
    assert converted == "whsec_" + base64.b64encode(raw).decode()
    c = claim((legacy,))
    body = event_body(c)
    headers = delivery_headers(c, body, int(time.time()))
    assert Webhook(converted).verify(body, headers)
    assert verify_signature(legacy, body, headers["Budget-Signature"])


@pytest.mark.parametrize("bad", ["whsec_", "whsec_!!!!", "whsec_a"])
def test_a_secret_that_is_not_base64_is_refused(bad):
    with pytest.raises(ValueError, match="base64"):
        secret_key(bad)
