"""The MCP tools: each one calls BudgetService as the REST route does and
returns the REST API's JSON body; a Budget error becomes a tool error with
the API's message (field and value named), never a crash."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from budget.api.schemas import SummaryOut
from budget.api.schemas_ledger import AlertOut, AllocationOut, CheckOut, UsageOut
from budget.api.schemas_prices import EstimateOut
from budget.domain import limits
from budget.engine.service import BudgetService
from budget.errors import BudgetError, NotFound
from budget.mcp import identity

GetService = Callable[[], BudgetService]
Json = dict[str, Any]

Provider = Annotated[
    str | None, Field(description="Provider, e.g. openai, anthropic, google.", max_length=100)
]
Model = Annotated[str | None, Field(description="Model id, e.g. gpt-4o.", max_length=200)]
Count = Annotated[int, Field(ge=0, le=limits.MAX_TOKENS)]
OptCount = Annotated[int | None, Field(ge=0, le=limits.MAX_TOKENS)]
Text = Annotated[str | None, Field(max_length=200)]
ServiceTier = Annotated[
    Literal["standard", "batch", "flex", "priority"] | None,
    Field(description="The provider's service tier the call uses (default standard)."),
]
Hour = Annotated[
    int,
    Field(ge=0, le=limits.MAX_TOKENS, description="Of cache_write_tokens, 1-hour cache writes."),
]
BudgetRef = Annotated[str, Field(description="Budget id (bud_…) or name.", max_length=200)]
Priority = Annotated[
    int | Literal["low", "normal", "high", "critical"],
    Field(description="1-10 or low (1), normal (5), high (8), critical (10)."),
]
TaskType = Annotated[
    str | None,
    Field(description="Task type: default, chat, coding, analysis, embedding, …", max_length=100),
]
READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)


def call(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Call the service with the arguments that were given (not None)."""
    return fn(**{k: v for k, v in kwargs.items() if v is not None})


def failure(error: BudgetError) -> CallToolResult:
    """A tool error with the REST API's message; the error's fields as structured content."""
    return CallToolResult(
        content=[TextContent(type="text", text=error.message)],
        structured_content={"error": error.to_dict()},
        is_error=True,
    )


def tool(server: MCPServer, annotations: ToolAnnotations) -> Callable[[Callable], Callable]:
    """Register a tool whose Budget errors come back as tool errors (never crashes)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except BudgetError as exc:
                return failure(exc)

        server.add_tool(run, annotations=annotations)
        return fn

    return decorate


def dump(model: Any) -> Json:
    return model.model_dump(mode="json")


def resolve_budget(svc: BudgetService, ref: str) -> str:
    """A budget id from an id or a live budget's name."""
    try:
        return svc.get_budget(ref).budget_id
    except NotFound:
        pass
    try:
        return svc.find_budget(ref).budget_id
    except NotFound:
        raise NotFound("budget", "id or name", ref) from None


def register(server: MCPServer, get: GetService) -> None:
    """Add every tool to ``server``."""
    _register_spending(server, get)
    _register_state(server, get)
    from budget.mcp.tools_insight import register_insight
    from budget.mcp.tools_ledger import register_ledger

    register_insight(server, get)
    register_ledger(server, get)


def _register_spending(server: MCPServer, get: GetService) -> None:
    @tool(server, WRITE)
    def allocate_tokens(
        context_id: Annotated[
            str, Field(description="Your task or conversation id.", max_length=300)
        ],
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
        component: Text = None,
        project: Text = None,
        user: Text = None,
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
        return dump(AllocationOut.of(call(svc.allocate, **identity.bind(_locals(locals())))))

    @tool(server, READ)
    def check_budget(
        provider: Provider = None,
        model: Model = None,
        input_tokens: OptCount = None,
        max_output_tokens: OptCount = None,
        tokens: Annotated[int | None, Field(gt=0, le=limits.MAX_TOKENS)] = None,
        priority: Priority = 5,
        task_type: TaskType = None,
        component: Text = None,
        project: Text = None,
        user: Text = None,
    ) -> Json:
        """Dry run: would allocate_tokens succeed now? Reserves nothing. Returns allowed,
        the estimated cost, and each refusing window (limit, used, reserved, resets_at)."""
        svc = get()
        return dump(CheckOut.of(call(svc.check, **identity.bind(_locals(locals())))))

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
        allocation_id: Annotated[
            str | None, Field(description="From allocate_tokens.", max_length=40)
        ] = None,
        provider: Provider = None,
        model: Model = None,
        request_id: Annotated[
            str | None, Field(description="Idempotency key: the same id counts once.")
        ] = None,
        context_id: Annotated[str | None, Field(max_length=300)] = None,
        task_type: TaskType = None,
        component: Text = None,
        project: Text = None,
        user: Text = None,
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
        return dump(UsageOut.of(call(svc.record_usage, **identity.bind(_locals(locals())))))

    @tool(server, WRITE)
    def release_allocation(
        allocation_id: Annotated[str, Field(description="From allocate_tokens.", max_length=40)],
    ) -> Json:
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
        budget_id = identity.budget(resolve_budget(svc, budget))
        summary = call(svc.summary, budget_id=budget_id, top=top, subject=subject)
        return dump(SummaryOut.of(summary))

    @tool(server, READ)
    def list_alerts(
        budget: Annotated[
            str | None, Field(description="Budget id or name (default: all).")
        ] = None,
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
        budget_id = identity.budget(resolve_budget(svc, budget) if budget else None)
        items = call(
            svc.list_alerts,
            budget_id=budget_id,
            kind=kind,
            acknowledged=False if unacknowledged_only else None,
            limit=limit,
        )
        return {"items": [dump(AlertOut.of(a)) for a in items], "total": items.total}

    @tool(server, READ)
    def estimate_cost(
        provider: Annotated[str, Field(description="Provider, e.g. openai.", max_length=100)],
        model: Annotated[str, Field(description="Model id, e.g. gpt-4o.", max_length=200)],
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
        return dump(EstimateOut.of(call(svc.estimate_cost, **_locals(locals()))))


def _locals(values: dict[str, Any]) -> dict[str, Any]:
    """A tool's arguments, without the service it fetched (nor the closure's getter)."""
    return {k: v for k, v in values.items() if k not in ("svc", "get")}
