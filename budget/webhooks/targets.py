"""Where webhooks may be sent: public addresses only, unless allowed (SSRF).

A webhook URL is chosen by whoever registers it, and the server then POSTs
to it from inside its network. So a target whose host resolves to a
loopback, private, link-local, shared (CGNAT), multicast, unspecified or
reserved address is refused, at registration and again at each connection,
after DNS resolution: the sender connects to the very address checked here,
so a name that resolves elsewhere later (DNS rebinding) gains nothing.
``webhook_allow_private`` lifts the rule; ``webhook_allowed_networks`` lifts
it for some networks only (e.g. ``["10.20.0.0/16"]``).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_SHARED = ipaddress.ip_network("100.64.0.0/10")
#: Seconds a name may take to resolve when the caller gives no timeout.
RESOLVE_TIMEOUT = 10.0


class TargetRefused(OSError):
    """A webhook target resolves to an address deliveries may not go to."""


@dataclass(frozen=True)
class TargetPolicy:
    """Which addresses webhooks may reach besides global unicast ones."""

    allow_private: bool = False
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def of(cls, allow_private: bool, networks: Iterable[str]) -> TargetPolicy:
        """From the settings (``networks`` in CIDR notation)."""
        parsed = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        return cls(bool(allow_private), parsed)

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` may not be a target, or None if it may."""
        kind = address_kind(address)
        if kind is None or self.allow_private:
            return None
        if any(address in net for net in self.allowed_networks):
            return None
        return kind


def address_kind(address: IPAddress) -> str | None:
    """The kind of a non-public address (``loopback``, ``private``, ...), None if global."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("shared (CGNAT)", isinstance(address, ipaddress.IPv4Address) and address in _SHARED),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    )
    for kind, hit in checks:
        if hit:
            return kind
    return None if address.is_global else "non-global"


def resolve(host: str, port: int, timeout: float | None = None) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal: itself); OSError if none,
    TimeoutError if the resolver takes longer than ``timeout`` seconds."""
    literal = host.strip("[]")
    try:
        return [ipaddress.ip_address(literal)]
    except ValueError:
        pass
    infos = _getaddrinfo(literal, port, timeout or RESOLVE_TIMEOUT)
    found = dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos)
    if not found:
        raise OSError(f"{host} resolves to no address")
    return list(found)


def _getaddrinfo(host: str, port: int, timeout: float) -> list:
    # getaddrinfo has no timeout of its own: wait for it on a daemon thread
    result: list = []
    failure: list[BaseException] = []

    def lookup() -> None:
        try:
            result.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            failure.append(exc)

    worker = threading.Thread(target=lookup, name="budget-resolve", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"resolving {host} took over {timeout:g} s")
    if failure:
        raise failure[0]
    return result


def checked_addresses(
    host: str, port: int, policy: TargetPolicy, timeout: float | None = None
) -> list[IPAddress]:
    """``host``'s addresses if every one is allowed; TargetRefused naming the first
    that is not (one bad address refuses the host: the resolver picks, not us)."""
    addresses = resolve(host, port, timeout)
    for address in addresses:
        kind = policy.refusal(address)
        if kind is not None:
            where = f"{host} is" if _is_literal(host) else f"{host} resolves to {address},"
            raise TargetRefused(
                f"{where} a {kind} address; webhooks to private "
                "addresses need BUDGET_WEBHOOK_ALLOW_PRIVATE=true or the network in "
                "BUDGET_WEBHOOK_ALLOWED_NETWORKS"
            )
    return addresses


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def connect_checked(
    host: str, port: int, policy: TargetPolicy, timeout: float | None
) -> socket.socket:
    """A TCP connection to an allowed address of ``host`` (tried in resolver order)."""
    error: OSError | None = None
    for address in checked_addresses(host, port, policy, timeout):
        try:
            return socket.create_connection((str(address), port), timeout=timeout)
        except OSError as exc:
            error = exc
    raise error or OSError(f"could not connect to {host}")
