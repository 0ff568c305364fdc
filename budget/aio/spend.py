"""``async with asvc.spend(...)``: the async form of :class:`budget.engine.spend.Spend`."""

from __future__ import annotations

from typing import Any

from budget.engine.spend import Spend


class AsyncSpend(Spend):
    """One call's reservation, opened by an async service's ``spend``.

    :meth:`record` is the same (it only notes what the call used); on leaving
    the block :meth:`aclose` records it and releases the allocation in one
    operation, or only releases when nothing was reported. When the block
    raises, usage already reported is still recorded and the rest released.
    """

    def __init__(self, asvc: Any, allocation: Any, input_tokens: int | None) -> None:
        super().__init__(asvc, allocation, input_tokens)

    def close(self) -> None:
        raise TypeError("an async spend() is closed with 'await call.aclose()'")

    async def aclose(self) -> None:
        """Record what was reported (if anything) and release; awaited on leaving."""
        if self._usage is None:
            self.allocation = await self._svc.release(self.allocation_id)
            return
        usage, self._usage = self._usage, None
        self.usage = await self._svc.record_usage(
            allocation_id=self.allocation_id, release=True, **usage
        )
