"""``budget mcp``: the MCP server over stdio, for agent and desktop clients."""

from __future__ import annotations

from budget.cli.database import LocalDatabase
from budget.cli.root import app as root
from budget.cli.runtime import Cli, command


@command(root, "mcp", remote=False)
def mcp(cli: Cli) -> None:
    """Serve Budget's MCP tools and resources over stdin/stdout (see docs/mcp.md).

    Runs on the local database (--database-url or BUDGET_DATABASE_URL); for a
    remote server, point the client at its /mcp endpoint instead.

    Example: budget mcp --database-url sqlite:////home/me/budget.db
    """
    from budget.mcp.server import run_stdio

    local = LocalDatabase(cli.options.database_url)
    try:
        run_stdio(local.svc)
    finally:
        local.close()
