"""BudgetService: the one object a program holds; every entry point calls it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from budget.domain.models import (
    Allocation,
    Budget,
    BudgetSummary,
    CostEstimate,
    PastWindow,
    Policy,
    UsageRecord,
)
from budget.engine import (
    allocate,
    allocation_request,
    budgets,
    check,
    corrections,
    keys,
    policies,
    pricing,
    queries,
    record,
    resolve,
    summaries,
)
from budget.engine.listing import Listing
from budget.engine.runtime import Runtime
from budget.engine.service_alerts import AlertOperations
from budget.engine.service_events import EventOperations
from budget.engine.service_insight import InsightOperations
from budget.engine.service_operator import OperatorOperations
from budget.engine.service_prices import PriceOperations
from budget.engine.spend import Spend
from budget.errors import BudgetError
from budget.storage.health import answer


class BudgetService(
    PriceOperations, InsightOperations, EventOperations, AlertOperations, OperatorOperations
):
    """Budgets, policies, allocations, the ledger, alerts and prices.

    Build one with :func:`budget.open`; it is safe to share between threads.
    """

    def __init__(self, runtime: Runtime) -> None:
        #: The engine context every use case is handed, and what runs beside them.
        self._ctx = runtime

    @property
    def settings(self):
        return self._ctx.settings

    @property
    def runtime(self) -> Runtime:
        """What runs in this process beside the use cases: the event bus, the
        webhook dispatcher, the price refresh and the housekeeper."""
        return self._ctx

    # --- budgets and policies ---------------------------------------------

    def create_budget(
        self,
        name: str,
        *,
        description: str | None = None,
        owner: str | None = None,
        active: bool = True,
        metadata: dict[str, Any] | None = None,
    ) -> Budget:
        """Create a named budget (names are unique among live budgets)."""
        return budgets.create_budget(self._ctx, name, description, owner, active, metadata)

    def get_budget(self, budget_id: str) -> Budget:
        return budgets.get_budget(self._ctx, budget_id)

    def find_budget(self, name: str) -> Budget:
        """A live budget by name."""
        return budgets.find_budget(self._ctx, name)

    def resolve_budget(self, ref: str) -> Budget:
        """A live budget by id, else by name: what a person may type for a budget.
        Raises NotFound naming ``ref`` when neither matches."""
        return resolve.resolve_budget(self._ctx, ref)

    def list_budgets(
        self,
        *,
        owner: str | None = None,
        active: bool | None = None,
        budget_ids: list[str] | tuple[str, ...] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Budget]:
        """Live budgets by name; only ``budget_ids`` when given."""
        return Listing(
            *budgets.list_budgets(
                self._ctx,
                owner=owner,
                active=active,
                budget_ids=budget_ids,
                limit=limit,
                offset=offset,
            )
        )

    def update_budget(self, budget_id: str, **changes: Any) -> Budget:
        """Change name, description, owner, active or metadata."""
        return budgets.update_budget(self._ctx, budget_id, **changes)

    def delete_budget(self, budget_id: str) -> None:
        """Soft-delete a budget and its policies; the ledger is kept."""
        budgets.delete_budget(self._ctx, budget_id)

    def add_policy(self, budget_id: str, **fields: Any) -> Policy:
        """Add a policy: type, period and a token_limit and/or cost_limit (USD),
        plus optional timezone, thresholds, dates and scope filters."""
        return policies.add_policy(self._ctx, budget_id, **fields)

    def get_policy(self, policy_id: str) -> Policy:
        return policies.get_policy(self._ctx, policy_id)

    def list_policies(self, budget_id: str | None = None) -> list[Policy]:
        return policies.list_policies(self._ctx, budget_id)

    def update_policy(self, policy_id: str, **changes: Any) -> Policy:
        return policies.update_policy(self._ctx, policy_id, **changes)

    def disable_policy(self, policy_id: str) -> Policy:
        return policies.update_policy(self._ctx, policy_id, enabled=False)

    def enable_policy(self, policy_id: str) -> Policy:
        return policies.update_policy(self._ctx, policy_id, enabled=True)

    def delete_policy(self, policy_id: str) -> None:
        policies.delete_policy(self._ctx, policy_id)

    # --- allocations --------------------------------------------------------

    def allocate(self, *, context_id: str, **request: Any) -> Allocation:
        """Reserve tokens (and their USD) on every matching window before a call.

        Give ``input_tokens`` and ``max_output_tokens`` (or ``tokens``; with
        neither, the default size for ``task_type`` and ``priority``). Raises
        :class:`budget.BudgetExceeded` when a hard limit refuses; nothing is
        then reserved anywhere.
        """
        req = allocation_request.build_request(self._ctx, context_id=context_id, **request)
        return allocate.allocate(self._ctx, req)

    def check(self, *, context_id: str = "dry-run", **request: Any) -> check.CheckResult:
        """Would ``allocate`` succeed now? Reserves and writes nothing."""
        req = allocation_request.build_request(self._ctx, context_id=context_id, **request)
        return check.check(self._ctx, req)

    @contextmanager
    def spend(self, *, context_id: str, **request: Any) -> Iterator[Spend]:
        """Allocate on entry; record what the block reports and release on exit.

        ``with svc.spend(context_id=..., provider=..., model=..., input_tokens=...,
        max_output_tokens=...) as call: ...; call.record(output_tokens=...)``.
        Raises :class:`budget.BudgetExceeded` on entry, before the block runs,
        when a hard limit refuses. Two operations in all: the allocation, and
        the usage with the release in one transaction.
        """
        allocation = self.allocate(context_id=context_id, **request)
        call = Spend(self, allocation, request.get("input_tokens"))
        try:
            yield call
        finally:
            call.close()

    def release(self, allocation_id: str) -> Allocation:
        """Return what the allocation did not use to its windows."""
        return queries.release(self._ctx, allocation_id)

    def get_allocation(self, allocation_id: str) -> Allocation:
        return queries.get_allocation(self._ctx, allocation_id)

    def list_allocations(
        self,
        *,
        context_id: str | None = None,
        status: str | None = None,
        api_key: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Allocation]:
        """Allocations, newest first, by context, status and api_key."""
        return Listing(
            *queries.list_allocations(
                self._ctx,
                context_id=context_id,
                status=status,
                api_key=api_key,
                limit=limit,
                offset=offset,
            )
        )

    def sweep_expired(self) -> int:
        """Expire allocations past their deadline; returns how many. Schedulers call this."""
        return queries.sweep_expired(self._ctx)

    # --- the ledger ---------------------------------------------------------

    def record_usage(self, **usage: Any) -> UsageRecord:
        """Append what a call used. ``input_tokens`` include cached reads and
        cache writes; ``reasoning_tokens`` are part of ``output_tokens``. The
        same ``request_id`` twice returns the first record. With
        ``allocation_id`` and ``release=True`` the allocation is released in
        the same transaction."""
        return record.record_usage(self._ctx, record.build_usage(**usage))

    def void_usage(
        self, usage_id: str, *, reason: str, request_id: str | None = None
    ) -> UsageRecord:
        """Cancel a usage record with a compensating entry (the record stays):
        its tokens, cost and request come off every window, rollup and report.
        Without ``request_id`` a repeated void returns the first one."""
        item = corrections.build_void(usage_id=usage_id, reason=reason, request_id=request_id)
        return corrections.correct(self._ctx, item)

    def adjust_usage(
        self,
        usage_id: str,
        *,
        reason: str,
        cost: Any = None,
        request_id: str | None = None,
        **tokens: Any,
    ) -> UsageRecord:
        """Set what a usage record should have said: its ``cost`` (USD) and/or
        token counts (``input_tokens`` … ``reasoning_tokens``), written as a
        compensating entry holding the difference from what stands now."""
        item = corrections.build_adjust(
            usage_id=usage_id, reason=reason, cost=cost, request_id=request_id, **tokens
        )
        return corrections.correct(self._ctx, item)

    def record_usage_batch(self, items: list[dict[str, Any]]) -> list[UsageRecord]:
        """Record many usage reports in one transaction: all or none."""
        built = []
        for index, item in enumerate(items):
            try:
                built.append(record.build_usage(**item))
            except TypeError as exc:
                raise _batch_error(index, "items", item, str(exc)) from None
            except BudgetError as exc:
                raise exc.for_item(index) from None
        return record.record_batch(self._ctx, built, batch=True)

    def get_usage(self, usage_id: str) -> UsageRecord:
        return queries.get_usage(self._ctx, usage_id)

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
        """Ledger entries, newest first; filters: component, project, user,
        api_key, provider, model, context_id, allocation_id, task_type, kind
        (usage, void, adjust), corrects_id (the corrections of one record)."""
        return Listing(
            *queries.list_usage(
                self._ctx,
                since=since,
                until=until,
                budget_id=budget_id,
                priced=priced,
                limit=limit,
                offset=offset,
                **filters,
            )
        )

    def usage_totals(self, **filters: Any) -> dict[str, Any]:
        """Records, tokens, cost and unpriced records over the matching ledger."""
        return queries.usage_totals(self._ctx, **filters)

    # --- state and prices --------------------------------------------

    def summary(
        self, budget_id: str, top: int = 10, subject: dict[str, str] | None = None
    ) -> BudgetSummary:
        """Per policy: window, used, reserved, limit, remaining and resets_at. A
        policy with ``each`` shows its ``top`` fullest windows of the period, or
        those of ``subject`` ({"user": "alice"})."""
        return summaries.summary(self._ctx, budget_id, top, subject)

    def window_history(
        self, policy_id: str, last: int = 12, subject: dict[str, str] | None = None
    ) -> list[PastWindow]:
        """A policy's last windows, newest first: what each used and how full it
        got (for an ``each`` policy, optionally only ``subject``'s)."""
        return summaries.window_history(self._ctx, policy_id, last, subject)

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
        """What a call would cost at the catalog price (unpriced: ``cost`` None,
        ``unpriced_reason`` says why), with the price's source and verification."""
        return pricing.estimate_cost(
            self._ctx,
            provider=provider,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_input_tokens=cached_input_tokens,
            cache_write_tokens=cache_write_tokens,
            reasoning_tokens=reasoning_tokens,
            at=at,
            cache_write_1h_tokens=cache_write_1h_tokens,
            service_tier=service_tier,
        )

    # --- API keys of the REST service -------------------------------------------

    def create_api_key(
        self, name: str, role: str = "client", **binding: Any
    ) -> tuple[keys.ApiKey, str]:
        """A new key (admin or client) and its secret, shown only this once; a
        client key may be bound to ``user``, ``project``, ``component`` and
        ``budgets`` (see :func:`budget.engine.keys.create_key`)."""
        return keys.create_key(self._ctx, name, role, **binding)

    def list_api_keys(self) -> list[keys.ApiKey]:
        return keys.list_keys(self._ctx)

    def revoke_api_key(self, key_id: str) -> keys.ApiKey:
        return keys.revoke_key(self._ctx, key_id)

    def sees_usage(self, key: keys.ApiKey | None, record: UsageRecord) -> bool:
        """Whether ``key`` may read this usage record (see :func:`keys.sees_usage`)."""
        return keys.sees_usage(self._ctx, key, record)

    def authenticate(self, secret: str) -> keys.ApiKey | None:
        """The live key with this secret, or None."""
        return keys.authenticate(self._ctx, secret)

    def active_api_keys(self) -> int:
        return keys.active_key_count(self._ctx)

    def ping(self) -> None:
        """Raise StorageError if the database does not answer."""
        with self._ctx.db.read() as tx:
            answer(tx)

    def close(self) -> None:
        """Stop what runs in the background, newest first, and release the
        database connections (see :meth:`Runtime.close`)."""
        self._ctx.close()

    def __enter__(self) -> BudgetService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _batch_error(index: int, field: str, value: Any, reason: str):
    from budget.errors import ValidationError

    return ValidationError(f"{field}[{index}]", value, reason)
