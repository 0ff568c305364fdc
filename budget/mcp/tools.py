"""The MCP tools: each one calls BudgetService as the REST route does and
returns the REST API's JSON body; a Budget error becomes a tool error with
the API's message (field and value named), never a crash.

Spending and a budget's state are here; advice in ``tools_insight``, ledger
corrections in ``tools_ledger``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from budget.api.schemas import SummaryOut
from budget.api.schemas_ledger import AlertOut, AllocationOut, CheckOut, UsageOut
from budget.api.schemas_prices import EstimateOut
from budget.domain import limits
from budget.mcp import identity
from budget.mcp.arguments import (
    AllocationId,
    BudgetRef,
    Component,
    ContextId,
    Count,
    Hour,
    Model,
    ModelName,
    OptAllocationId,
    OptBudgetRef,
    OptContextId,
    OptCount,
    Priority,
    Project,
    Provider,
    ProviderName,
    RequestId,
    ServiceTier,
    TaskType,
    User,
)
from budget.mcp.calling import (
    READ,
    WRITE,
    GetService,
    Json,
    arguments,
    call,
    dump,
    tool,
    visible_budget_id,
)
from budget.mcp.tools_insight import register_insight
from budget.mcp.tools_ledger import register_ledger


def register(server: MCPServer, get: GetService) -> None:
    """Add every tool to ``server``."""
    _register_spending(server, get)
    _register_state(server, get)
    register_insight(server, get)
    register_ledger(server, get)


def _register_spending(server: MCPServer, get: GetService) -> None:
    @tool(server, WRITE)
    def allocate_tokens(
        context_id: ContextId,
        provider: Provider = None,
        model: Model = None,
        input_tokens: OptCount = None,
        max_output_tokens: OptCount = None,
        tokens: Annotated[
            int | None,
            Field(gt=0, le=limits.MAX_TOKENS, description="Total instead of input + max output."),
        ] = None,
        priority: Priority = 5,
        task_type: TaskType = None,
        component: Component = None,
        project: Project = None,
        user: User = None,
        ttl_seconds: Annotated[int | None, Field(ge=1, le=2678400)] = None,
        service_tier: ServiceTier = None,
    ) -> Json:
        """Reserve tokens (and their USD cost) BEFORE calling a model. Give input_tokens
        and max_output_tokens (or tokens). Keep the returned allocation_id and pass it
        to record_usage afterwards, or to release_allocation if you do not call the model.
        Fails with 'budget exceeded' (naming the policy, limit, used and reset time)
        when a hard limit refuses; nothing is reserved then. If over_soft_limit is true,
        switch to recommended_model."""
        svc = get()
        return dump(AllocationOut.of(call(svc.allocate, **identity.bind(arguments(locals())))))

    @tool(server, READ)
    def check_budget(
        provider: Provider = None,
        model: Model = None,
        input_tokens: OptCount = None,
        max_output_tokens: OptCount = None,
        tokens: Annotated[int | None, Field(gt=0, le=limits.MAX_TOKENS)] = None,
        priority: Priority = 5,
        task_type: TaskType = None,
        component: Component = None,
        project: Project = None,
        user: User = None,
    ) -> Json:
        """Dry run: would allocate_tokens succeed now? Reserves nothing. Returns allowed,
        the estimated cost, and each refusing window (limit, used, reserved, resets_at)."""
        svc = get()
        return dump(CheckOut.of(call(svc.check, **identity.bind(arguments(locals())))))

    @tool(server, WRITE)
    def record_usage(
        input_tokens: Count = 0,
        output_tokens: Count = 0,
        cached_input_tokens: Annotated[
            int,
            Field(ge=0, le=limits.MAX_TOKENS, description="Of input_tokens, read from the cache."),
        ] = 0,
        cache_write_tokens: Annotated[
            int,
            Field(ge=0, le=limits.MAX_TOKENS, description="Of input_tokens, written to the cache."),
        ] = 0,
        reasoning_tokens: Annotated[
            int,
            Field(ge=0, le=limits.MAX_TOKENS, description="Of output_tokens, spent on reasoning."),
        ] = 0,
        allocation_id: OptAllocationId = None,
        provider: Provider = None,
        model: Model = None,
        request_id: RequestId = None,
        context_id: OptContextId = None,
        task_type: TaskType = None,
        component: Component = None,
        project: Project = None,
        user: User = None,
        latency_ms: Annotated[int | None, Field(ge=0, le=limits.MAX_LATENCY_MS)] = None,
        release: Annotated[
            bool,
            Field(description="With allocation_id: release it in the same step."),
        ] = False,
        cache_write_1h_tokens: Hour = 0,
        service_tier: ServiceTier = None,
    ) -> Json:
        """Record what a model call used, AFTER the call. input_tokens count every input
        token (cached ones included). With allocation_id, provider and model come from
        the allocation and its reservation is drawn down; with release=true it is also
        released, so no separate release_allocation is needed. Returns the priced record
        (cost is null for a model without a known price)."""
        svc = get()
        return dump(UsageOut.of(call(svc.record_usage, **identity.bind(arguments(locals())))))

    @tool(server, WRITE)
    def release_allocation(allocation_id: AllocationId) -> Json:
        """Give back what an allocation did not use (call it when you are done, or when
        you decide not to call the model). Releasing twice changes nothing."""
        return dump(AllocationOut.of(call(get().release, allocation_id=allocation_id)))


def _register_state(server: MCPServer, get: GetService) -> None:
    @tool(server, READ)
    def get_budget_status(
        budget: BudgetRef,
        top: Annotated[
            int, Field(ge=1, le=1000, description="Windows shown per policy with 'each'.")
        ] = 10,
        subject: Annotated[
            dict[str, str] | None,
            Field(
                description="Only the windows of these values of a policy with 'each', "
                'e.g. {"user": "alice"}.',
                max_length=8,
            ),
        ] = None,
    ) -> Json:
        """A budget's current windows: per policy the limit, used, reserved, remaining,
        utilization and when the window resets. A policy with a window per user (or
        key, project, ...) shows its fullest windows, or those of ``subject``."""
        svc = get()
        budget_id = visible_budget_id(svc, budget)
        summary = call(svc.summary, budget_id=budget_id, top=top, subject=subject)
        return dump(SummaryOut.of(summary))

    @tool(server, READ)
    def list_alerts(
        budget: OptBudgetRef = None,
        kind: Annotated[
            Literal[
                "threshold_crossed",
                "action_threshold",
                "limit_reached",
                "denied",
                "unpriced_model",
                "price_conflict",
                "allocation_expired",
            ]
            | None,
            Field(description="Only this kind of alert."),
        ] = None,
        unacknowledged_only: bool = False,
        limit: Annotated[int, Field(ge=1, le=200)] = 20,
    ) -> Json:
        """Recent alerts, newest first: thresholds crossed, limits reached, denials,
        unpriced models, price conflicts, expired allocations."""
        svc = get()
        items = call(
            svc.list_alerts,
            budget_id=visible_budget_id(svc, budget),
            kind=kind,
            acknowledged=False if unacknowledged_only else None,
            limit=limit,
        )
        return {"items": [dump(AlertOut.of(a)) for a in items], "total": items.total}

    @tool(server, READ)
    def estimate_cost(
        provider: ProviderName,
        model: ModelName,
        input_tokens: Count = 0,
        output_tokens: Count = 0,
        cached_input_tokens: Count = 0,
        cache_write_tokens: Count = 0,
        reasoning_tokens: Count = 0,
        cache_write_1h_tokens: Hour = 0,
        service_tier: ServiceTier = None,
    ) -> Json:
        """What a call would cost in USD at the catalog's current price, with the
        breakdown per token kind, the price's source and verification (how far to
        trust it), and unpriced_reason when cost is null."""
        svc = get()
        return dump(EstimateOut.of(call(svc.estimate_cost, **arguments(locals()))))
