"""Every error as RFC 9457 problem+json, with the right status.

BudgetExceeded is 429 with Retry-After; bad input 422 (400 for a body that is
not JSON) naming the field; unknown ids 404; conflicts 409; an unreachable
database 503. Nothing reaches the client as a bare 500 traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from budget.api.schemas import field_of
from budget.api.strict import MalformedBody, SafeJSONResponse
from budget.errors import (
    PROBLEM_TYPE,
    BudgetError,
    BudgetExceeded,
    jsonable,
    problem_body,
    shown,
)

log = logging.getLogger("budget.api")
_LOCATIONS = frozenset({"body", "query", "path", "header"})
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = PROBLEM_TYPE


def _documented(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


#: Error responses every operation may give, documented as problem+json.
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("Malformed request (not JSON)"),
    415: _documented("The body is not JSON"),
    401: _documented("Missing, unknown or revoked API key"),
    403: _documented("The key's role may not do this"),
    404: _documented("No such resource"),
    409: _documented("Conflicts with what is stored"),
    422: _documented("Invalid input; names the field and the value"),
    429: _documented("A hard limit refused the allocation"),
    503: _documented("The database is unavailable"),
}


def problem(
    status: int,
    title: str,
    detail: str,
    code: str,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    if request is not None:
        body["instance"] = request.url.path
    return SafeJSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def budget_error(request: Request, exc: BudgetError) -> JSONResponse:
    body = problem_body(exc)
    headers = None
    if isinstance(exc, BudgetExceeded):
        retry = exc.retry_after_seconds
        if retry is not None:
            headers = {"Retry-After": str(retry)}
    body["instance"] = request.url.path
    return SafeJSONResponse(
        body, status_code=body["status"], media_type=MEDIA_TYPE, headers=headers
    )


def request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for err in exc.errors():
        errors.append(
            {
                "field": field_of(err.get("loc", ()), _LOCATIONS),
                "reason": err.get("msg", "invalid"),
                "value": _short(err.get("input")),
            }
        )
    raw = exc.errors()
    if any(e.get("type") == "json_invalid" or isinstance(e.get("input"), bytes) for e in raw):
        return problem(
            400,
            "Malformed JSON",
            "the request body is not valid JSON",
            "malformed_json",
            request,
            errors=errors,
        )
    first = errors[0] if errors else {"field": "body", "reason": "invalid", "value": None}
    detail = f"{first['field']}={shown(first['value'])}: {first['reason']}"
    return problem(
        422,
        "Invalid input",
        detail,
        "invalid_input",
        request,
        field=first["field"],
        value=first["value"],
        errors=errors,
    )


def malformed_body(request: Request, exc: MalformedBody) -> JSONResponse:
    return problem(
        400,
        "Malformed JSON",
        f"the request body is not valid JSON: {exc}",
        "malformed_json",
        request,
    )


def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem(
        exc.status_code,
        _title(exc.status_code),
        str(exc.detail),
        "http_error",
        request,
        headers=headers or None,
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every documented method on this path, across all routes that share it
    (HEAD is answered for every GET but not listed)."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods - {"HEAD"})


def unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(
        500,
        "Internal error",
        "an unexpected error occurred; it has been logged",
        "internal_error",
        request,
    )


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _short(value: Any) -> Any:
    """An input echoed in an error body: short, and always encodable."""
    if value is None or isinstance(value, bool | int | float | str):
        return jsonable(value)
    return shown(value)


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(BudgetError, budget_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, request_validation)  # type: ignore[arg-type]
    app.add_exception_handler(MalformedBody, malformed_body)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected)
