"""MCP tools that correct the ledger: void and adjust a usage record (admin only).

On ``/mcp`` with API keys only an admin key may call them (a client key gets
a tool error, as REST answers 403); over stdio and on an open server the
caller acts as admin.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field

from budget.api.schemas_ledger import UsageOut
from budget.errors import Forbidden
from budget.mcp import identity
from budget.mcp.arguments import OptCount, UsageId, text
from budget.mcp.calling import GetService, Json, call, dump, tool

CORRECT = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
Reason = Annotated[
    str, Field(description="Why it is corrected; kept with the entry.", max_length=1000)
]
RequestId = text("request_id", description="Idempotency key of the correction.")


def _admin_only() -> None:
    key = identity.current_key.get()
    if key is not None and key.role != "admin":
        raise Forbidden(
            "api_key", key.name, f"has role {key.role!r}; correcting the ledger needs an admin key"
        )


def register_ledger(server: MCPServer, get: GetService) -> None:
    """Add the correction tools to ``server``."""

    @tool(server, CORRECT)
    def void_usage(usage_id: UsageId, reason: Reason, request_id: RequestId = None) -> Json:
        """Cancel a usage record that should not count (a bad import, a call billed
        twice): a compensating ledger entry takes its tokens, cost and request off
        every budget window and report; the record itself stays. Voiding again returns
        the first void. Admin only."""
        _admin_only()
        return dump(
            UsageOut.of(
                call(get().void_usage, usage_id=usage_id, reason=reason, request_id=request_id)
            )
        )

    @tool(server, CORRECT)
    def adjust_usage(
        usage_id: UsageId,
        reason: Reason,
        cost: Annotated[
            str | None, Field(description="The new cost in USD, a decimal string.", max_length=40)
        ] = None,
        input_tokens: OptCount = None,
        output_tokens: OptCount = None,
        cached_input_tokens: OptCount = None,
        cache_write_tokens: OptCount = None,
        reasoning_tokens: OptCount = None,
        cache_write_1h_tokens: OptCount = None,
        request_id: RequestId = None,
    ) -> Json:
        """Set what a usage record should say: its cost and/or token counts (what is
        not given stays). A compensating ledger entry holds the difference from what
        stands now; windows and reports follow it. Admin only."""
        _admin_only()
        return dump(
            UsageOut.of(
                call(
                    get().adjust_usage,
                    usage_id=usage_id,
                    reason=reason,
                    cost=cost,
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    cached_input_tokens=cached_input_tokens,
                    cache_write_tokens=cache_write_tokens,
                    reasoning_tokens=reasoning_tokens,
                    cache_write_1h_tokens=cache_write_1h_tokens,
                    request_id=request_id,
                )
            )
        )
