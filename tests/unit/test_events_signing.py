"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>", verified in constant time."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from budget.events.signing import (
    compute_signature,
    new_secret,
    parse_signature_header,
    signature_header,
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
