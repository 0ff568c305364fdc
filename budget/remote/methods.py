"""The library's methods as REST requests, written once for both clients.

Each method builds a :class:`~budget.remote.wire.Call` and hands it to
``self._run``: :class:`budget.remote.RemoteService` runs it and returns the
result; :class:`budget.aio.AsyncRemoteService` wraps every one of these
methods in a coroutine function that awaits it. Methods that need more than
one request (``find_budget``, ``spend``…) live in each client.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from budget.domain.models import (
    Alert,
    Allocation,
    Budget,
    BudgetSummary,
    CostEstimate,
    PastWindow,
    Policy,
    UsageRecord,
)
from budget.engine.check import CheckResult
from budget.remote import calls, operator
from budget.remote.wire import Call


class RemoteMethods(ABC):
    """The single-request methods of :class:`budget.BudgetService`, over REST.

    A client supplies :meth:`_run`, which sends one call and returns its answer
    (the sync client directly, the async one as a coroutine)."""

    @abstractmethod
    def _run(self, call: Call) -> Any: ...

    # --- budgets and policies -------------------------------------------------

    def create_budget(
        self,
        name: str,
        *,
        description: str | None = None,
        owner: str | None = None,
        active: bool = True,
        metadata: dict[str, Any] | None = None,
    ) -> Budget:
        """Create a named budget (an admin key, or an open server)."""
        return self._run(
            calls.create_budget(
                name, description=description, owner=owner, active=active, metadata=metadata
            )
        )

    def get_budget(self, budget_id: str) -> Budget:
        return self._run(calls.get_budget(budget_id))

    def update_budget(self, budget_id: str, **changes: Any) -> Budget:
        return self._run(calls.update_budget(budget_id, changes))

    def delete_budget(self, budget_id: str) -> None:
        self._run(calls.delete_budget(budget_id))

    def add_policy(self, budget_id: str, **fields: Any) -> Policy:
        """Add a policy, with the same fields as :meth:`BudgetService.add_policy`."""
        return self._run(calls.add_policy(budget_id, fields))

    def get_policy(self, policy_id: str) -> Policy:
        return self._run(calls.get_policy(policy_id))

    def list_policies(self, budget_id: str | None = None) -> list[Policy]:
        return self._run(calls.list_policies(budget_id))

    def update_policy(self, policy_id: str, **changes: Any) -> Policy:
        return self._run(calls.update_policy(policy_id, changes))

    def disable_policy(self, policy_id: str) -> Policy:
        return self._run(calls.set_policy_enabled(policy_id, False))

    def enable_policy(self, policy_id: str) -> Policy:
        return self._run(calls.set_policy_enabled(policy_id, True))

    def delete_policy(self, policy_id: str) -> None:
        self._run(calls.delete_policy(policy_id))

    # --- allocations ------------------------------------------------------------

    def allocate(self, *, context_id: str, **request: Any) -> Allocation:
        """Reserve before a call, as :meth:`BudgetService.allocate`; raises
        :class:`budget.BudgetExceeded` when a hard limit refuses. Never sent
        twice once it may have reached the server."""
        return self._run(calls.allocate(context_id, request))

    def check(self, *, context_id: str = "dry-run", **request: Any) -> CheckResult:
        """Would ``allocate`` succeed now? Reserves nothing."""
        return self._run(calls.check(context_id, request))

    def release(self, allocation_id: str) -> Allocation:
        """Return what the allocation did not use (idempotent, so retried)."""
        return self._run(calls.release(allocation_id))

    def get_allocation(self, allocation_id: str) -> Allocation:
        return self._run(calls.get_allocation(allocation_id))

    def list_allocations(
        self,
        *,
        context_id: str | None = None,
        status: str | None = None,
        api_key: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Allocation]:
        """Allocations, newest first (a client key sees its own)."""
        return self._run(calls.list_allocations(context_id, status, api_key, limit, offset))

    def sweep_expired(self) -> int:
        return self._run(calls.sweep_expired())

    # --- the ledger ---------------------------------------------------------------

    def record_usage(self, **usage: Any) -> UsageRecord:
        """Append what a call used, as :meth:`BudgetService.record_usage`. Without
        a ``request_id`` the client makes one (``auto-…``), so a retry after a
        lost answer still counts once."""
        return self._run(calls.record_usage(usage))

    def record_usage_batch(self, items: list[dict[str, Any]]) -> list[UsageRecord]:
        """Record many usage reports in one transaction: all or none."""
        return self._run(calls.record_usage_batch(items))

    def void_usage(
        self, usage_id: str, *, reason: str, request_id: str | None = None
    ) -> UsageRecord:
        return self._run(calls.void_usage(usage_id, reason, request_id))

    def adjust_usage(
        self,
        usage_id: str,
        *,
        reason: str,
        cost: Any = None,
        request_id: str | None = None,
        **tokens: Any,
    ) -> UsageRecord:
        return self._run(calls.adjust_usage(usage_id, reason, cost, request_id, tokens))

    def get_usage(self, usage_id: str) -> UsageRecord:
        return self._run(calls.get_usage(usage_id))

    def list_usage(
        self,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        budget_id: str | None = None,
        priced: bool | None = None,
        limit: int = 100,
        offset: int = 0,
        **filters: Any,
    ) -> list[UsageRecord]:
        """Ledger entries, newest first, with the library's filters."""
        params = {
            "since": since,
            "until": until,
            "budget_id": budget_id,
            "priced": priced,
            "limit": limit,
            "offset": offset,
        }
        return self._run(calls.list_usage(params, filters))

    def usage_totals(self, **filters: Any) -> dict[str, Any]:
        """Records, tokens, cost and unpriced records over the matching ledger."""
        return self._run(calls.usage_totals(dict(filters)))

    # --- state, alerts and prices --------------------------------------------------

    def summary(
        self, budget_id: str, top: int = 10, subject: dict[str, str] | None = None
    ) -> BudgetSummary:
        """Per policy: window, used, reserved, limit, remaining and resets_at."""
        return self._run(calls.summary(budget_id, top, subject))

    def window_history(
        self, policy_id: str, last: int = 12, subject: dict[str, str] | None = None
    ) -> list[PastWindow]:
        return self._run(calls.window_history(policy_id, last, subject))

    def list_alerts(
        self,
        *,
        budget_id: str | None = None,
        kind: str | None = None,
        acknowledged: bool | None = None,
        since: datetime | str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Alert]:
        return self._run(
            calls.list_alerts(
                budget_id=budget_id,
                kind=kind,
                acknowledged=acknowledged,
                since=since,
                limit=limit,
                offset=offset,
            )
        )

    def acknowledge_alert(self, alert_id: str, by: str) -> Alert:
        return self._run(calls.acknowledge_alert(alert_id, by))

    def acknowledge_alerts(
        self,
        by: str,
        *,
        alert_ids: list[str] | None = None,
        all: bool = False,
        kind: str | None = None,
        budget_id: str | None = None,
        before: datetime | str | None = None,
    ) -> int:
        """Acknowledge open alerts by ids and/or filters, or all; returns how many."""
        fields = {
            "alert_ids": list(alert_ids) if alert_ids else None,
            "all": all or None,
            "kind": kind,
            "budget_id": budget_id,
            "before": before,
        }
        return self._run(calls.acknowledge_alerts(by, fields))

    def estimate_cost(
        self,
        *,
        provider: str,
        model: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_input_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        at: datetime | str | None = None,
        cache_write_1h_tokens: int = 0,
        service_tier: str | None = None,
    ) -> CostEstimate:
        """What a call would cost at the server's catalog price, with the price's
        source and verification."""
        return self._run(
            calls.estimate_cost(
                {
                    "provider": provider,
                    "model": model,
                    "input_tokens": input_tokens,
                    "output_tokens": output_tokens,
                    "cached_input_tokens": cached_input_tokens,
                    "cache_write_tokens": cache_write_tokens,
                    "reasoning_tokens": reasoning_tokens,
                    "cache_write_1h_tokens": cache_write_1h_tokens,
                    "service_tier": service_tier,
                    "at": at,
                }
            )
        )

    def doctor(self):
        """The server's doctor report (an admin key): see :meth:`BudgetService.doctor`."""
        return self._run(operator.doctor())


#: The methods above, by name (the async client wraps each in a coroutine).
SHARED = tuple(
    name
    for name, value in vars(RemoteMethods).items()
    if not name.startswith("_") and callable(value)
)
