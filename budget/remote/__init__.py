"""The library's methods over the REST API of a running ``budget serve``.

``svc = budget.connect("http://127.0.0.1:8013", key=...)`` gives a
:class:`RemoteService`: the same calls, results and exceptions as
``budget.open()``, over one pooled HTTP client (docs/remote.md). The names
load on first use, so the wire helpers (``budget.remote.wire``) import alone.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "RemoteService": "budget.remote.client",
    "connect": "budget.remote.client",
    "ServerUnavailable": "budget.remote.errors",
    "Unauthorized": "budget.remote.errors",
    "RetryPolicy": "budget.remote.wire",
}

__all__ = ["RemoteService", "RetryPolicy", "ServerUnavailable", "Unauthorized", "connect"]

if TYPE_CHECKING:
    from budget.remote.client import RemoteService, connect
    from budget.remote.errors import ServerUnavailable, Unauthorized
    from budget.remote.wire import RetryPolicy


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'budget.remote' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
