"""The MCP resources: every budget's status, one budget's status, the price catalog."""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from budget.api.schemas import SummaryOut
from budget.errors import BudgetError
from budget.mcp.calling import GetService

PRICE_KINDS = ("input", "output", "cached_input", "cache_write", "reasoning")


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def _summary(svc, budget_id: str) -> dict[str, Any]:
    return SummaryOut.of(svc.summary(budget_id)).model_dump(mode="json")


def register(server: MCPServer, get: GetService) -> None:
    """Add the resources to ``server``."""

    @server.resource(
        "budget://budgets",
        name="budgets",
        description="Every live budget with the state of each current window.",
        mime_type="application/json",
    )
    def all_budgets() -> str:
        svc = get()
        try:
            return _json([_summary(svc, b.budget_id) for b in svc.list_budgets(limit=1000)])
        except BudgetError as exc:
            raise ResourceError(exc.message) from None

    @server.resource(
        "budget://budgets/{budget_id}/status",
        name="budget-status",
        description="One budget's windows (the budget by id or name): limit, used, "
        "reserved, remaining, resets_at.",
        mime_type="application/json",
    )
    def budget_status(budget_id: str) -> str:
        svc = get()
        try:
            return _json(_summary(svc, svc.resolve_budget(budget_id).budget_id))
        except BudgetError as exc:
            raise ResourceError(exc.message) from None

    @server.resource(
        "budget://prices",
        name="prices",
        description="The price catalog in effect: USD per million tokens per token kind.",
        mime_type="application/json",
    )
    def prices() -> str:
        svc = get()
        try:
            return _json([_price(p) for p in svc.list_prices(limit=10_000)])
        except BudgetError as exc:
            raise ResourceError(exc.message) from None


def _price(price) -> dict[str, Any]:
    rates = {}
    for kind in PRICE_KINDS:
        rate = getattr(price.rates, kind, None)
        if rate is not None:
            rates[kind] = str(getattr(rate, "base", rate))
    return {
        "provider": price.provider,
        "model": price.model,
        "usd_per_million": rates,
        "verification": price.verification,
        "source": price.source,
    }
