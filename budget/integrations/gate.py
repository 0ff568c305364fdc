"""The three steps around one metered call: reserve, then record and release.

Works with any service that has Budget's methods: the library
(``budget.open()``), the remote client (``budget.connect()``), or their async
forms, whose methods are coroutines. A sync service called from async code
runs in a worker thread, so the event loop never waits on the database.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("budget.wrap")


@dataclass
class Ticket:
    """One call's reservation."""

    allocation_id: str
    #: The model the call is sent to (the cheaper one after a soft-limit switch).
    model: str | None
    closed: bool = False


class Gate:
    """Reserve before a call and settle after it, for one wrapped client."""

    def __init__(self, svc: Any, provider: str, scope: dict[str, Any], context_id: str | None):
        self.svc = svc
        self.provider = provider
        self.scope = {k: v for k, v in scope.items() if v is not None}
        self.context_id = context_id

    # --- sync ------------------------------------------------------------------

    def open(self, plan: dict[str, Any]) -> Ticket:
        """Allocate for a call (raises BudgetExceeded before anything is sent)."""
        allocation = self.svc.allocate(**self._request(plan, plan["model"]))
        return self._switched(plan, allocation, self.svc.allocate, self.svc.release)

    def done(self, ticket: Ticket, usage: dict | None, request_id: str | None, started: float):
        """Record what the call used and release the rest, in one operation."""
        if ticket.closed:
            return
        if _is_async(self.svc.release):  # reached only from a stream dropped unread
            log.warning("budget: allocation %s left to expire", ticket.allocation_id)
            return
        ticket.closed = True
        try:
            if usage is None:
                self.svc.release(ticket.allocation_id)
            else:
                self.svc.record_usage(**_report(ticket, usage, request_id, started))
        except Exception:  # the call succeeded: its answer is not lost to a ledger error
            log.exception("budget: could not record allocation %s", ticket.allocation_id)

    def fail(self, ticket: Ticket, error: BaseException) -> None:
        """The call failed: give the whole reservation back."""
        self.done(ticket, None, None, 0.0)

    # --- async -----------------------------------------------------------------

    async def aopen(self, plan: dict[str, Any]) -> Ticket:
        allocate, release = self._async(self.svc.allocate), self._async(self.svc.release)
        allocation = await allocate(**self._request(plan, plan["model"]))
        if not (allocation.over_soft_limit and allocation.recommended_model and plan["switch"]):
            return self._switched(plan, allocation, None, None)
        try:
            cheaper = await allocate(**self._request(plan, allocation.recommended_model))
        except Exception:
            return Ticket(allocation.allocation_id, plan["model"])
        await release(allocation.allocation_id)
        return Ticket(cheaper.allocation_id, allocation.recommended_model)

    async def adone(self, ticket: Ticket, usage, request_id, started: float) -> None:
        if ticket.closed:
            return
        ticket.closed = True
        try:
            if usage is None:
                await self._async(self.svc.release)(ticket.allocation_id)
            else:
                report = _report(ticket, usage, request_id, started)
                await self._async(self.svc.record_usage)(**report)
        except Exception:
            log.exception("budget: could not record allocation %s", ticket.allocation_id)

    async def afail(self, ticket: Ticket, error: BaseException) -> None:
        if isinstance(error, asyncio.CancelledError) and not _is_async(self.svc.release):
            self.done(ticket, None, None, 0.0)  # cancelled: settle now, without awaiting
            return
        await self.adone(ticket, None, None, 0.0)

    # --- shared ----------------------------------------------------------------

    def _request(self, plan: dict[str, Any], model: str | None) -> dict[str, Any]:
        return {
            "context_id": self.context_id or f"wrap-{uuid.uuid4().hex[:16]}",
            "provider": self.provider,
            "model": model,
            "input_tokens": plan["input_tokens"],
            "max_output_tokens": plan["max_output_tokens"],
            **self.scope,
        }

    def _switched(self, plan, allocation, allocate, release) -> Ticket:
        """Over a soft limit with a cheaper model: note it, or (``switch``) move
        the reservation to that model before the call is sent."""
        cheaper = allocation.recommended_model
        if not (allocation.over_soft_limit and cheaper):
            return Ticket(allocation.allocation_id, plan["model"])
        if not plan["switch"] or allocate is None:
            log.info("budget: over a soft limit; %s is the cheaper model suggested", cheaper)
            return Ticket(allocation.allocation_id, plan["model"])
        try:
            moved = allocate(**self._request(plan, cheaper))
        except Exception:  # the cheaper model does not fit either: keep the first
            return Ticket(allocation.allocation_id, plan["model"])
        release(allocation.allocation_id)
        return Ticket(moved.allocation_id, cheaper)

    @staticmethod
    def _async(method):
        if _is_async(method):
            return method

        async def in_thread(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return in_thread


def _is_async(method: Any) -> bool:
    return inspect.iscoroutinefunction(method)


def _report(ticket: Ticket, usage: dict, request_id: str | None, started: float) -> dict:
    latency = int((time.perf_counter() - started) * 1000) if started else None
    report = {
        "allocation_id": ticket.allocation_id,
        "release": True,
        "request_id": request_id,
        "latency_ms": latency,
        **usage,
    }
    if ticket.model is not None:
        report["model"] = ticket.model
    return report
