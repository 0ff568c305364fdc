"""Repository of the price history: rows in effect, end-dating, new rows,
overrides, refresh runs, change records and the state of each price source.

Every function takes the caller's connection, so a whole refresh (or an
override) is one transaction; :func:`lock_prices` serialises writers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, or_, select, update

from budget.domain.prices import Price
from budget.pricing.normalize import model_key
from budget.pricing.platforms import normalize_platform
from budget.pricing.refresh import Fetched, Insert, Plan, SourceSpec, Stored
from budget.pricing.refresh_report import (
    PriceChange,
    PriceSourceStatus,
    SourceReport,
    UpdateReport,
    describe_rate,
)
from budget.pricing.sanity import KINDS
from budget.pricing.serialize import price_from_dict, price_to_dict
from budget.storage import prices as price_table
from budget.storage import tables as t
from budget.storage.sql import insert_ignoring_conflicts, new_id
from budget.storage.tables_prices import price_changes, price_sources, price_updates

LOCK_KEY = "prices_version"
MANUAL = "manual"
OVERRIDE = "override"
_EPOCH = datetime.min.replace(tzinfo=UTC)


def lock_prices(conn: Connection) -> None:
    """Take the price writers' lock for this transaction (PostgreSQL: a row lock
    on the prices version counter; SQLite's write transaction holds the whole
    database already)."""
    conn.execute(insert_ignoring_conflicts(conn, t.meta).values(key=LOCK_KEY, value=0))
    if conn.dialect.name == "postgresql":
        conn.execute(select(t.meta.c.value).where(t.meta.c.key == LOCK_KEY).with_for_update())


def row_to_price(row: Row) -> Price:
    """A price row as a Price (columns win over the JSON copy)."""
    price = price_from_dict(row.rates)
    return dataclasses.replace(
        price,
        price_id=row.id,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        verification=row.verification,
        is_override=row.is_override,
    )


def _in_effect(at: datetime):
    col = t.prices.c
    return and_(
        or_(col.effective_from.is_(None), col.effective_from <= at),
        or_(col.effective_to.is_(None), col.effective_to > at),
    )


def stored_in_effect(conn: Connection, at: datetime) -> dict[tuple[str, str], Stored]:
    """Non-override rows in effect at ``at``, by (provider, model key); the first
    in catalog order wins when two rows share a key."""
    rows = conn.execute(
        select(t.prices)
        .where(t.prices.c.is_override.is_(False), _in_effect(at))
        .order_by(t.prices.c.position, t.prices.c.id)
    ).all()
    out: dict[tuple[str, str], Stored] = {}
    for row in rows:
        key = (normalize_platform(row.provider), model_key(row.model))
        out.setdefault(key, Stored(row_to_price(row), row.position))
    return out


def end_date(conn: Connection, price_ids: Iterable[int], at: datetime) -> None:
    """Close rows at ``at`` (their history stays)."""
    ids = list(price_ids)
    if ids:
        conn.execute(update(t.prices).where(t.prices.c.id.in_(ids)).values(effective_to=at))


def set_statuses(conn: Connection, statuses: dict[int, str]) -> None:
    """Change the verification status of rows (their rates stay as they are)."""
    for price_id, status in statuses.items():
        conn.execute(update(t.prices).where(t.prices.c.id == price_id).values(verification=status))


def rewrite_rows(conn: Connection, rows: dict[int, Price]) -> None:
    """Store kept rows' new JSON copy (their ``extra``); rates and dates stay."""
    for price_id, price in rows.items():
        conn.execute(
            update(t.prices).where(t.prices.c.id == price_id).values(rates=price_to_dict(price))
        )


def insert_rows(conn: Connection, inserts: list[Insert], now: datetime) -> list[int]:
    """Insert rows; those without a position go after every other row. Returns
    the new ids, in order."""
    if not inserts:
        return []
    top = conn.execute(select(func.max(t.prices.c.position))).scalar() or 0
    rows = []
    for item in inserts:
        if item.position is None:
            top += 1
        position = top if item.position is None else item.position
        rows.append(price_table.price_row(item.price, position, now))
    stmt = insert(t.prices).returning(t.prices.c.id, sort_by_parameter_order=True)
    return list(conn.execute(stmt, rows).scalars())


def apply_plan(conn: Connection, plan: Plan, now: datetime) -> list[PriceChange]:
    """Write a refresh plan: end-date, insert, change statuses. Returns the
    plan's changes with the ids of the rows they inserted."""
    end_date(conn, plan.end_dated, now)
    ids = insert_rows(conn, plan.inserts, now)
    set_statuses(conn, plan.statuses)
    rewrite_rows(conn, plan.rewrites)
    changes = list(plan.changes)
    for item, price_id in zip(plan.inserts, ids, strict=True):
        if item.change is not None:
            changes[item.change] = dataclasses.replace(changes[item.change], new_price_id=price_id)
    return changes


def model_rows(conn: Connection, provider: str, models: Iterable[str]) -> list[Price]:
    """Every row (history and overrides) of a model, oldest first."""
    ids = sorted({m.lower() for m in models})
    rows = conn.execute(
        select(t.prices).where(
            func.lower(t.prices.c.provider) == provider.lower(),
            func.lower(t.prices.c.model).in_(ids),
        )
    ).all()
    return sorted(
        (row_to_price(r) for r in rows),
        key=lambda p: (p.effective_from or _EPOCH, p.price_id or 0),
    )


def active_override(conn: Connection, provider: str, model: str, at: datetime) -> Row | None:
    """The override row of a model in effect at ``at``, if any."""
    return conn.execute(
        select(t.prices)
        .where(
            t.prices.c.is_override.is_(True),
            func.lower(t.prices.c.provider) == provider.lower(),
            func.lower(t.prices.c.model) == model.lower(),
            _in_effect(at),
        )
        .order_by(t.prices.c.id.desc())
    ).first()


def record_update(conn: Connection, report: UpdateReport) -> None:
    """Store a run (or override) record and its change records."""
    conn.execute(
        insert(price_updates).values(
            id=report.update_id,
            trigger=report.trigger,
            status=report.status,
            started_at=report.started_at,
            finished_at=report.finished_at,
            added=report.added,
            changed=report.changed,
            unchanged=report.unchanged,
            conflicts=report.conflicts,
            verified=report.verified,
            unverified=report.unverified,
            sources=[s.to_dict() for s in report.sources],
        )
    )
    rows = [_change_row(report.update_id, c, report.finished_at) for c in report.changes]
    if rows:
        conn.execute(insert(price_changes), rows)


def record_override(
    conn: Connection,
    price: Price,
    action: str,
    old_id: int | None,
    new_id: int | None,
    now: datetime,
) -> None:
    """An update record (trigger ``override``) for setting or clearing an override."""
    kinds = {k: {"new": describe_rate(getattr(price.rates, k))} for k in KINDS}
    change = PriceChange(
        provider=price.provider,
        model=price.model,
        action=action,
        verification=OVERRIDE,
        sources=(MANUAL,),
        kinds={k: v for k, v in kinds.items() if v["new"] is not None and new_id is not None},
        old_price_id=old_id,
        new_price_id=new_id,
    )
    report = UpdateReport(
        update_id=new_update_id(),
        trigger=OVERRIDE,
        started_at=now,
        finished_at=now,
        status="ok",
        changed=1,
        changes=(change,),
    )
    record_update(conn, report)


def new_update_id() -> str:
    """A fresh id for a run record."""
    return new_id("pru")


def save_run_state(conn: Connection, item: Fetched, now: datetime) -> None:
    """Record how a source did in a run (its error too); next run: one interval on."""
    state: dict[str, Any] = {
        "last_run_at": now,
        "next_run_at": now + timedelta(seconds=item.spec.refresh_interval_seconds),
        "last_status": item.status,
        "last_error": item.error,
    }
    if item.result is not None:
        state.update(
            last_success_at=now,
            last_version=(item.result.version or "")[:200] or None,
            last_records=len(item.result.records),
        )
    save_source(conn, item.spec, now, **state)


def _change_row(update_id: str, change: PriceChange, at: datetime) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "provider": change.provider,
        "model": change.model,
        "action": change.action,
        "verification": change.verification,
        "old_price_id": change.old_price_id,
        "new_price_id": change.new_price_id,
        "sources": list(change.sources),
        "details": {"kinds": change.kinds, "cause": change.cause, "evidence": change.evidence},
        "created_at": at,
    }


def row_to_change(row: Row) -> PriceChange:
    details = row.details or {}
    return PriceChange(
        provider=row.provider,
        model=row.model,
        action=row.action,
        verification=row.verification,
        sources=tuple(row.sources or ()),
        kinds=details.get("kinds") or {},
        cause=details.get("cause"),
        old_price_id=row.old_price_id,
        new_price_id=row.new_price_id,
        evidence=details.get("evidence") or {},
    )


def list_updates(
    conn: Connection, *, limit: int, offset: int, with_changes: bool = False
) -> list[UpdateReport]:
    """Run records, newest first (changes only when asked: they can be many)."""
    rows = conn.execute(
        select(price_updates)
        .order_by(price_updates.c.started_at.desc(), price_updates.c.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [_to_report(conn, row, with_changes) for row in rows]


def get_update(conn: Connection, update_id: str) -> UpdateReport | None:
    """One run record with its changes."""
    row = conn.execute(select(price_updates).where(price_updates.c.id == update_id)).first()
    return None if row is None else _to_report(conn, row, True)


def _to_report(conn: Connection, row: Row, with_changes: bool) -> UpdateReport:
    changes: tuple[PriceChange, ...] = ()
    if with_changes:
        found = conn.execute(
            select(price_changes)
            .where(price_changes.c.update_id == row.id)
            .order_by(price_changes.c.id)
        ).all()
        changes = tuple(row_to_change(r) for r in found)
    return UpdateReport(
        update_id=row.id,
        trigger=row.trigger,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        sources=tuple(SourceReport(**s) for s in row.sources or ()),
        added=row.added,
        changed=row.changed,
        unchanged=row.unchanged,
        conflicts=row.conflicts,
        verified=row.verified,
        unverified=row.unverified,
        changes=changes,
    )


def latest_conflicts(conn: Connection) -> list[tuple[Row, PriceChange]]:
    """The newest conflict record of each model, with the run it came from."""
    newest = (
        select(
            price_changes.c.provider,
            price_changes.c.model,
            func.max(price_changes.c.id).label("id"),
        )
        .where(price_changes.c.action == "conflict")
        .group_by(price_changes.c.provider, price_changes.c.model)
        .subquery()
    )
    rows = conn.execute(
        select(price_changes, price_updates.c.started_at)
        .join(newest, newest.c.id == price_changes.c.id)
        .join(price_updates, price_updates.c.id == price_changes.c.update_id)
        .order_by(price_changes.c.provider, price_changes.c.model)
    ).all()
    return [(row, row_to_change(row)) for row in rows]


def source_states(conn: Connection) -> dict[str, Row]:
    """The stored state of every source that has run or been listed."""
    return {row.name: row for row in conn.execute(select(price_sources)).all()}


def source_status(spec: SourceSpec, row: Row | None) -> PriceSourceStatus:
    """A source as configured now, with its stored run state (if it ever ran)."""
    names = ("last_run_at", "next_run_at", "last_success_at", "last_status", "last_error")
    names += ("last_version", "last_records")
    state = {name: getattr(row, name) for name in names} if row is not None else {}
    return PriceSourceStatus(
        name=spec.name,
        kind=spec.kind,
        lineage=spec.lineage,
        trust=spec.trust,
        refresh_interval_seconds=spec.refresh_interval_seconds,
        active=spec.active,
        network=spec.network,
        url=spec.url,
        **state,
    )


def save_source(conn: Connection, spec: SourceSpec, now: datetime, **state: Any) -> None:
    """Write a source's configuration (as now configured) and any state given
    (``last_run_at``, ``next_run_at``, ``last_status``, ``last_error`` ...)."""
    config = {
        "kind": spec.kind,
        "lineage": spec.lineage,
        "url": spec.url,
        "trust": str(spec.trust),
        "refresh_interval_seconds": spec.refresh_interval_seconds,
        "active": spec.active,
        "network": spec.network,
        "updated_at": now,
    }
    conn.execute(insert_ignoring_conflicts(conn, price_sources).values(name=spec.name, **config))
    conn.execute(
        update(price_sources).where(price_sources.c.name == spec.name).values(**config, **state)
    )


def claim_due(conn: Connection, spec: SourceSpec, now: datetime, next_run: datetime) -> bool:
    """Move a due source's next run to ``next_run``; True if this caller moved it
    (so among processes sharing the database, one runs each due source)."""
    save_source(conn, spec, now)
    col = price_sources.c
    moved = conn.execute(
        update(price_sources)
        .where(col.name == spec.name, or_(col.next_run_at.is_(None), col.next_run_at <= now))
        .values(next_run_at=next_run)
    )
    return moved.rowcount == 1
