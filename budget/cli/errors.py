"""A server's problem+json answer, back as the exception the engine raised.

``error_from_response`` rebuilds the same class from :mod:`budget.errors`
(``NotFound``, ``ValidationError``, ``BudgetExceeded`` with its denials, ...)
carrying the server's message, status and field, so a command handles a
remote error exactly as a local one. What has no class of its own (a refused
key, a server fault, an unreachable server) is a :class:`RemoteError`.
``require_sendable`` refuses, before it is sent, a body JSON cannot carry.
"""

from __future__ import annotations

import math
from decimal import InvalidOperation
from typing import Any

import httpx

from budget.errors import (
    BudgetError,
    BudgetExceeded,
    Conflict,
    IdempotencyConflict,
    NotFound,
    PriceUnknown,
    StorageError,
    ValidationError,
)
from budget.remote.errors import denial_of


class RemoteError(BudgetError):
    """An error a server reported that the engine has no class for."""

    code = "remote_error"

    def __init__(self, message: str, status: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        if status:
            self.http_status = status


class Unauthorized(RemoteError):
    """The server refused the API key (401) or its role (403)."""

    code = "unauthorized"
    http_status = 401
    title = "Unauthorized"


class ServerUnavailable(RemoteError):
    """No usable answer: unreachable, timed out, or a server fault (5xx)."""

    code = "server_unavailable"
    http_status = 503
    title = "Server unavailable"


_CLASSES: dict[str, type[BudgetError]] = {
    "invalid_input": ValidationError,
    "malformed_json": ValidationError,
    "price_unknown": PriceUnknown,
    "not_found": NotFound,
    "idempotency_conflict": IdempotencyConflict,
    "conflict": Conflict,
    "storage_error": StorageError,
}


def error_from_response(response: httpx.Response) -> BudgetError:
    """The exception for an HTTP error answer (status >= 400)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "detail" not in body:
        text = " ".join(response.text.split())[:200] or response.reason_phrase
        return _by_status(status, f"HTTP {status} from {response.request.url}: {text}", None)
    detail = body["detail"] if isinstance(body["detail"], str) else str(body["detail"])
    code = str(body.get("type", "")).rsplit(":", 1)[-1].replace("-", "_")
    field = body.get("field")
    if code == "budget_exceeded" or status == 429:
        return _exceeded(body, detail)
    cls = _CLASSES.get(code)
    if cls is None:
        return _by_status(status, detail, field)
    errors = body.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    return _rebuild(
        cls,
        detail,
        status=status,
        field=field or first.get("field"),
        value=body.get("value", first.get("value")),
        reason=first.get("reason", detail),
        entity=body.get("entity"),
        hint=body.get("hint"),
        retryable=False,
    )


def _by_status(status: int, message: str, field: str | None) -> BudgetError:
    if status in (401, 403):
        return Unauthorized(message, status, field)
    if status == 404:
        return _rebuild(
            NotFound, message, status=status, field=field, value=None, entity=None, hint=None
        )
    if status >= 500:
        return ServerUnavailable(f"server error {status}: {message}", status, field)
    return RemoteError(message, status, field)


def _rebuild(cls: type[BudgetError], message: str, **attrs: Any) -> BudgetError:
    """An instance of ``cls`` with the server's message, without its own constructor."""
    exc = cls.__new__(cls)
    BudgetError.__init__(exc, message)
    for name, value in attrs.items():
        setattr(exc, name, value)
    return exc


def _exceeded(body: dict[str, Any], detail: str) -> BudgetError:
    try:
        denials = [denial_of(d) for d in body.get("denials") or []]
        exc = BudgetExceeded(denials)
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return _rebuild(BudgetExceeded, detail, status=429, denials=[])
    exc.message = detail
    exc.args = (detail,)
    exc.status = 429  # type: ignore[attr-defined]
    return exc


def _unsendable(value: Any, path: str = "") -> tuple[str, str, str] | None:
    """The field, value and reason of the first thing in a body that JSON
    cannot carry: text that is not UTF-8 (bytes from the command line that
    were not) or a number that is not finite; None when all can be sent."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, value.encode("utf-8", "replace").decode(), "is not valid UTF-8 text"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, str(value), "must be a finite number")
    if isinstance(value, dict):
        entries = []
        for key, item in value.items():
            name = str(key).encode("utf-8", "replace").decode()
            where = f"{path}.{name}" if path else name
            entries += [(where, str(key)), (where, item)]
    elif isinstance(value, list | tuple):
        entries = [(f"{path}.{i}" if path else str(i), v) for i, v in enumerate(value)]
    else:
        return None
    for where, item in entries:
        found = _unsendable(item, where)
        if found is not None:
            return found
    return None


def require_sendable(**parts: Any) -> None:
    """Refuse a body or query JSON cannot carry, naming its field."""
    for part in parts.values():
        found = _unsendable(part)
        if found is not None:
            raise ValidationError(*found)
