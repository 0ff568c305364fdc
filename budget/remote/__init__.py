"""The library's methods over the REST API of a running ``budget serve``.

``svc = budget.connect("http://127.0.0.1:8013", key=...)`` gives a
:class:`RemoteService`: the same calls, results and exceptions as
``budget.open()``, over one pooled HTTP client (docs/remote.md).
"""

from budget.remote.client import RemoteService, connect
from budget.remote.errors import ServerUnavailable, Unauthorized
from budget.remote.wire import RetryPolicy

__all__ = ["RemoteService", "RetryPolicy", "ServerUnavailable", "Unauthorized", "connect"]
