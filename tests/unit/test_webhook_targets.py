"""Which addresses webhooks may reach: public ones, unless the settings allow more."""

from __future__ import annotations

import ipaddress
import socket
import threading

import pytest

from budget.webhooks.targets import (
    TargetPolicy,
    TargetRefused,
    address_kind,
    checked_addresses,
    resolve,
)


@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.1.2.3", "multicast"),
        ("ff02::1", "multicast"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
    ],
)
def test_non_public_addresses_are_named(address, kind):
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert address_kind(ipaddress.ip_address(address)) is None
    assert checked_addresses(address, 443, TargetPolicy()) == [ipaddress.ip_address(address)]


def test_ip_literals_are_refused_by_default_with_the_reason_and_the_setting():
    with pytest.raises(TargetRefused) as refused:
        checked_addresses("169.254.169.254", 80, TargetPolicy())
    message = str(refused.value)
    assert "169.254.169.254" in message and "link-local" in message
    assert "BUDGET_WEBHOOK_ALLOW_PRIVATE" in message
    with pytest.raises(TargetRefused, match="loopback"):
        checked_addresses("[::1]", 80, TargetPolicy())


def test_the_settings_allow_every_address_or_some_networks():
    assert checked_addresses("10.0.0.5", 80, TargetPolicy(allow_private=True))
    some = TargetPolicy.of(False, ["10.20.0.0/16", "::1/128"])
    assert checked_addresses("10.20.3.4", 80, some)
    assert checked_addresses("::1", 80, some)
    with pytest.raises(TargetRefused, match=r"10\.21\.0\.1"):
        checked_addresses("10.21.0.1", 80, some)
    with pytest.raises(TargetRefused, match=r"127\.0\.0\.1"):
        checked_addresses("127.0.0.1", 80, some)


def test_a_resolver_that_hangs_is_given_up_on(monkeypatch):
    release = threading.Event()

    def hanging(*args, **kwargs):
        release.wait(5)
        return []

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    try:
        with pytest.raises(TimeoutError, match=r"hooks\.example"):
            resolve("hooks.example", 443, timeout=0.05)
    finally:
        release.set()
