"""Corrections of the ledger: void a usage record, or adjust its cost or tokens.

The ledger is append-only: a correction is a row of its own (``kind`` void
or adjust) that points at the record it corrects (``corrects_id``) and
carries that record's attributes and ``occurred_at``, with the *change* as
its amounts (a void: minus what stands; an adjust: the new values minus what
stands, after earlier corrections). So it lands in the same windows and
rollup buckets as the original, and a window created later starts from the
corrected sum. The rules are in docs/corrections.md.

Like ``record_usage``, the windows are found (or created from the ledger)
before the transaction; the transaction then locks the original record (a
second correction of it waits), works out the change from what stands, and
writes the row, the window counters and the rollups together.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from budget.clock import utcnow
from budget.domain import validation as v
from budget.domain.limits import KEY_LENGTH
from budget.domain.models import UsageRecord
from budget.domain.money import parse_usd, usd_to_nanos
from budget.domain.prices import COST_PARTS
from budget.engine.alerts import check_thresholds
from budget.engine.context import EngineContext, StaleCache
from budget.engine.insight import rollups
from budget.engine.new_windows import ensure_windows
from budget.engine.pricing import token_usage
from budget.engine.windows import matching_spans, window_targets
from budget.errors import Conflict, IdempotencyConflict, NotFound, StorageError, ValidationError
from budget.events import emit as events
from budget.storage.mapping import row_to_attributes, row_to_usage
from budget.storage.unit import Unit

TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cache_write_1h_tokens",  # in token_usage's order
)
#: What a correction copies from the record it corrects.
_COPIED = (
    "allocation_id",
    "context_id",
    "session_id",
    "task_id",
    "component",
    "project",
    "user_id",
    "api_key",
    "provider",
    "model",
    "tier",
    "task_type",
    "tags",
    "priced",
    "price_id",
    "price_source",
    "price_verification",
    "service_tier",
    "occurred_at",
)
MAX_REASON = 1000


@dataclass(frozen=True)
class CorrectionInput:
    """One validated correction, before it meets the database."""

    usage_id: str
    kind: str  # "void" or "adjust"
    reason: str
    request_id: str | None
    #: adjust: the new cost in nano-USD (None: unchanged)
    cost_nanos: int | None = None
    #: adjust: the new token counts given (the others stay as they stand)
    tokens: dict[str, int] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        content = [
            self.usage_id,
            self.kind,
            self.reason,
            self.cost_nanos,
            sorted(self.tokens.items()),
        ]
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()


def build_void(*, usage_id: Any, reason: Any, request_id: Any = None) -> CorrectionInput:
    """Validate the arguments of ``void_usage``."""
    return CorrectionInput(
        usage_id=v.text("usage_id", usage_id, required=True, max_len=KEY_LENGTH) or "",
        kind="void",
        reason=v.text("reason", reason, required=True, max_len=MAX_REASON) or "",
        request_id=v.text("request_id", request_id, max_len=300),
    )


def build_adjust(
    *,
    usage_id: Any,
    reason: Any,
    cost: Any = None,
    request_id: Any = None,
    **tokens: Any,
) -> CorrectionInput:
    """Validate the arguments of ``adjust_usage``: the new cost and/or token
    counts (``input_tokens`` … ``reasoning_tokens``), what the record should say."""
    unknown = sorted(set(tokens) - set(TOKEN_FIELDS))
    if unknown:
        raise ValidationError(
            unknown[0], tokens[unknown[0]], "not adjustable; use cost or " + ", ".join(TOKEN_FIELDS)
        )
    counts = {name: v.tokens(name, value) for name, value in tokens.items() if value is not None}
    amount = parse_usd("cost", cost)
    if amount is None and not counts:
        raise ValidationError("cost", None, "give the new cost and/or token counts to adjust")
    return CorrectionInput(
        usage_id=v.text("usage_id", usage_id, required=True, max_len=KEY_LENGTH) or "",
        kind="adjust",
        reason=v.text("reason", reason, required=True, max_len=MAX_REASON) or "",
        request_id=v.text("request_id", request_id, max_len=300),
        cost_nanos=None if amount is None else usd_to_nanos(amount),
        tokens={k: c for k, c in counts.items() if c is not None},
    )


def correct(ctx: EngineContext, item: CorrectionInput) -> UsageRecord:
    """Append the correction (or return the one already made with its request id)."""
    original = _original(ctx, item)
    request_id = item.request_id or _default_request_id(ctx, item)
    found = _by_request_id(ctx, request_id, item)
    if found is not None:
        return found
    attrs = row_to_attributes(original)
    for _ in range(8):
        now = utcnow()
        expected = ctx.versions()
        spans = matching_spans(ctx, attrs, original.occurred_at)
        ensure_windows(ctx, spans, now)
        created: dict[tuple[str, str], int] = {}

        def work(tx: Unit, spans=spans, now=now, expected=expected, created=created):
            created.clear()
            return _write(ctx, tx, item, request_id, spans, now, expected, created)

        try:
            written = ctx.db.run_write(work)
        except StaleCache:
            ctx.reload()
            continue
        except _Taken:
            found = _by_request_id(ctx, request_id, item)
            if found is None:  # pragma: no cover - the id was taken, so it is found
                continue
            return found
        ctx.window_ids.update(created)
        return written
    raise StorageError("the policies kept changing while correcting; try again", retryable=True)


class _Taken(Exception):
    """The request id was recorded by a concurrent transaction: roll back, look it up."""


def _original(ctx: EngineContext, item: CorrectionInput):
    with ctx.db.read() as tx:
        row = tx.corrections.row(item.usage_id)
    if row is None:
        raise NotFound("usage record", "usage_id", item.usage_id)
    if (row.kind or "usage") != "usage":
        raise Conflict(
            "usage_id",
            item.usage_id,
            f"is a correction ({row.kind} of {row.corrects_id}), not usage; "
            f"correct {row.corrects_id} instead",
        )
    if item.kind == "adjust" and item.cost_nanos is not None and not row.priced:
        raise ValidationError(
            "cost",
            str(item.cost_nanos / 10**9),
            f"usage {item.usage_id} was recorded without a price and stays unpriced; "
            "void it and record it again once its model has a price",
        )
    return row


def _default_request_id(ctx: EngineContext, item: CorrectionInput) -> str:
    """A void of a record has one default id, so a repeated void is harmless; an
    adjust's names the corrections made before it and what it asks for."""
    if item.kind == "void":
        return f"void:{item.usage_id}"
    with ctx.db.read() as tx:
        before = tx.corrections.count_of(item.usage_id)
    return f"adjust:{item.usage_id}:{before}:{item.content_hash[:16]}"


def _by_request_id(ctx: EngineContext, request_id: str, item: CorrectionInput):
    """The record already stored under ``request_id``, if it is this correction."""
    with ctx.db.read() as tx:
        row = tx.corrections.by_request_id(request_id)
    if row is None:
        return None
    same = row.corrects_id == item.usage_id and row.kind == item.kind
    if item.request_id is None and same:  # a derived id: the same correction again
        return row_to_usage(row)
    if same and row.content_hash == item.content_hash:
        return row_to_usage(row)
    raise IdempotencyConflict(request_id, row.id)


_SUMS = (*TOKEN_FIELDS, "cost_nanos")


def _standing(tx: Unit, original) -> tuple[dict[str, int], str | None]:
    """What the record says after its corrections, and the id of its void if any
    (corrections of one record queue on it from here)."""
    added, void = tx.corrections.corrected_so_far(original.id, _SUMS)
    standing = {name: (getattr(original, name) or 0) + added[name] for name in _SUMS}
    return standing, void


def _change(item: CorrectionInput, standing: dict[str, int]) -> dict[str, int]:
    """The amounts of the correction row: what it adds to what stands (a
    correction has no cost breakdown by token kind, only its total)."""
    if item.kind == "void":
        return {name: -standing[name] for name in (*TOKEN_FIELDS, "cost_nanos")}
    new = {name: item.tokens.get(name, standing[name]) for name in TOKEN_FIELDS}
    token_usage(*(new[name] for name in TOKEN_FIELDS))  # the counts must still agree
    delta = {name: new[name] - standing[name] for name in TOKEN_FIELDS}
    cost = item.cost_nanos if item.cost_nanos is not None else standing["cost_nanos"]
    delta["cost_nanos"] = cost - standing["cost_nanos"]
    return delta


def _write(
    ctx: EngineContext,
    tx: Unit,
    item: CorrectionInput,
    request_id: str,
    spans,
    now: datetime,
    expected: tuple[int, int],
    created: dict[tuple[str, str], int],
) -> UsageRecord:
    original = tx.corrections.row(item.usage_id)
    if original is None:
        raise NotFound("usage record", "usage_id", item.usage_id)
    standing, void = _standing(tx, original)
    if void is not None:
        if item.kind == "void" and item.request_id is None:
            return row_to_usage(tx.corrections.row(void))
        raise Conflict(
            "usage_id", item.usage_id, f"was voided by {void}; nothing stands to correct"
        )
    change = _change(item, standing)
    if all(not change[name] for name in (*TOKEN_FIELDS, "cost_nanos")):
        raise Conflict(
            "usage_id", item.usage_id, "already stands at these values: nothing to adjust"
        )
    values = _row(original, item, tx.corrections.new_row_id(), request_id, change, now)
    targets = window_targets(ctx, tx, spans, now, created)
    tokens, nanos = values["total_tokens"], values["cost_nanos"] or 0
    requests = rollups.RECORDS_OF_KIND[item.kind]
    added = {x.window_id: (tokens, nanos, requests) for x in targets}
    appended = tx.corrections.append(
        values, added, alongside=lambda: rollups.apply_usages(tx, [values])
    )
    if not appended.inserted:
        raise _Taken()
    ctx.check_versions(appended.versions, expected)
    for target in targets:
        check_thresholds(tx, target, appended.counters[target.window_id], tokens, nanos, now)
    record = row_to_usage(SimpleNamespace(**values))
    events.usage_corrected(tx, record, targets, now)
    return record


def _row(
    original, item: CorrectionInput, row_id: str, request_id: str, change, now: datetime
) -> dict[str, Any]:
    """The correction's ledger row: the original's attributes and instant, the change."""
    priced = bool(original.priced)
    values: dict[str, Any] = {name: getattr(original, name) for name in _COPIED}
    values.update(
        id=row_id,
        request_id=request_id,
        content_hash=item.content_hash,
        latency_ms=None,
        metadata={},
        recorded_at=now,
        kind=item.kind,
        corrects_id=original.id,
        reason=item.reason,
        total_tokens=change["input_tokens"] + change["output_tokens"],
        cost_nanos=change["cost_nanos"] if priced else None,
        **{name: change[name] for name in TOKEN_FIELDS},
        **{f"{part}_nanos": None for part in COST_PARTS},
    )
    return values
