"""Where a command runs: ``LocalBackend`` (BudgetService on a database) or
``RemoteBackend`` (the REST API of a running server); both return the API's
response bodies, so the commands format the same data either way."""

from budget.cli.backends.base import Backend, Json, parse_body
from budget.cli.backends.errors import RemoteError, ServerUnavailable, Unauthorized, Unsupported
from budget.cli.backends.local import LocalBackend
from budget.cli.backends.remote import RemoteBackend

__all__ = [
    "Backend",
    "Json",
    "LocalBackend",
    "RemoteBackend",
    "RemoteError",
    "ServerUnavailable",
    "Unauthorized",
    "Unsupported",
    "parse_body",
]
