"""The MCP tools that advise: a cheaper model, a model's facts, a route within budget,
usage analytics.

They call ``BudgetService.recommend_models``, ``model_facts``, ``route_request`` and
``usage_report`` (:mod:`budget.engine.service_insight`) and return each
result's ``to_dict()``.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from budget.domain import limits
from budget.mcp import identity
from budget.mcp.arguments import (
    Component,
    Model,
    ModelName,
    OptBudgetRef,
    Project,
    Provider,
    ProviderName,
    TaskType,
    User,
    text,
)
from budget.mcp.calling import READ, GetService, Json, call, tool, visible_budget_id

Tier = Annotated[
    str | None,
    Field(
        description="Highest tier allowed: local_lightweight, local_midweight or "
        "remote_heavyweight."
    ),
]

Include = Annotated[
    list[str] | None,
    Field(
        description="Also consider what is left out by default: deprecated, retired, "
        "unknown (lifecycle), base, fine_tuned.",
        max_length=5,
    ),
]

UsedModel = text("model", required=True, description="The model you would use.")
PreferredModel = text("model", required=True, description="The model you would like.")
FitWithin = text("budget", description="Budget id or name to fit within.")
Zone = text("timezone", required=True, description="IANA zone for buckets.")


def as_json(result: Any) -> Json:
    """A result's ``to_dict()``; a list of results as ``{"items": [...]}``."""
    if isinstance(result, list | tuple):
        return {"items": [item.to_dict() for item in result]}
    return result.to_dict()


def register_insight(server: MCPServer, get: GetService) -> None:
    """Add recommend_model, model_facts, route_request and usage_analytics to ``server``."""

    @tool(server, READ)
    def recommend_model(
        model: UsedModel,
        provider: Provider = None,
        task_type: TaskType = None,
        min_context_window: Annotated[int | None, Field(ge=1, le=10**9)] = None,
        same_provider: bool = False,
        capabilities: Annotated[
            list[str] | None,
            Field(description="Needed capabilities, e.g. vision, tools.", max_length=20),
        ] = None,
        max_tier: Tier = None,
        budget: FitWithin = None,
        limit: Annotated[int, Field(ge=1, le=50)] = 5,
        include: Include = None,
    ) -> Json:
        """Cheaper models that can do the same job, cheapest first, with what each
        would save per call at the catalog's prices."""
        svc = get()
        budget_id = svc.resolve_budget(budget).budget_id if budget else None
        result = call(
            svc.recommend_models,
            model=model,
            provider=provider,
            task_type=task_type,
            min_context_window=min_context_window,
            same_provider=same_provider,
            capabilities=capabilities,
            max_tier=max_tier,
            budget_id=budget_id,
            limit=limit,
            include=include,
        )
        return as_json(result)

    @tool(server, READ)
    def model_facts(
        model: ModelName,
        provider: ProviderName,
    ) -> Json:
        """What the sources state about a model: kind (chat, embedding …), context
        window, output cap, modalities, capabilities and lifecycle (current,
        deprecated with its shutdown date, retired, unknown)."""
        return call(get().model_facts, provider=provider, model=model)

    @tool(server, READ)
    def route_request(
        preferred_model: PreferredModel,
        provider: Provider = None,
        task_type: TaskType = None,
        input_tokens: Annotated[int, Field(ge=0, le=limits.MAX_TOKENS)] = 0,
        max_output_tokens: Annotated[int, Field(ge=0, le=limits.MAX_TOKENS)] = 0,
        component: Component = None,
        project: Project = None,
        user: User = None,
        include: Include = None,
    ) -> Json:
        """Which model to use for this request given the remaining budget: the
        preferred model if it holds the request and fits every limit, else the
        cheapest current model that does, with the reason. Reserves nothing (then
        call allocate_tokens)."""
        svc = get()
        attributes = identity.bind({"component": component, "project": project, "user": user})
        result = call(
            svc.route_request,
            preferred_model=preferred_model,
            provider=provider,
            task_type=task_type,
            input_tokens=input_tokens,
            max_output_tokens=max_output_tokens,
            include=include,
            **{k: v for k, v in attributes.items() if v is not None},
        )
        return as_json(result)

    @tool(server, READ)
    def usage_analytics(
        since: Annotated[str, Field(description="ISO date or time, e.g. 2026-11-01.")],
        until: Annotated[str, Field(description="ISO date or time (exclusive).")],
        group_by: Annotated[
            list[str],
            Field(
                description="Dimensions: budget, policy, component, project, user, "
                "api_key, provider, model, tier, task_type, tag.",
                min_length=1,
                max_length=4,
            ),
        ],
        bucket: Annotated[
            str | None, Field(description="Time buckets: hour, day, week or month.")
        ] = None,
        timezone: Zone = "UTC",
        budget: OptBudgetRef = None,
        top: Annotated[int | None, Field(ge=1, le=1000)] = None,
        provider: Provider = None,
        model: Model = None,
    ) -> Json:
        """Tokens and USD for a period, grouped (and bucketed over time), with totals:
        where the money went."""
        svc = get()
        budget_id = visible_budget_id(svc, budget)
        filters = {"provider": provider, "model": model}
        result = call(
            svc.usage_report,
            since=since,
            until=until,
            group_by=group_by,
            bucket=bucket,
            timezone=timezone,
            budget_id=budget_id,
            top=top,
            **{k: v for k, v in filters.items() if v is not None},
        )
        return as_json(result)
