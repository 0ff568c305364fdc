"""Checks before the server binds: never exposed without keys, never a port it cannot take."""

from __future__ import annotations

import errno
import socket

from budget.api.loopback import is_loopback
from budget.errors import ValidationError


def check_bind(host: str, keys_configured: bool, insecure: bool) -> None:
    """Refuse to expose an open server: beyond loopback, API keys are required."""
    if is_loopback(host) or keys_configured or insecure:
        return
    raise ValidationError(
        "host",
        host,
        "binding beyond loopback needs API keys (create one with "
        "`budget keys create NAME --role admin`) or --insecure to serve without them",
    )


def check_port(host: str, port: int) -> None:
    """Refuse, before anything starts, an address this process cannot listen on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ValidationError("host", host, f"cannot be resolved: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise ValidationError(
                "port", port, f"{reason} on {host}; choose another with --port"
            ) from None
