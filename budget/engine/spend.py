"""``spend()``: allocate before a call, record and release after it, in two operations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from budget.domain.models import Allocation, UsageRecord
from budget.errors import ValidationError

if TYPE_CHECKING:
    from budget.engine.service import BudgetService


class Spend:
    """One call's reservation, opened by :meth:`BudgetService.spend`.

    Inside the ``with`` block, :meth:`record` says what the call used; on
    leaving, that usage is recorded and the allocation released in one
    transaction. Without :meth:`record` the allocation is only released.
    When the block raises, usage already reported is still recorded (it was
    spent) and everything else is released; the exception goes on.
    """

    def __init__(self, svc: BudgetService, allocation: Allocation, input_tokens: int | None):
        self._svc = svc
        self.allocation = allocation
        self._input_tokens = input_tokens
        self._usage: dict[str, Any] | None = None
        #: The ledger record, once the block has ended (None if nothing was reported).
        self.usage: UsageRecord | None = None

    @property
    def allocation_id(self) -> str:
        return self.allocation.allocation_id

    @property
    def over_soft_limit(self) -> bool:
        return self.allocation.over_soft_limit

    @property
    def recommended_model(self) -> str | None:
        return self.allocation.recommended_model

    def record(self, **usage: Any) -> None:
        """What the call used: ``output_tokens``, ``input_tokens`` (default: the
        input given to ``spend``), cached / cache-write / reasoning tokens,
        ``request_id``, ``latency_ms``, ``metadata``… as for ``record_usage``."""
        if self._usage is not None:
            raise ValidationError("record", usage, "this call's usage was reported already")
        if "allocation_id" in usage or "release" in usage:
            field = "allocation_id" if "allocation_id" in usage else "release"
            raise ValidationError(field, usage[field], "is set by spend() itself")
        if "input_tokens" not in usage and self._input_tokens is not None:
            usage["input_tokens"] = self._input_tokens
        self._usage = usage

    def close(self) -> None:
        """Record what was reported (if anything) and release; called on leaving."""
        if self._usage is None:
            self.allocation = self._svc.release(self.allocation_id)
            return
        usage, self._usage = self._usage, None
        self.usage = self._svc.record_usage(allocation_id=self.allocation_id, release=True, **usage)
