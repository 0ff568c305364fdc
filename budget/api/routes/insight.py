"""/reports, /forecast, /analysis, /recommendations, /models/facts, /route and
/rollups/rebuild.

Reports answer JSON, or CSV with ``format=csv`` or ``Accept: text/csv``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from budget.api.deps import AdminDep, ClientDep, ServiceDep
from budget.api.schemas_declared import declared_param, declared_query
from budget.api.schemas_insight import (
    BucketName,
    Capability,
    FindingOut,
    ForecastOut,
    GroupName,
    Include,
    ModelFactsOut,
    RebuildIn,
    RebuildOut,
    RecommendationOut,
    ReportOut,
    RouteIn,
    RouteOut,
    Zone,
    route_arguments,
)
from budget.api.strict import StrictRoute
from budget.api.times import ZonedInstant
from budget.domain import scope
from budget.domain.enums import Tier

router = APIRouter(tags=["insight"], route_class=StrictRoute)
Filter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Provider = declared_param("provider")
Model = declared_param("model")
TagText = Annotated[
    str, Query(min_length=1, max_length=scope.max_length("tag"), pattern=r"^[^\x00]*$")
]
Format = Annotated[
    Literal["json", "csv"] | None, Query(description="csv, or json (default; or Accept)")
]
CSV = {
    200: {
        "description": "The report (JSON, or CSV with format=csv or Accept: text/csv)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


def report_filters(
    component: declared_query("component") = None,
    project: declared_query("project") = None,
    user: declared_query("user") = None,
    api_key: declared_query("api_key") = None,
    provider: declared_query("provider") = None,
    model: declared_query("model") = None,
    tier: Tier | None = None,
    task_type: declared_query("task_type") = None,
    tag: Annotated[list[TagText] | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    """Attribute filters of a report (``tag`` repeated: records carrying all of them)."""
    values = {
        "component": component,
        "project": project,
        "user": user,
        "api_key": api_key,
        "provider": provider,
        "model": model,
        "tier": None if tier is None else tier.value,
        "task_type": task_type,
        "tags": tag or None,
    }
    return {k: v for k, v in values.items() if v is not None}


FiltersDep = Annotated[dict[str, Any], Depends(report_filters)]


def _answer(request: Request, report, format: str | None) -> Any:
    wants_csv = format == "csv" or (
        format is None and "text/csv" in request.headers.get("accept", "")
    )
    if wants_csv:
        return Response(
            report.to_csv(),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="usage-report.csv"'},
        )
    return ReportOut.of(report)


@router.get("/reports/usage", response_model=ReportOut, responses=CSV)
def usage_report(
    request: Request,
    svc: ServiceDep,
    caller: ClientDep,
    filters: FiltersDep,
    since: ZonedInstant,
    until: ZonedInstant,
    group_by: Annotated[list[GroupName] | None, Query(max_length=4)] = None,
    bucket: BucketName | None = None,
    timezone: Zone = "UTC",
    budget_id: Filter = None,
    top: Annotated[int | None, Query(ge=1, le=1000)] = None,
    corrections: Literal["include", "exclude", "only"] = "include",
    format: Format = None,
) -> Any:
    """Spend and tokens over [since, until), grouped (``group_by`` repeated) and
    bucketed in ``timezone``; ``top`` keeps the biggest groups. From the rollups.
    ``corrections``: include voids and adjustments (the ledger as it stands),
    exclude them (as originally recorded) or show only them."""
    report = svc.usage_report(
        since=since,
        until=until,
        group_by=group_by or [],
        bucket=bucket,
        timezone=timezone,
        budget_id=caller.budget(budget_id),
        top=top,
        corrections=corrections,
        **filters,
    )
    return _answer(request, report, format)


@router.get("/reports/top", response_model=ReportOut, responses=CSV)
def top_consumers(
    request: Request,
    svc: ServiceDep,
    caller: ClientDep,
    filters: FiltersDep,
    since: ZonedInstant,
    until: ZonedInstant,
    by: GroupName = "user",
    n: Annotated[int, Query(ge=1, le=1000)] = 10,
    budget_id: Filter = None,
    format: Format = None,
) -> Any:
    """The ``n`` biggest spenders by ``by`` over [since, until) (the rest in ``others``)."""
    report = svc.usage_report(
        since=since,
        until=until,
        group_by=[by],
        budget_id=caller.budget(budget_id),
        top=n,
        **filters,
    )
    return _answer(request, report, format)


@router.get("/forecast", response_model=list[ForecastOut])
def forecast(svc: ServiceDep, caller: ClientDep, budget_id: Filter = None) -> list[ForecastOut]:
    """Burn rate and projected total of every current window, most urgent first.
    Raises a ``forecast_exceeds`` alert (once per window) for a projection over a limit."""
    return [ForecastOut.of(f) for f in svc.forecast(caller.budget(budget_id))]


@router.get("/analysis", response_model=list[FindingOut])
def analysis(
    svc: ServiceDep,
    _: ClientDep,
    since: ZonedInstant,
    until: ZonedInstant,
    by: GroupName = "model",
    timezone: Zone = "UTC",
) -> list[FindingOut]:
    """Trend (rising, flat, falling) and spikes of each group's spend, with the numbers."""
    findings = svc.analyze_usage(since=since, until=until, by=by, timezone=timezone)
    return [FindingOut.of(f) for f in findings]


@router.get("/recommendations", response_model=list[RecommendationOut])
def recommendations(
    svc: ServiceDep,
    _: ClientDep,
    model: Annotated[
        str, Query(min_length=1, max_length=scope.max_length("model"), pattern=r"^[^\x00]*$")
    ],
    provider: declared_query("provider") = None,
    task_type: declared_query("task_type") = None,
    min_context_window: Annotated[int | None, Query(ge=1, le=10**9)] = None,
    same_provider: bool = False,
    capability: Annotated[list[Capability] | None, Query(max_length=11)] = None,
    max_tier: Tier | None = None,
    budget_id: Filter = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
    include: Annotated[list[Include] | None, Query(max_length=5)] = None,
) -> list[RecommendationOut]:
    """Cheaper models that qualify for ``model`` (``capability`` repeated), best first,
    with the saving on your own recent token mix and why each qualifies. Only current
    models of the same kind unless ``include`` (repeated) names deprecated, retired,
    unknown, base or fine_tuned."""
    found = svc.recommend_models(
        model=model,
        provider=provider,
        task_type=task_type,
        min_context_window=min_context_window,
        same_provider=same_provider,
        capabilities=capability,
        max_tier=None if max_tier is None else max_tier.value,
        budget_id=budget_id,
        limit=limit,
        include=include,
    )
    return [RecommendationOut.of(r) for r in found]


@router.get("/models/facts", response_model=ModelFactsOut)
def model_facts(svc: ServiceDep, _: ClientDep, provider: Provider, model: Model) -> ModelFactsOut:
    """What the sources state about a model: mode, context window, output cap,
    modalities, capabilities, lifecycle (current, deprecated, retired, unknown) and
    which source said each. The model is a query parameter (ids may contain ``/``)."""
    return ModelFactsOut.model_validate(svc.model_facts(provider, model))


@router.post("/route", response_model=RouteOut)
def route(body: RouteIn, svc: ServiceDep, caller: ClientDep) -> RouteOut:
    """Which model to use now: the preferred one if the budget allows, else the best
    cheaper one that fits, else the local model, else a denial with ``retry_at``.
    Reserves nothing (allocate afterwards)."""
    return RouteOut.of(svc.route_request(**caller.bind(route_arguments(body))))


@router.post("/rollups/rebuild", response_model=RebuildOut)
def rebuild_rollups(svc: ServiceDep, _: AdminDep, body: RebuildIn | None = None) -> RebuildOut:
    """Recompute the report rollups from the ledger and say whether they agreed
    (repairing the days that differ unless ``check_only``). Admin only."""
    check_only = body.check_only if body is not None else False
    return RebuildOut.of(svc.rebuild_rollups(check_only=check_only))
