"""What the dashboard does besides showing: log in and out, acknowledge alerts,
and the live event stream its pages listen to.

Every form carries the session's CSRF token (and the session cookie is
SameSite=Strict), so another site cannot post them; acknowledging is for
admin keys only, as in the API.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Header, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from budget.api.deps import caller_for_secret
from budget.api.routes import events
from budget.web import render, session
from budget.web.auth import AdminCallerDep, CallerDep, Refused, budget_scope, safe_next, service
from budget.web.routing import WebRoute

router = APIRouter(include_in_schema=False, route_class=WebRoute)
MAX_FORM_BYTES = 64 * 1024
MAX_ALERTS = 500


async def form(request: Request) -> dict[str, list[str]]:
    """The urlencoded form of a POST, its CSRF token checked."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Refused(413, f"a form of {len(body)} bytes is larger than {MAX_FORM_BYTES}")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    token = (fields.get(session.CSRF_FIELD) or [None])[0]
    if not session.csrf_ok(request, token):
        raise Refused(403, "the form's CSRF token is missing or stale; reload the page")
    return fields


def _first(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


def redirect(request: Request, to: str, saved: session.Session | None = None) -> Response:
    response = RedirectResponse(to, status_code=303)
    if saved is not None:
        session.save(request, response, saved)
    render.finish(request, response, keep_session=saved is None)
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/"):
    return render.page(request, "login.html", None, {"next": safe_next(next), "error": None})


@router.post("/login")
async def login(request: Request) -> Response:
    fields = await form(request)
    key = (_first(fields, "key") or "").strip()
    target = safe_next(_first(fields, "next"))
    try:
        if not key:
            raise HTTPException(401, "give an API key")
        await run_in_threadpool(caller_for_secret, request, service(request), key)
    except HTTPException as exc:
        context = {"next": target, "error": str(exc.detail)}
        return render.page(request, "login.html", None, context, status=exc.status_code)
    return redirect(request, target, session.new_session(key))


@router.post("/logout")
async def logout(request: Request) -> Response:
    await form(request)
    response = redirect(request, "/login", session.new_session())
    return response


@router.post("/alerts/acknowledge")
async def acknowledge(request: Request, caller: AdminCallerDep) -> Response:
    """Acknowledge one alert (``only``) or those ticked (``alert_id`` repeated),
    in the caller's name."""
    fields = await form(request)
    only = _first(fields, "only")
    ids = [only] if only else [i for i in fields.get("alert_id", []) if i]
    if not ids:
        raise Refused(400, "tick at least one alert to acknowledge (alert_id)")
    if len(ids) > MAX_ALERTS:
        raise Refused(400, f"{len(ids)} alerts at once is more than {MAX_ALERTS}")
    svc = service(request)
    for alert_id in ids:
        await run_in_threadpool(svc.acknowledge_alert, alert_id, caller.name)
    return redirect(request, safe_next(_first(fields, "next") or "/alerts"))


@router.get("/live")
async def live(
    request: Request,
    caller: CallerDep,
    budget: str | None = None,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
):
    """The API's event stream (``GET /api/v1/events``) for the signed-in key, so
    a page can listen without holding the key itself."""
    svc = service(request)
    budget_id, _ = await run_in_threadpool(budget_scope, svc, caller, budget)
    return await events.stream_events(
        request,
        svc,
        caller,
        types=None,
        budget_id=budget_id,
        after=None,
        last_event_id=last_event_id,
    )
