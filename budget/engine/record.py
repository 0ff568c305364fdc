"""Record usage: append to the ledger, count on every matching window, draw
down the allocation it came from. Idempotent by request id."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from budget.domain import validation as v
from budget.domain.clock import utcnow
from budget.domain.enums import AllocationStatus, Tier
from budget.domain.models import RequestAttributes, UsageRecord
from budget.domain.prices import CostBreakdown, TokenUsage
from budget.engine.alerts import check_thresholds
from budget.engine.allocate import raise_unpriced_alert
from budget.engine.context import EngineContext
from budget.engine.expiry import allocation_window_ids, expire_if_due, locked_allocation
from budget.engine.insight.rollups import apply_usage
from budget.engine.pricing import cost_of, resolve_tier, token_usage
from budget.engine.windows import add_used, ensure_windows, matching_spans, return_reserved
from budget.errors import BudgetError, IdempotencyConflict, NotFound, ValidationError
from budget.events import emit as events
from budget.storage import tables as t
from budget.storage.mapping import attributes_to_columns, row_to_usage
from budget.storage.sql import insert_ignoring_conflicts, lock_rows, new_id

U = t.usage_records.c
_ATTRS = (
    "component",
    "project",
    "user",
    "api_key",
    "provider",
    "model",
    "tier",
    "task_type",
    "tags",
    "session_id",
    "task_id",
)


@dataclass(frozen=True)
class UsageInput:
    """One validated usage report, before it meets the database."""

    usage: TokenUsage
    given: dict[str, Any]
    allocation_id: str | None
    request_id: str | None
    context_id: str | None
    latency_ms: int | None
    metadata: dict[str, Any]
    occurred_at: datetime | None
    content_hash: str


class _AlreadyRecorded(Exception):
    pass


def build_usage(
    *,
    provider: Any = None,
    model: Any = None,
    input_tokens: Any = 0,
    output_tokens: Any = 0,
    cached_input_tokens: Any = 0,
    cache_write_tokens: Any = 0,
    reasoning_tokens: Any = 0,
    allocation_id: Any = None,
    request_id: Any = None,
    context_id: Any = None,
    component: Any = None,
    project: Any = None,
    user: Any = None,
    api_key: Any = None,
    tier: Any = None,
    task_type: Any = None,
    tags: Any = None,
    session_id: Any = None,
    task_id: Any = None,
    latency_ms: Any = None,
    metadata: Any = None,
    occurred_at: Any = None,
) -> UsageInput:
    """Validate the arguments of ``record_usage``."""
    usage = token_usage(
        input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens
    )
    given = {
        "provider": v.provider("provider", provider),
        "model": v.model("model", model),
        "component": v.text("component", component),
        "project": v.text("project", project),
        "user": v.text("user", user),
        "api_key": v.text("api_key", api_key),
        "tier": v.choice("tier", tier, Tier, required=False),
        "task_type": v.text("task_type", task_type, max_len=100),
        "tags": v.tag_set("tags", tags) if tags is not None else None,
        "session_id": v.text("session_id", session_id, max_len=300),
        "task_id": v.text("task_id", task_id, max_len=300),
    }
    given = {k: val for k, val in given.items() if val is not None}
    fields = {
        "allocation_id": v.text("allocation_id", allocation_id, max_len=40),
        "request_id": v.text("request_id", request_id, max_len=300),
        "context_id": v.text("context_id", context_id, max_len=300),
        "latency_ms": v.latency("latency_ms", latency_ms),
        "metadata": v.metadata("metadata", metadata),
        "occurred_at": v.instant("occurred_at", occurred_at),
    }
    if fields["allocation_id"] is None and ("provider" not in given or "model" not in given):
        missing = "provider" if "provider" not in given else "model"
        raise ValidationError(missing, None, "required when no allocation_id is given")
    return UsageInput(usage=usage, given=given, content_hash=_hash(usage, given, fields), **fields)


def _hash(usage: TokenUsage, given: dict[str, Any], fields: dict[str, Any]) -> str:
    content = {**given, **fields, **usage.__dict__}
    text = json.dumps(
        content, sort_keys=True, default=lambda o: sorted(o) if isinstance(o, frozenset) else str(o)
    )
    return hashlib.sha256(text.encode()).hexdigest()


def record_usage(ctx: EngineContext, item: UsageInput) -> UsageRecord:
    """Append one usage record (or return the first one with its request id)."""
    return record_batch(ctx, [item])[0]


def record_batch(
    ctx: EngineContext, items: list[UsageInput], *, batch: bool = False
) -> list[UsageRecord]:
    """Append many usage records in one transaction: all of them or none.

    Inserts first and looks for earlier records only when a request id is
    already taken, so the usual case costs no extra read. With ``batch``,
    an error names the item it concerns (``items[3].allocation_id``).
    """
    try:
        return _record_all(ctx, items)
    except _ItemError as failed:
        if batch:
            raise failed.error.for_item(failed.index) from None
        raise failed.error from None


class _ItemError(Exception):
    def __init__(self, index: int, error: BudgetError) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


def _record_all(ctx: EngineContext, items: list[UsageInput]) -> list[UsageRecord]:
    _refuse_repeated_ids(items)
    existing: dict[str, UsageRecord] = {}
    for attempt in range(4):
        fresh = [(i, item) for i, item in enumerate(items) if item.request_id not in existing]
        if not fresh:
            return [existing[item.request_id] for item in items]  # type: ignore[index]
        created: dict[tuple[str, str], int] = {}

        def work(conn: Connection, fresh=fresh, created=created) -> dict[int, UsageRecord]:
            created.clear()
            ctx.refresh(conn)
            now = utcnow()
            written = {}
            for index, item in fresh:
                try:
                    written[index] = _write_one(ctx, conn, item, now, created)
                except BudgetError as exc:
                    raise _ItemError(index, exc) from None
            return written

        try:
            written = ctx.db.run_write(work)
        except _AlreadyRecorded:
            if attempt == 3:
                raise
            existing = _existing(ctx, items)  # raises on a reused id with other content
            continue
        ctx.window_ids.update(created)
        return [
            existing[item.request_id]  # type: ignore[index]
            if item.request_id in existing
            else written[index]
            for index, item in enumerate(items)
        ]
    raise AssertionError("unreachable")


def _refuse_repeated_ids(items: list[UsageInput]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.request_id is None:
            continue
        if item.request_id in seen:
            error = ValidationError("request_id", item.request_id, "appears twice in one batch")
            raise _ItemError(index, error)
        seen.add(item.request_id)


def _existing(ctx: EngineContext, items: list[UsageInput]) -> dict[str, UsageRecord]:
    ids = [item.request_id for item in items if item.request_id]
    with ctx.db.read() as conn:
        rows = conn.execute(select(t.usage_records).where(U.request_id.in_(ids))).all()
    found = {row.request_id: row for row in rows}
    for index, item in enumerate(items):
        row = found.get(item.request_id)
        if row is not None and row.content_hash != item.content_hash:
            raise _ItemError(index, IdempotencyConflict(item.request_id or "", row.id))
    return {rid: row_to_usage(row) for rid, row in found.items()}


def _write_one(
    ctx: EngineContext,
    conn: Connection,
    item: UsageInput,
    now: datetime,
    created: dict[tuple[str, str], int],
) -> UsageRecord:
    allocation = None
    if item.allocation_id:
        allocation = locked_allocation(conn, item.allocation_id)
        if allocation is None:
            raise NotFound("allocation", "allocation_id", item.allocation_id)
        allocation = expire_if_due(conn, allocation, now)
    attrs, context_id = _attributes(ctx, item, allocation)
    at = item.occurred_at or now
    price = ctx.catalog.lookup(attrs.provider or "", attrs.model or "", at)
    cost = cost_of(price, item.usage, at)
    values = _insert(conn, item, attrs, context_id, cost, price, at, now)
    targets = ensure_windows(ctx, conn, matching_spans(ctx, attrs, at), now, created)
    alloc_windows = allocation_window_ids(conn, allocation.id) if allocation is not None else []
    lock_rows(conn, t.windows, sorted({x.window_id for x in targets} | set(alloc_windows)))
    nanos = cost.total_nanos if cost else 0
    tokens = item.usage.total_tokens
    after = add_used(conn, [x.window_id for x in targets], tokens, nanos)
    apply_usage(conn, values)  # rollups, after the windows: every writer locks windows first
    for target in targets:
        check_thresholds(conn, target, after[target.window_id], tokens, nanos, now)
    if allocation is not None:
        _draw_down(conn, allocation, alloc_windows, tokens, nanos)
    if cost is None:
        raise_unpriced_alert(conn, attrs.provider or "", attrs.model or "", now)
    return events.usage_recorded(conn, row_to_usage(SimpleNamespace(**values)), targets, now)


def _attributes(
    ctx: EngineContext, item: UsageInput, allocation
) -> tuple[RequestAttributes, str | None]:
    """The request's attributes: what the report says, else what its allocation said."""
    base: dict[str, Any] = {}
    if allocation is not None:
        base = {
            "component": allocation.component,
            "project": allocation.project,
            "user": allocation.user_id,
            "api_key": allocation.api_key,
            "provider": allocation.provider,
            "model": allocation.model,
            "tier": Tier(allocation.tier) if allocation.tier else None,
            "task_type": allocation.task_type,
            "tags": frozenset(allocation.tags or ()),
            "session_id": allocation.session_id,
            "task_id": allocation.task_id,
        }
    merged = {**base, **item.given}
    if not merged.get("provider") or not merged.get("model"):
        field = "provider" if not merged.get("provider") else "model"
        raise ValidationError(
            field, None, "required: neither the report nor its allocation names it"
        )
    context_id = item.context_id or (allocation.context_id if allocation is not None else None)
    merged.setdefault("session_id", context_id)
    merged.setdefault("task_id", context_id)
    if "tier" not in item.given or merged.get("tier") is None:
        merged["tier"] = resolve_tier(
            ctx.settings, merged.get("tier"), merged["provider"], merged["model"]
        )
    merged["tags"] = merged.get("tags") or frozenset()
    return RequestAttributes(**{k: merged.get(k) for k in _ATTRS}), context_id


def _insert(
    conn: Connection,
    item: UsageInput,
    attrs: RequestAttributes,
    context_id: str | None,
    cost: CostBreakdown | None,
    price,
    at: datetime,
    now: datetime,
) -> dict[str, Any]:
    usage = item.usage
    parts = {
        f"{name}_nanos": None
        for name in ("input", "cached_input", "cache_write", "output", "reasoning", "request")
    }
    if cost is not None:
        parts = {
            "input_nanos": cost.input_nanos,
            "cached_input_nanos": cost.cached_input_nanos,
            "cache_write_nanos": cost.cache_write_nanos,
            "output_nanos": cost.output_nanos,
            "reasoning_nanos": cost.reasoning_nanos,
            "request_nanos": cost.request_nanos,
        }
    values = dict(
        id=new_id("use"),
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
        reasoning_tokens=usage.reasoning_tokens,
        total_tokens=usage.total_tokens,
        priced=cost is not None,
        cost_nanos=cost.total_nanos if cost is not None else None,
        price_id=price.price_id if (cost is not None and price is not None) else None,
        latency_ms=item.latency_ms,
        metadata=item.metadata,
        occurred_at=at,
        recorded_at=now,
        **parts,
        **attributes_to_columns(attrs),
    )
    if conn.execute(_insert_stmt(conn), values).first() is None:
        raise _AlreadyRecorded(item.request_id)
    return values


_INSERTS: dict[str, Any] = {}


def _insert_stmt(conn: Connection):
    """INSERT … ON CONFLICT (request_id) DO NOTHING RETURNING id, built once per dialect."""
    stmt = _INSERTS.get(conn.dialect.name)
    if stmt is None:
        stmt = insert_ignoring_conflicts(
            conn, t.usage_records, index_elements=["request_id"]
        ).returning(U.id)
        _INSERTS[conn.dialect.name] = stmt
    return stmt


_A = t.allocations.c
_DRAW = (
    update(t.allocations)
    .where(_A.id == bindparam("aid"))
    .values(
        tokens_used=_A.tokens_used + bindparam("tokens"),
        nanos_used=_A.nanos_used + bindparam("nanos"),
        tokens_remaining=_A.tokens_remaining - bindparam("draw_tokens"),
        nanos_remaining=_A.nanos_remaining - bindparam("draw_nanos"),
    )
)


def _draw_down(
    conn: Connection, allocation, window_ids: list[int], tokens: int, nanos: int
) -> None:
    """Usage moves what it used from reserved to used; the reservation shrinks.

    A closed allocation only counts what was used: its reservation is gone.
    """
    draw_tokens = draw_nanos = 0
    if allocation.status == AllocationStatus.ACTIVE.value:
        draw_tokens = min(allocation.tokens_remaining, tokens)
        draw_nanos = min(allocation.nanos_remaining, nanos)
        return_reserved(conn, window_ids, draw_tokens, draw_nanos)
    conn.execute(
        _DRAW,
        {
            "aid": allocation.id,
            "tokens": tokens,
            "nanos": nanos,
            "draw_tokens": draw_tokens,
            "draw_nanos": draw_nanos,
        },
    )
