"""Who is calling an MCP tool: the API key of the HTTP request that carries the
call (None over stdio and on an open server, which act as admin).

``/mcp`` sets it after authenticating each request; the tools read it, so a
client key spends and reads as the REST API lets it (``budget.engine.keys``).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from budget.engine.keys import ApiKey, bind_request, visible_budget

current_key: ContextVar[ApiKey | None] = ContextVar("budget_mcp_key", default=None)


def bind(fields: dict[str, Any]) -> dict[str, Any]:
    """A tool call's scope arguments with the caller's key identity filled in."""
    return bind_request(current_key.get(), fields)


def budget(budget_id: str | None) -> str | None:
    """The budget a read tool is about, as the caller's key may see it."""
    return visible_budget(current_key.get(), budget_id)
