"""A server's problem+json answers become the engine's exceptions; exit codes."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from budget.cli.errors import (
    RemoteError,
    ServerUnavailable,
    Unauthorized,
    error_from_response,
)
from budget.cli.runtime import exit_code
from budget.errors import (
    BudgetExceeded,
    Conflict,
    Denial,
    IdempotencyConflict,
    NotFound,
    PriceUnknown,
    StorageError,
    ValidationError,
)

URN = "urn:budget:problem:"


def answer(status: int, body=None, text: str | None = None) -> httpx.Response:
    request = httpx.Request("POST", "http://127.0.0.1:8013/api/v1/allocations")
    if body is not None:
        return httpx.Response(status, json=body, request=request)
    return httpx.Response(status, text=text or "", request=request)


def problem(status: int, code: str, detail: str, **extra) -> dict:
    return {"type": URN + code, "title": "t", "status": status, "detail": detail, **extra}


def test_budget_exceeded_is_rebuilt_with_its_denials():
    denial = Denial(
        budget_id="bud_1",
        policy_id="pol_1",
        policy_name="daily",
        window_key="2026-11-29",
        limit_kind="tokens",
        limit=Decimal(3000),
        used=Decimal(10),
        reserved=Decimal(2000),
        requested=Decimal(2000),
        resets_at=None,
    )
    local = BudgetExceeded([denial])
    extra = {k: v for k, v in local.to_dict().items() if k not in ("code", "message")}
    body = problem(429, "budget-exceeded", local.message, **extra)
    exc = error_from_response(answer(429, body))
    assert isinstance(exc, BudgetExceeded)
    assert exc.message == local.message and exc.denials == [denial]
    assert exc.limit == Decimal(3000) and exc.window_key == "2026-11-29"
    assert exit_code(exc) == 3


def test_a_429_without_denials_is_still_budget_exceeded():
    exc = error_from_response(answer(429, problem(429, "budget-exceeded", "over")))
    assert isinstance(exc, BudgetExceeded) and exc.message == "over" and exit_code(exc) == 3


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (422, "invalid-input", ValidationError),
        (400, "malformed-json", ValidationError),
        (422, "price-unknown", PriceUnknown),
        (404, "not-found", NotFound),
        (409, "conflict", Conflict),
        (409, "idempotency-conflict", IdempotencyConflict),
    ],
)
def test_problems_map_back_to_the_same_class_with_the_servers_message(status, code, cls):
    body = problem(status, code, "cost_limit='abc': bad", field="cost_limit", value="abc")
    exc = error_from_response(answer(status, body))
    assert type(exc) is cls
    assert exc.message == str(exc) == "cost_limit='abc': bad"
    assert exc.field == "cost_limit" and exc.status == status
    assert exit_code(exc) == 2


def test_validation_field_falls_back_to_the_errors_list():
    body = problem(422, "invalid-input", "d", errors=[{"field": "items.0.model", "reason": "r"}])
    exc = error_from_response(answer(422, body))
    assert isinstance(exc, ValidationError) and exc.field == "items.0.model" and exc.reason == "r"


def test_storage_errors_and_server_faults_exit_4():
    storage = error_from_response(answer(503, problem(503, "storage-error", "db down")))
    assert isinstance(storage, StorageError) and exit_code(storage) == 4
    fault = error_from_response(answer(500, problem(500, "internal-error", "oops")))
    assert isinstance(fault, ServerUnavailable) and exit_code(fault) == 4
    assert "500" in fault.message
    html = error_from_response(answer(502, text="<html><body>Bad gateway</body></html>"))
    assert isinstance(html, ServerUnavailable) and "502" in html.message
    assert "Bad gateway" in html.message and exit_code(html) == 4


def test_refused_keys_are_unauthorized_with_exit_2():
    body = problem(401, "http-error", "unknown or revoked API key")
    exc = error_from_response(answer(401, body))
    assert isinstance(exc, Unauthorized) and exc.message == "unknown or revoked API key"
    assert exc.status == 401 and exit_code(exc) == 2
    forbidden = error_from_response(answer(403, problem(403, "http-error", "needs admin")))
    assert isinstance(forbidden, Unauthorized) and exit_code(forbidden) == 2


def test_unknown_routes_are_not_found_and_other_statuses_remote_errors():
    missing = error_from_response(answer(404, problem(404, "http-error", "Not Found")))
    assert isinstance(missing, NotFound) and exit_code(missing) == 2
    other = error_from_response(answer(405, {"detail": "Method Not Allowed"}))
    assert type(other) is RemoteError and other.status == 405 and exit_code(other) == 2


def test_a_not_found_keeps_the_servers_hint_and_renders_without_one() -> None:
    hint = "looked for acme/mystery; acme declares no fallback platform"
    body = problem(404, "not-found", f"no price with model='mystery': {hint}", hint=hint)
    exc = error_from_response(answer(404, body))
    assert isinstance(exc, NotFound) and exc.hint == hint
    assert exc.to_dict()["hint"] == hint
    bare = error_from_response(answer(404, problem(404, "not-found", "no allocation")))
    assert isinstance(bare, NotFound) and "hint" not in bare.to_dict()
    assert "hint" not in error_from_response(answer(404, text="gone")).to_dict()
