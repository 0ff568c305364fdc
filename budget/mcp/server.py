"""Building the MCP server and serving it over stdio."""

from __future__ import annotations

import logging
import sys

from mcp.server.mcpserver import MCPServer

from budget.engine.service import BudgetService
from budget.mcp import resources, tools
from budget.mcp.calling import GetService

INSTRUCTIONS = (
    "Budget keeps an LLM token-and-cost ledger with limits. Before calling a model, "
    "call allocate_tokens (or check_budget for a dry run; route_request or "
    "recommend_model to pick a model that fits); after the call, record_usage with "
    "the allocation_id and the tokens used; release_allocation if you did not call "
    "the model. get_budget_status and list_alerts tell where a budget stands. "
    "Token convention: input_tokens include cached ones; reasoning_tokens are part "
    "of output_tokens."
)


def build_server(get_service: GetService) -> MCPServer:
    """An MCP server whose tools and resources call ``get_service()``."""
    server = MCPServer(
        "budget",
        title="Budget",
        instructions=INSTRUCTIONS,
        version="0.1.0",
        log_level="WARNING",
    )
    tools.register(server, get_service)
    resources.register(server, get_service)
    return server


def run_stdio(service: BudgetService) -> None:
    """Serve ``service`` over stdin/stdout until the client disconnects."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    build_server(lambda: service).run("stdio")
