"""The MCP tools' argument types; the text ones are built from the declared
fields (:mod:`budget.domain.scope`), so a tool accepts what REST and the
library accept."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from budget.domain import limits, scope


def text(name: str, *, required: bool = False, description: str | None = None) -> Any:
    """The argument type of the declared text field ``name`` (optional unless
    ``required``), described by its declaration unless ``description`` is given."""
    declared = scope.text_field(name)
    kind = str if required else str | None
    return Annotated[
        kind, Field(description=description or declared.help, max_length=declared.max_length)
    ]


Component = text("component")
Project = text("project")
User = text("user")
Provider = text("provider")
Model = text("model")
TaskType = text("task_type")
ProviderName = text("provider", required=True, description="Provider, e.g. openai.")
ModelName = text("model", required=True)
ContextId = text("context_id", required=True)
OptContextId = text("context_id")
RequestId = text("request_id")
AllocationId = text("allocation_id", required=True, description="From allocate_tokens.")
OptAllocationId = text("allocation_id", description="From allocate_tokens.")
UsageId = text("usage_id", required=True, description="The usage record to correct (use_…).")
BudgetRef = text("budget", required=True)
OptBudgetRef = text("budget", description="Budget id or name (default: all).")

Count = Annotated[int, Field(ge=0, le=limits.MAX_TOKENS)]
OptCount = Annotated[int | None, Field(ge=0, le=limits.MAX_TOKENS)]
ServiceTier = Annotated[
    Literal["standard", "batch", "flex", "priority"] | None,
    Field(description="The provider's service tier the call uses (default standard)."),
]
Hour = Annotated[
    int,
    Field(ge=0, le=limits.MAX_TOKENS, description="Of cache_write_tokens, 1-hour cache writes."),
]
Priority = Annotated[
    int | Literal["low", "normal", "high", "critical"],
    Field(description="1-10 or low (1), normal (5), high (8), critical (10)."),
]
