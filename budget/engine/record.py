"""Record usage: append to the ledger, count on every matching window, draw
down the allocation it came from. Idempotent by request id."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from budget.clock import utcnow
from budget.domain import validation as v
from budget.domain.enums import Tier
from budget.domain.models import UsageRecord
from budget.domain.prices import TokenUsage
from budget.engine.context import EngineContext, StaleCache
from budget.engine.new_windows import ensure_windows
from budget.engine.pricing import token_usage, valid_service_tier
from budget.engine.queries import release
from budget.engine.record_write import AlreadyRecorded, plan, write
from budget.errors import BudgetError, IdempotencyConflict, StorageError, ValidationError


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
    #: Release the allocation in the same transaction (what it does not use returns).
    release: bool = False
    service_tier: str = "standard"


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
    release: Any = False,
    cache_write_1h_tokens: Any = 0,
    service_tier: Any = None,
) -> UsageInput:
    """Validate the arguments of ``record_usage``."""
    usage = token_usage(
        input_tokens,
        output_tokens,
        cached_input_tokens,
        cache_write_tokens,
        reasoning_tokens,
        cache_write_1h_tokens,
    )
    serving = valid_service_tier(service_tier)
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
    if not isinstance(release, bool):
        raise ValidationError("release", release, "must be true or false")
    if release and fields["allocation_id"] is None:
        raise ValidationError("release", release, "needs the allocation_id to release")
    # ``release`` is what to do with the allocation, not part of what was used:
    # it stays out of the content a repeated request id is compared by.
    content_hash = _hash(usage, given, fields, serving)
    return UsageInput(
        usage=usage,
        given=given,
        content_hash=content_hash,
        release=release,
        service_tier=serving,
        **fields,
    )


def _hash(usage: TokenUsage, given: dict[str, Any], fields: dict[str, Any], tier: str) -> str:
    content = {**given, **fields, **usage.__dict__}
    # Left out at their defaults, so a report repeated across the upgrade that
    # added them still hashes as it did.
    if not usage.cache_write_1h_tokens:
        del content["cache_write_1h_tokens"]
    if tier != "standard":
        content["service_tier"] = tier
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
    for _ in range(8):
        fresh = [(i, item) for i, item in enumerate(items) if item.request_id not in existing]
        if not fresh:
            break
        now = utcnow()
        expected = ctx.versions()
        planned = []
        seen: dict = {}
        for index, item in fresh:
            try:
                planned.append(plan(ctx, index, item, now, seen))
            except BudgetError as exc:
                raise _ItemError(index, exc) from None
        ensure_windows(ctx, [span for p in planned for span in p.spans], now)
        created: dict[tuple[str, str], int] = {}

        def work(tx, todo=planned, at=now, seen=expected, created=created):
            created.clear()
            return write(ctx, tx, todo, at, seen, created)

        try:
            written = ctx.db.run_write(work)
        except StaleCache:
            ctx.reload()
            continue
        except AlreadyRecorded:
            existing = _existing(ctx, items)  # raises on a reused id with other content
            continue
        ctx.window_ids.update(created)
        return [
            existing[item.request_id]  # type: ignore[index]
            if item.request_id in existing
            else written[index]
            for index, item in enumerate(items)
        ]
    else:
        raise StorageError("the ledger kept changing while recording; try again", retryable=True)
    _release_repeated(ctx, items)
    return [existing[item.request_id] for item in items]  # type: ignore[index]


def _release_repeated(ctx: EngineContext, items: list[UsageInput]) -> None:
    """A repeated report with ``release`` still releases its allocation (once)."""
    for item in items:
        if item.release and item.allocation_id:
            release(ctx, item.allocation_id)


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
    with ctx.db.read() as tx:
        found = tx.ledger.by_request_ids(ids)
    for index, item in enumerate(items):
        record, content_hash = found.get(item.request_id, (None, None))
        if record is not None and content_hash != item.content_hash:
            raise _ItemError(index, IdempotencyConflict(item.request_id or "", record.usage_id))
    return {rid: record for rid, (record, _) in found.items()}
