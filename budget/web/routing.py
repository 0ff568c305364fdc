"""How dashboard routes answer when they cannot: a login redirect for a missing
key, an HTML page naming the reason for anything refused or invalid."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from budget.errors import BudgetError
from budget.web import render
from budget.web.auth import LoginRequired, Refused, login_url


def error_page(request: Request, status: int, detail: str) -> Response:
    """The error in the page frame (no figures), with the status it deserves."""
    return render.page(
        request, "error.html", None, {"status": status, "detail": detail}, status=status
    )


class WebRoute(APIRoute):
    """An APIRoute whose refusals and engine errors become pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                if request.headers.get("hx-request") == "true":
                    response = Response(status_code=204)
                    response.headers["HX-Redirect"] = login_url(exc.next_path)
                    return response
                return RedirectResponse(login_url(exc.next_path), status_code=303)
            except Refused as exc:
                return error_page(request, exc.status, exc.detail)
            except BudgetError as exc:
                return error_page(request, exc.http_status, exc.message)

        return answer
