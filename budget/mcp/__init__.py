"""The MCP server: Budget's operations as tools and resources for agents.

``budget mcp`` serves it over stdio; ``budget serve`` mounts it over
streamable HTTP at ``/mcp``, behind the REST API's keys (docs/mcp.md).
Importing this package does not import the MCP SDK; ``budget.mcp.server``
does.
"""

#: The tools, in the order they are listed (the registry advertises these).
TOOL_NAMES = (
    "allocate_tokens",
    "check_budget",
    "record_usage",
    "release_allocation",
    "get_budget_status",
    "list_alerts",
    "estimate_cost",
    "recommend_model",
    "model_facts",
    "route_request",
    "usage_analytics",
    "void_usage",
    "adjust_usage",
)
