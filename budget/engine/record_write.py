"""The transaction of ``record_usage``: ledger rows, window counters, draw-down.

Everything a usage report needs from Python (its attributes, price, windows)
is worked out before the transaction, from the process's caches; the
transaction then sends its statements together (one round trip on
PostgreSQL, plus the COMMIT that carries the events): the cache versions, the
allocation and window locks, the ledger insert, one counter update over all
windows, the allocation's draw-down, the rollups. Alerts, which are rare,
follow only when a threshold was crossed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from budget.domain.enums import AllocationStatus
from budget.domain.models import SCOPE_FIELDS, Policy, RequestAttributes
from budget.domain.periods import WindowSpan
from budget.domain.prices import COST_PARTS, CostBreakdown
from budget.engine.alerts import check_thresholds, raise_unpriced_alert
from budget.engine.context import EngineContext, Held
from budget.engine.expiry import expire_if_due, locked_allocation
from budget.engine.insight import rollups
from budget.engine.pricing import cost_of, resolve_tier
from budget.engine.windows import Target, matching_spans, window_targets
from budget.errors import NotFound, ValidationError
from budget.events import emit as events
from budget.events.emit import window_ref
from budget.storage.ledger import new_usage_id
from budget.storage.mapping import attributes_to_columns, row_to_attributes, row_to_usage
from budget.storage.unit import Unit

_ATTRS = (*SCOPE_FIELDS, "tags", "session_id", "task_id")


class AlreadyRecorded(Exception):
    """A request id of the transaction was recorded before: roll back, look it up."""


@dataclass
class Planned:
    """One usage report, worked out before its transaction."""

    index: int
    item: Any  # record.UsageInput
    held: Held | None
    values: dict[str, Any]
    spans: list[tuple[Policy, WindowSpan]]
    cost: CostBreakdown | None
    #: The windows it counts on, found (or created) in the transaction.
    targets: list[Target] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.values["total_tokens"]

    @property
    def nanos(self) -> int:
        return self.values["cost_nanos"] or 0


def plan(ctx: EngineContext, index: int, item, now: datetime, seen: dict | None = None) -> Planned:
    """Attributes, price, cost and matching policy windows of one report.

    ``seen`` (one dict per batch) remembers the price and windows of each
    (attributes, instant) already planned: a batch's reports mostly share them.
    """
    held = held_allocation(ctx, item.allocation_id) if item.allocation_id else None
    attrs, context_id = _attributes(ctx, item, held)
    at = item.occurred_at or now
    key = (attrs, at)
    found = seen.get(key) if seen is not None else None
    if found is None:
        found = (
            ctx.catalog.lookup(attrs.provider or "", attrs.model or "", at),
            matching_spans(ctx, attrs, at),
        )
        if seen is not None:
            seen[key] = found
    price, spans = found
    cost = cost_of(price, item.usage, at, item.service_tier)
    values = _row(item, attrs, context_id, cost, price, at, now)
    return Planned(index, item, held, values, spans, cost)


def held_allocation(ctx: EngineContext, allocation_id: str) -> Held:
    """What never changes about an allocation: from the cache, else read once."""
    held = ctx.held.get(allocation_id)
    if held is not None:
        return held
    with ctx.db.read() as tx:
        row, windows = tx.allocations.held(allocation_id)
    if row is None:
        raise NotFound("allocation", "allocation_id", allocation_id)
    held = Held(
        row.id,
        row.context_id,
        row_to_attributes(row),
        row.expires_at,
        tuple(windows),
    )
    ctx.held.put(held)
    return held


def write(
    ctx: EngineContext,
    tx: Unit,
    planned: list[Planned],
    now: datetime,
    expected: tuple[int, int],
    created: dict[tuple[str, str], int],
):
    """Record the planned reports in the transaction ``tx``; their records.
    ``expected``: the cache versions the plan was made with; windows created
    go to ``created``, for the caller to cache once the transaction commits."""
    for p in planned:
        p.targets = window_targets(ctx, tx, p.spans, now, created)  # made by ensure_windows
    for p in planned:
        if p.held is not None and p.held.expires_at <= now:
            row = locked_allocation(tx, p.held.allocation_id)
            if row is None:
                raise pruned_allocation(ctx, p.held.allocation_id)
            expire_if_due(tx, row, now)
    with_allocation = sorted((p for p in planned if p.held), key=lambda p: p.held.allocation_id)
    alone = [p for p in planned if p.held is None]
    with tx.batch.pipelined():
        before = {p.index: tx.allocations.lock_state(p.held.allocation_id) for p in with_allocation}
        tx.windows.lock(_all_windows(planned))
        inserted = tx.ledger.insert([p.values for p in planned])
        # The versions are read after the ledger insert: a window being created
        # holds that insert back until it commits, so a plan made before a
        # policy change sees the change here and restarts (docs/limits.md).
        versions = tx.meta.queue_versions()
        summed = _summed(alone)
        counted_alone = tx.windows.add_used_each(summed)
        counted, drawn = {}, {}
        for p in with_allocation:
            counted[p.index] = tx.windows.count(
                [x.window_id for x in p.targets],
                p.tokens,
                p.nanos,
                allocation_id=p.held.allocation_id,
                held_ids=p.held.window_ids,
                release=p.item.release,
            )
            release_at = now if p.item.release else None
            drawn[p.index] = tx.allocations.draw(
                p.held.allocation_id, p.tokens, p.nanos, release_at=release_at
            )
        rollups.apply_usages(tx, [p.values for p in planned])
        if len(inserted.result()) != len(planned):
            raise AlreadyRecorded()
        ctx.check_versions(versions.result(), expected)
        after_alone = counted_alone.result()
        results = {
            p.index: (
                _state(ctx, before[p.index].result(), p.held.allocation_id),
                counted[p.index].result(),
                drawn[p.index].result(),
            )
            for p in with_allocation
        }
    _alerts_alone(tx, alone, summed, after_alone, now)
    for p in with_allocation:
        after = results[p.index][1]
        for target in p.targets:
            check_thresholds(tx, target, after[target.window_id], p.tokens, p.nanos, now)
    unpriced = {
        (p.values["provider"] or "", p.values["model"] or "") for p in planned if p.cost is None
    }
    for provider, model in sorted(unpriced):
        hint = ctx.catalog.resolve(provider, model, now).hint() if provider and model else None
        raise_unpriced_alert(tx, provider, model, now, hint)
    records = {
        p.index: events.usage_recorded(
            tx, row_to_usage(SimpleNamespace(**p.values)), p.targets, now
        )
        for p in planned
    }
    for p in with_allocation:
        (status, remaining), _, new = results[p.index]
        if p.item.release and status == AllocationStatus.ACTIVE.value:
            returned = remaining - min(remaining, p.tokens)
            closed_event(ctx, tx, p.held, new, returned, now)
    return records


def pruned_allocation(ctx: EngineContext, allocation_id: str) -> NotFound:
    """The error for an allocation this process remembers but ``budget prune``
    deleted since (another process may have pruned it)."""
    ctx.held.drop(allocation_id)
    return NotFound("allocation", "allocation_id", allocation_id)


def _state(ctx: EngineContext, state: tuple[str, int] | None, allocation_id: str):
    """(status, tokens_remaining) of the allocation before this write."""
    if state is None:
        raise pruned_allocation(ctx, allocation_id)
    return state


def _all_windows(planned: list[Planned]) -> list[int]:
    ids = {x.window_id for p in planned for x in p.targets}
    ids.update(w for p in planned if p.held for w in p.held.window_ids)
    return sorted(ids)


def _summed(planned: list[Planned]) -> dict[int, tuple[int, int, int]]:
    """Tokens, nano-USD and requests per window over the reports that draw on
    no allocation (each is one request; an allocation counted its own)."""
    out: dict[int, tuple[int, int, int]] = {}
    for p in planned:
        for x in p.targets:
            tokens, nanos, requests = out.get(x.window_id, (0, 0, 0))
            out[x.window_id] = (tokens + p.tokens, nanos + p.nanos, requests + 1)
    return out


def _alerts_alone(tx: Unit, planned, summed, after, now) -> None:
    targets = {x.window_id: x for p in planned for x in p.targets}
    for window_id, (tokens, nanos, _) in summed.items():
        check_thresholds(tx, targets[window_id], after[window_id], tokens, nanos, now)


def held_refs(ctx: EngineContext, held: Held) -> list[dict[str, Any]] | None:
    """How events name the windows an allocation holds (None if a policy is
    no longer cached: the event then reads the names from the database)."""
    refs = []
    for _, policy_id, key in held.windows:
        policy = ctx.policy(policy_id)
        if policy is None:
            return None
        refs.append(window_ref(policy, key))
    return refs


def closed_event(
    ctx: EngineContext, tx: Unit, held: Held, new, returned: int, now: datetime
) -> None:
    """The event of an allocation closed now (``new``: its row after) that gave
    back ``returned`` unused tokens."""
    closed = SimpleNamespace(**{**vars(new), "tokens_remaining": returned})
    status = AllocationStatus(new.status)
    refs = held_refs(ctx, held)
    events.allocation_closed(tx, closed, status, held.window_ids, now, windows=refs)
    ctx.held.drop(held.allocation_id)


def _attributes(
    ctx: EngineContext, item, held: Held | None
) -> tuple[RequestAttributes, str | None]:
    """The request's attributes: what the report says, else what its allocation said."""
    base: dict[str, Any] = {}
    if held is not None:
        base = {name: getattr(held.attributes, name) for name in _ATTRS}
    merged = {**base, **item.given}
    if not merged.get("provider") or not merged.get("model"):
        field = "provider" if not merged.get("provider") else "model"
        raise ValidationError(
            field, None, "required: neither the report nor its allocation names it"
        )
    context_id = item.context_id or (held.context_id if held is not None else None)
    merged.setdefault("session_id", context_id)
    merged.setdefault("task_id", context_id)
    if "tier" not in item.given or merged.get("tier") is None:
        merged["tier"] = resolve_tier(
            ctx.settings, merged.get("tier"), merged["provider"], merged["model"]
        )
    merged["tags"] = merged.get("tags") or frozenset()
    return RequestAttributes(**{k: merged.get(k) for k in _ATTRS}), context_id


def _row(item, attrs, context_id, cost, price, at: datetime, now: datetime) -> dict[str, Any]:
    usage = item.usage
    parts = {f"{name}_nanos": None for name in COST_PARTS}
    if cost is not None:
        parts = {f"{name}_nanos": getattr(cost, f"{name}_nanos") for name in COST_PARTS}
    priced_by = price if cost is not None else None  # the price the cost was computed with
    return dict(
        id=new_usage_id(),
        request_id=item.request_id,
        content_hash=item.content_hash,
        allocation_id=item.allocation_id,
        context_id=context_id,
        session_id=attrs.session_id,
        task_id=attrs.task_id,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        total_tokens=usage.total_tokens,
        priced=cost is not None,
        cost_nanos=cost.total_nanos if cost is not None else None,
        price_id=None if priced_by is None else priced_by.price_id,
        service_tier=item.service_tier,
        price_source=None if priced_by is None else priced_by.source,
        price_verification=None if priced_by is None else priced_by.verification,
        latency_ms=item.latency_ms,
        metadata=item.metadata,
        occurred_at=at,
        recorded_at=now,
        kind="usage",
        corrects_id=None,
        reason=None,
        **parts,
        **attributes_to_columns(attrs),
    )
