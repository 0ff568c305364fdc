"""Who is looking at a dashboard page: the API's own rules, fed by the session cookie.

A page asks :func:`budget.api.deps.caller_for_secret` with the key saved at
login, so it allows exactly what the REST API allows with that key: an open
server (no keys yet, loopback only) needs no login; once a key exists every
page needs one; a client key sees only its budgets; admin actions need an
admin key.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from budget.api.deps import Caller, caller_for_secret
from budget.engine.keys import budgets_seen
from budget.engine.service import BudgetService
from budget.web import session


class LoginRequired(Exception):
    """No valid key for a server that needs one: the page sends the user to log in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Refused(Exception):
    """The request is not allowed (status and a sentence saying why)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def service(request: Request) -> BudgetService:
    return request.app.state.service


def page_caller(request: Request) -> Caller:
    """The caller for this page, from the session's key (none: the open caller)."""
    secret = session.current(request).key
    try:
        return caller_for_secret(request, service(request), secret)
    except HTTPException as exc:
        if exc.status_code == 401:
            raise LoginRequired(_here(request)) from None
        raise Refused(exc.status_code, str(exc.detail)) from None


def admin_caller(caller: Annotated[Caller, Depends(page_caller)]) -> Caller:
    """The caller, if it may take admin actions (the API's require_admin rule)."""
    if caller.role != "admin":
        raise Refused(403, f"key {caller.name!r} has role {caller.role!r}; this needs an admin key")
    return caller


def _here(request: Request) -> str:
    path = request.url.path
    return path + ("?" + request.url.query if request.url.query else "")


def login_url(next_path: str) -> str:
    """The login page, coming back to a local path afterwards."""
    return "/login?next=" + quote(safe_next(next_path), safe="")


def safe_next(value: str | None) -> str:
    """A local path to return to after login (anything else: the overview)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def budget_scope(svc: BudgetService, caller: Caller, requested: str | None):
    """The budget a page is about and the budgets the caller may choose from.

    As the API: a client key bound to one budget reads that one; bound to several
    it must name one (the dashboard picks its first until the user chooses);
    other callers read all budgets (None) unless they pick one.
    """
    seen = budgets_seen(caller.key)
    visible = list(svc.list_budgets(budget_ids=seen, limit=1000))
    if requested:
        return caller.budget(requested), visible
    if seen is not None and len(seen) > 1:
        return seen[0], visible
    return caller.budget(None), visible


CallerDep = Annotated[Caller, Depends(page_caller)]
AdminCallerDep = Annotated[Caller, Depends(admin_caller)]
