"""FastAPI dependencies: the service and who is calling."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from budget.api.loopback import is_loopback
from budget.engine.keys import ApiKey, bind_request, sees_budget, visible_budget
from budget.engine.service import BudgetService
from budget.errors import NotFound


@dataclass(frozen=True)
class Caller:
    """Who made the request: a named key with a role, or anyone on an open server."""

    name: str
    role: str
    key: ApiKey | None = None

    def bind(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A request body's scope fields with this caller's key identity filled in
        (a client key's request may not claim another user, project, component
        or api_key: 403)."""
        return bind_request(self.key, fields)

    def budget(self, budget_id: str | None) -> str | None:
        """The budget a read is about, as this caller's key may see it."""
        return visible_budget(self.key, budget_id)

    def sees(self, budget_id: str) -> None:
        """Refuse a budget this caller's key does not see, as if it did not exist."""
        if not sees_budget(self.key, budget_id):
            raise NotFound("budget", "budget_id", budget_id)


OPEN_CALLER = Caller(name="anonymous", role="admin")
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
_KEY_COUNT_TTL = 2.0


def get_service(request: Request) -> BudgetService:
    return request.app.state.service


ServiceDep = Annotated[BudgetService, Depends(get_service)]


def _keys_in_use(request: Request, svc: BudgetService) -> bool:
    """True once any live key exists; rechecked every couple of seconds."""
    state = request.app.state
    now = time.monotonic()
    if now - getattr(state, "keys_checked_at", -1e9) > _KEY_COUNT_TTL:
        state.keys_in_use = svc.active_api_keys() > 0
        state.keys_checked_at = now
    return state.keys_in_use


def _closed_without_keys(request: Request, svc: BudgetService) -> bool:
    """True for a server bound beyond loopback (not ``--insecure``): it must
    never answer without a key, even once its last key is revoked."""
    state = request.app.state
    closed = getattr(state, "closed_without_keys", None)
    if closed is None:
        settings = svc.settings
        closed = state.closed_without_keys = not (
            settings.service_insecure or is_loopback(settings.service_host)
        )
    return closed


def _check_open(request: Request, svc: BudgetService) -> None:
    """An open (keyless) server answers only on loopback and only to loopback
    Host names, so a web page cannot reach it through DNS rebinding."""
    if _closed_without_keys(request, svc):
        raise HTTPException(
            401,
            "this server is bound beyond loopback and has no live API key, so it refuses "
            "every request; create one with `budget keys create NAME --role admin`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if svc.settings.service_insecure:
        return
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    if name not in LOOPBACK_NAMES and not name.startswith("127."):
        raise HTTPException(
            403,
            f"Host {host[:100]!r} is not a loopback name; a server without API keys "
            "answers only 127.0.0.1, localhost and [::1] (DNS rebinding)",
        )


def _secret(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


def get_caller(request: Request, svc: ServiceDep) -> Caller:
    """Authenticate by ``Authorization: Bearer <key>`` or ``X-API-Key``.

    A server with no keys is open (it only binds loopback unless told it may
    be insecure); once a key exists, every request needs one.
    """
    return caller_for_secret(request, svc, _secret(request))


def caller_for_secret(request: Request, svc: BudgetService, secret: str | None) -> Caller:
    """Who ``secret`` is (None: no key given), as the API decides it: 401 for an
    unknown key or a missing one once keys exist, the open caller otherwise."""
    if secret is None:
        if _keys_in_use(request, svc):
            raise HTTPException(
                401,
                "an API key is required (Authorization: Bearer <key>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        _check_open(request, svc)
        return OPEN_CALLER
    key = svc.authenticate(secret)
    if key is None:
        raise HTTPException(
            401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return Caller(name=key.name, role=key.role, key=key)


def require_admin(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    if caller.role != "admin":
        raise HTTPException(
            403, f"key {caller.name!r} has role {caller.role!r}; this needs an admin key"
        )
    return caller


ClientDep = Annotated[Caller, Depends(get_caller)]
AdminDep = Annotated[Caller, Depends(require_admin)]
