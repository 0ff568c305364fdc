"""How an MCP tool calls the service: registration that turns Budget errors
into tool errors, the arguments given, the REST body returned, and the budget
an argument names."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations

from budget.engine.service import BudgetService
from budget.errors import BudgetError, NotFound
from budget.mcp import identity

GetService = Callable[[], BudgetService]
Json = dict[str, Any]

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
    """A response model as the REST API's JSON body."""
    return model.model_dump(mode="json")


def arguments(values: dict[str, Any]) -> dict[str, Any]:
    """A tool's arguments from its ``locals()``, without the service it fetched
    (nor the closure's getter)."""
    return {k: v for k, v in values.items() if k not in ("svc", "get")}


def visible_budget_id(svc: BudgetService, ref: str | None) -> str | None:
    """The id of the budget ``ref`` names (id or name) as the caller's key may
    see it; with no ``ref``, the key's own budget (None: every budget)."""
    if not ref:
        return identity.budget(None)
    budget_id = svc.resolve_budget(ref).budget_id
    try:
        return identity.budget(budget_id)
    except NotFound:
        raise NotFound("budget", "id or name", ref) from None
