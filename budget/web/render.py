"""Rendering dashboard pages: the Jinja2 environment, its number filters, and
the response every page shares (session cookie, no caching, a strict CSP)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from budget.api.deps import Caller
from budget.domain.money_text import decimal_of, usd_rounded
from budget.web import session

TEMPLATES = Path(__file__).parent / "templates"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
NAV = (
    ("/", "Overview"),
    ("/budgets", "Budgets"),
    ("/spend", "Spend"),
    ("/alerts", "Alerts"),
    ("/prices", "Prices"),
)


def usd(value: Any) -> str:
    """$1,234.56 for amounts of a dollar or more, four decimals below (never a
    misleading $0.00 for a small non-zero amount)."""
    amount = decimal_of(value)
    return "—" if amount is None else usd_rounded(amount)


def count(value: Any) -> str:
    amount = decimal_of(value)
    return "—" if amount is None else f"{int(amount):,}"


def amount(value: Any, unit: str) -> str:
    """A bar's figure in its unit."""
    return usd(value) if unit == "USD" else f"{count(value)} {unit}"


def percent(value: Any, signed: bool = False) -> str:
    share = decimal_of(value)
    if share is None:
        return "—"
    text = f"{share * 100:.1f}%"
    return f"+{text}" if signed and share > 0 else text


def when(value: Any, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    if value is None:
        return "—"
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.strftime(fmt)


def with_query(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters replaced."""
    params = dict(request.query_params)
    params.update({k: str(v) for k, v in changes.items()})
    return request.url.path + "?" + urlencode(params)


templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.globals["with_query"] = with_query
templates.env.filters.update(usd=usd, count=count, amount=amount, percent=percent, when=when)


def page(
    request: Request,
    name: str,
    caller: Caller | None,
    context: dict[str, Any],
    status: int = 200,
) -> Response:
    """A page (or, for an htmx request, the fragment template ``name`` names)."""
    current = session.current(request)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "caller": caller,
            "csrf": current.csrf,
            "nav": NAV,
            "path": request.url.path,
            "logged_in": current.key is not None,
            **context,
        },
        status_code=status,
    )
    finish(request, response)
    return response


def finish(request: Request, response: Response, keep_session: bool = True) -> None:
    """Headers of every dashboard answer; a new session's cookie is saved
    (unless the answer sets one of its own: ``keep_session=False``)."""
    if keep_session and session.read(request) is None:
        session.save(request, response, session.current(request))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
