"""A server's answer back as the exception the library raises.

A problem+json body (see ``budget.api.problems``) becomes the same class of
:mod:`budget.errors` with the same fields: 429 ``BudgetExceeded`` with its
denials, 422 ``ValidationError(field, value)`` or ``PriceUnknown``, 404
``NotFound``, 409 ``Conflict`` / ``IdempotencyConflict``, 403 ``Forbidden``.
What the library has no class for is one of two added here:
:class:`Unauthorized` (401: no key, or one the server does not know) and
:class:`ServerUnavailable`, a :class:`budget.StorageError` (unreachable,
timed out, a 5xx answer, or an answer that is not Budget's). Messages name
the URL with any password masked; the key is never part of one.
"""

from __future__ import annotations

import ast
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from budget.domain import redact
from budget.errors import (
    BudgetError,
    BudgetExceeded,
    Conflict,
    Denial,
    Forbidden,
    IdempotencyConflict,
    NotFound,
    PriceUnknown,
    StorageError,
    ValidationError,
)


class ServerUnavailable(StorageError):
    """No usable answer from the server: it could not be reached, did not answer
    in time, or failed (5xx). ``retryable`` says whether trying again later may
    help; ``status`` is the HTTP status, None when there was no answer."""

    code = "server_unavailable"
    title = "Server unavailable"

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = True):
        super().__init__(message, retryable=retryable)
        self.status = status


class Unauthorized(BudgetError):
    """The server wants an API key, or does not accept the one given (401)."""

    code = "unauthorized"
    http_status = 401
    title = "Unauthorized"


def where(method: str, url: httpx.URL | str) -> str:
    """``POST http://host/api/v1/usage`` with any password in the URL masked."""
    return f"{method} {redact.url(str(url))}"


def transport_error(method: str, url: httpx.URL | str, exc: httpx.HTTPError) -> BudgetError:
    """The error for a request that got no answer."""
    place = where(method, url)
    if isinstance(exc, httpx.TimeoutException):
        return ServerUnavailable(f"{place}: no answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        return ServerUnavailable(f"{place}: cannot connect: {redact.text(str(exc))}")
    return ServerUnavailable(f"{place}: {type(exc).__name__}: {redact.text(str(exc)) or 'failed'}")


def error_from_response(response: httpx.Response) -> BudgetError:
    """The exception for an answer with status >= 400."""
    status = response.status_code
    place = where(response.request.method, response.request.url)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        text = " ".join(response.text.split())[:200] or response.reason_phrase
        return _by_status(status, f"{place}: HTTP {status}: {text}")
    detail = body["detail"]
    code = str(body.get("type", "")).rsplit(":", 1)[-1].replace("-", "_")
    build = _BUILDERS.get(code)
    if build is not None:
        try:
            exc = build(body, detail)
        except (KeyError, TypeError, ValueError, InvalidOperation, SyntaxError):
            exc = None
        if exc is not None:
            exc.message = f"{place}: {detail}" if status >= 500 else detail
            exc.args = (exc.message,)
            return exc
    return _by_status(status, f"{place}: {detail}" if status >= 500 else detail)


def _by_status(status: int, message: str) -> BudgetError:
    if status == 401:
        return Unauthorized(message)
    if status == 403:  # the key's role may not do this
        exc: BudgetError = Forbidden("api_key", None, message)
        exc.message = message
        exc.args = (message,)
        return exc
    if status >= 500:
        return ServerUnavailable(message, status=status, retryable=response_retryable(status))
    exc = BudgetError(message)
    exc.http_status = status
    return exc


def _first_error(body: dict[str, Any]) -> dict[str, Any]:
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else {}
    return first if isinstance(first, dict) else {}


def _validation(body: dict[str, Any], detail: str) -> BudgetError:
    first = _first_error(body)
    field = body.get("field") or first.get("field") or "body"
    value = body["value"] if "value" in body else first.get("value")
    return ValidationError(field, value, first.get("reason") or detail)


def _not_found(body: dict[str, Any], detail: str) -> BudgetError:
    return NotFound(
        body.get("entity") or "resource",
        body.get("field") or "id",
        body.get("value"),
        body.get("hint"),
    )


def _field_error(cls: type) -> Any:
    def build(body: dict[str, Any], detail: str) -> BudgetError:
        reason = detail.split(": ", 1)[1] if ": " in detail else detail
        return cls(body.get("field") or "body", body.get("value"), reason)

    return build


_USAGE_ID = re.compile(r"already recorded as usage (\S+) with different content")


def _idempotency(body: dict[str, Any], detail: str) -> BudgetError:
    found = _USAGE_ID.search(detail)
    return IdempotencyConflict(str(body.get("value")), found.group(1) if found else "")


_PRICE = re.compile(
    r"^model=(.+) \(provider=(.+)\) has no known price, so hard USD limit policy (\S+) "
)


def _price_unknown(body: dict[str, Any], detail: str) -> BudgetError | None:
    found = _PRICE.match(detail)
    if found is None:
        return None
    model, provider = ast.literal_eval(found.group(1)), ast.literal_eval(found.group(2))
    return PriceUnknown(provider, model, found.group(3))


def _exceeded(body: dict[str, Any], detail: str) -> BudgetError:
    return BudgetExceeded([denial_of(d) for d in body["denials"]])


def _storage(body: dict[str, Any], detail: str) -> BudgetError:
    return StorageError(detail, retryable=response_retryable(body.get("status")))


def response_retryable(status: Any) -> bool:
    """Whether an answer with this status may go away when asked again."""
    return status in (502, 503, 504)


def denial_of(d: dict[str, Any]) -> Denial:
    """A Denial from its JSON form (``DenialOut``)."""
    resets = d.get("resets_at")
    return Denial(
        budget_id=d["budget_id"],
        policy_id=d["policy_id"],
        policy_name=d["policy_name"],
        window_key=d["window"],
        limit_kind=d["limit_kind"],
        limit=Decimal(d["limit"]),
        used=Decimal(d["used"]),
        reserved=Decimal(d["reserved"]),
        requested=Decimal(d["requested"]),
        resets_at=datetime.fromisoformat(resets) if resets else None,
        policy_limit=None if d.get("policy_limit") is None else Decimal(d["policy_limit"]),
        critical_headroom=(
            None if d.get("critical_headroom") is None else Decimal(d["critical_headroom"])
        ),
    )


_BUILDERS = {
    "invalid_input": _validation,
    "malformed_json": _validation,
    "not_found": _not_found,
    "conflict": _field_error(Conflict),
    "forbidden": _field_error(Forbidden),
    "idempotency_conflict": _idempotency,
    "price_unknown": _price_unknown,
    "budget_exceeded": _exceeded,
    "storage_error": _storage,
}
