"""The dashboard's pages: overview, budgets, spend (and its CSV), alerts, prices.

Each page reads through the engine calls the REST API makes, with the budget
scope the API would give the same key. An htmx request (the live refresh and
the filter forms) gets the page's fragment only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from budget.clock import utcnow
from budget.web import data_budgets, data_lists, data_reports, render
from budget.web.auth import CallerDep, budget_scope, service
from budget.web.routing import WebRoute

router = APIRouter(include_in_schema=False, route_class=WebRoute)
Text = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
)


def _fragment(request: Request, page: str, fragment: str) -> str:
    return fragment if request.headers.get("hx-request") == "true" else page


def _zones(svc, visible: list, current: str) -> list[str]:
    """The timezone choices: the current one, the zones of the visible budgets'
    policies, then a list of common zones."""
    seen = {b.budget_id for b in visible}
    policy_zones = sorted({p.timezone for p in svc.list_policies() if p.budget_id in seen})
    return list(dict.fromkeys([current, *policy_zones, *ZONES]))


@router.get("/")
def overview(request: Request, caller: CallerDep, budget: Text = None, tz: Text = "UTC"):
    svc = service(request)
    budget_id, visible = budget_scope(svc, caller, budget)
    data = data_reports.overview(svc, budget_id, tz or "UTC")
    context = {
        "data": data,
        "budgets": visible,
        "budget_id": budget_id,
        "zones": _zones(svc, visible, tz or "UTC"),
    }
    name = _fragment(request, "overview.html", "_overview.html")
    return render.page(request, name, caller, context)


@router.get("/budgets")
def budgets(request: Request, caller: CallerDep, budget: Text = None):
    svc = service(request)
    budget_id, visible = budget_scope(svc, caller, budget)
    shown = [b for b in visible if budget_id is None or b.budget_id == budget_id]
    context = {
        "views": data_budgets.budget_views(svc, shown),
        "budgets": visible,
        "budget_id": budget_id,
    }
    name = _fragment(request, "budgets.html", "_budgets.html")
    return render.page(request, name, caller, context)


class SpendView:
    """The spend page's choices from the query string, checked, with the budgets
    the caller may choose from (a dependency of the page, its CSV and its chart)."""

    def __init__(
        self,
        request: Request,
        caller: CallerDep,
        budget: Text = None,
        by: Text = "model",
        bucket: Text = "day",
        tz: Text = "UTC",
        days: Text = "7",
        top: Annotated[int, Query(ge=1, le=50)] = 10,
        metric: Text = "cost",
    ) -> None:
        self.svc = service(request)
        self.caller = caller
        budget_id, self.visible = budget_scope(self.svc, caller, budget)
        self.query = data_reports.SpendQuery(
            by=by or "model",
            bucket=bucket or "day",
            zone=tz or "UTC",
            days=days or "7",
            top=top,
            metric=metric or "cost",
            budget_id=budget_id,
        ).checked()


SpendDep = Annotated[SpendView, Depends()]


@router.get("/spend")
def spend(request: Request, view: SpendDep):
    query = view.query
    context = {
        "data": data_reports.spend(view.svc, query),
        "budgets": view.visible,
        "budget_id": query.budget_id,
        "zones": _zones(view.svc, view.visible, query.zone),
        "dimensions": data_reports.DIMENSIONS,
        "buckets": data_reports.BUCKETS,
        "ranges": data_reports.RANGES,
        "csv_query": request.url.query,
    }
    name = _fragment(request, "spend.html", "_spend.html")
    return render.page(request, name, view.caller, context)


@router.get("/spend.csv")
def spend_csv(request: Request, view: SpendDep) -> Response:
    """The table of the spend page as CSV: the API's CSV of the same report."""
    report = view.svc.usage_report(**view.query.report_arguments(utcnow()))
    response = Response(
        report.to_csv(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="usage-report.csv"'},
    )
    render.finish(request, response)
    return response


@router.get("/spend/chart")
def spend_chart(view: SpendDep) -> dict[str, Any]:
    """The chart's series as JSON (the live refresh redraws from it)."""
    return data_reports.spend(view.svc, view.query)["chart"]


@router.get("/alerts")
def alerts(
    request: Request,
    caller: CallerDep,
    budget: Text = None,
    kind: Text = None,
    state: Text = "open",
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
):
    svc = service(request)
    budget_id, visible = budget_scope(svc, caller, budget)
    data = data_lists.alerts(
        svc, budget_id=budget_id, kind=kind or None, state=state or "open", offset=offset
    )
    context = {
        "data": data,
        "budgets": visible,
        "budget_names": {b.budget_id: b.name for b in visible},
        "budget_id": budget_id,
        "kinds": data_lists.ALERT_KINDS,
        "kind": kind,
        "state": state,
        "can_acknowledge": caller.role == "admin",
    }
    name = _fragment(request, "alerts.html", "_alerts.html")
    return render.page(request, name, caller, context)


@router.get("/prices")
def prices(
    request: Request,
    caller: CallerDep,
    q: Text = None,
    provider: Text = None,
    verification: Text = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
):
    svc = service(request)
    data = data_lists.prices(
        svc,
        search=q or None,
        provider=provider or None,
        verification=verification or None,
        offset=offset,
    )
    context = {
        "data": data,
        "q": q or "",
        "provider": provider or "",
        "verification": verification or "",
        "verifications": data_lists.VERIFICATIONS,
    }
    name = _fragment(request, "prices.html", "_prices.html")
    return render.page(request, name, caller, context)
