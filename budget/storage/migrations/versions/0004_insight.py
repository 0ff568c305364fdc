"""usage rollups for reports and forecasts, filled from the existing ledger

Revision ID: 0004_insight
Revises: 0003
Create Date: 2026-11-29 12:00:00

The rollups of a database that already has usage are filled here, one UTC
day at a time: SQL sums the ledger per hour, dimensions, tag set and priced
flag, and each sum is spread over the cubes and both grains as the write path
of this revision did. Everything it needs is written out below, frozen as of
this revision (the ledger has no corrections yet, the rollups no
``correction`` column), so later changes to the application never change
what this migration does.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0004_insight"
down_revision = "0003"
branch_labels = None
depends_on = None

_COUNTERS = (
    "records",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_nanos",
)
#: Report dimension -> ledger and rollup column, in the order of the ``full`` cube.
_COLUMNS = {
    "provider": "provider",
    "model": "model",
    "tier": "tier",
    "component": "component",
    "project": "project",
    "user": "user_id",
    "api_key": "api_key",
    "task_type": "task_type",
}
_CUBES = {
    "model": ("provider", "model", "tier"),
    "user": ("user",),
    "work": ("component", "project", "task_type", "api_key"),
    "tag": ("tag",),
    "full": (*_COLUMNS, "tags"),
}
_SPANS = (1, 24)
_DIM_COLUMNS = (*_COLUMNS.values(), "tag", "tags")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = timedelta(days=1)
_CHUNK = 5000
_PRUNED_KEY = "ledger_pruned_before"


def upgrade() -> None:
    op.create_table(
        "usage_rollups",
        sa.Column("cube", sa.String(length=16), nullable=False),
        sa.Column("span_hours", sa.SmallInteger(), nullable=False),
        sa.Column("start_hour", sa.BigInteger(), nullable=False),
        sa.Column("priced", sa.Boolean(), nullable=False),
        sa.Column("dims_key", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("tier", sa.String(length=40), nullable=False),
        sa.Column("component", sa.String(length=200), nullable=False),
        sa.Column("project", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("api_key", sa.String(length=200), nullable=False),
        sa.Column("task_type", sa.String(length=100), nullable=False),
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _COUNTERS),
        sa.PrimaryKeyConstraint(
            "cube",
            "span_hours",
            "start_hour",
            "priced",
            "dims_key",
            name=op.f("pk_usage_rollups"),
        ),
        sqlite_with_rowid=False,
    )
    _fill_from_ledger(op.get_bind())


def downgrade() -> None:
    op.drop_table("usage_rollups")


# -- the ledger and the rollups as of this revision --

_ledger = sa.table(
    "usage_records",
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("priced", sa.Boolean()),
    sa.column("cost_nanos", sa.BigInteger()),
    sa.column("tags", sa.JSON()),
    *(sa.column(name, sa.String()) for name in _COLUMNS.values()),
    *(sa.column(name, sa.BigInteger()) for name in _COUNTERS[1:-1]),
)
_meta = sa.table("meta", sa.column("key", sa.String()), sa.column("value", sa.BigInteger()))
_rollups = sa.table(
    "usage_rollups",
    sa.column("cube", sa.String()),
    sa.column("span_hours", sa.SmallInteger()),
    sa.column("start_hour", sa.BigInteger()),
    sa.column("priced", sa.Boolean()),
    sa.column("dims_key", sa.String()),
    *(sa.column(name, sa.Text()) for name in _DIM_COLUMNS),
    *(sa.column(name, sa.BigInteger()) for name in _COUNTERS),
)


def _fill_from_ledger(conn: sa.Connection) -> None:
    """A database that already has usage gets its rollups now (empty ones: nothing to do)."""
    for day in _usage_days(conn):
        rows = _day_rows(conn, day)
        for i in range(0, len(rows), _CHUNK):
            conn.execute(_rollups.insert(), rows[i : i + _CHUNK])


def _usage_days(conn: sa.Connection) -> list[int]:
    """Start hours of the UTC days with ledger records (never one whose ledger was pruned)."""
    u = _ledger.c
    days = []
    cursor: datetime | None = None
    while True:
        query = sa.select(sa.func.min(u.occurred_at))
        if cursor is not None:
            query = query.where(u.occurred_at >= _bound(conn, cursor))
        first = conn.execute(query).scalar()
        if first is None:
            break
        day = _epoch_hour(_aware(first)) // 24 * 24
        days.append(day)
        cursor = _EPOCH + timedelta(hours=day) + _DAY
    mark = conn.execute(sa.select(_meta.c.value).where(_meta.c.key == _PRUNED_KEY)).scalar()
    return [d for d in days if mark is None or d >= int(mark)]


def _day_rows(conn: sa.Connection, day: int) -> list[dict]:
    """Every rollup row of the UTC day starting at hour ``day``, in key order."""
    u = _ledger.c
    start = _EPOCH + timedelta(hours=day)
    hour = _hour_sql(conn, u.occurred_at)
    dims = [u[c] for c in _COLUMNS.values()]
    tags = sa.cast(u.tags, sa.Text)
    cost = sa.func.sum(sa.case((u.priced.is_(True), sa.func.coalesce(u.cost_nanos, 0)), else_=0))
    stmt = (
        sa.select(
            hour,
            *dims,
            tags,
            u.priced,
            sa.func.count(),
            *(sa.func.sum(u[c]) for c in _COUNTERS[1:-1]),
            cost,
        )
        .where(
            u.occurred_at >= _bound(conn, start),
            u.occurred_at < _bound(conn, start + _DAY),
        )
        .group_by(hour, *dims, tags, u.priced)
    )
    summed: dict[tuple, dict] = {}
    width = len(_COLUMNS)
    for row in conn.execute(stmt):
        values = tuple(row)
        dim_values = {name: values[1 + i] or "" for i, name in enumerate(_COLUMNS)}
        raw = values[1 + width]
        record_tags = sorted(json.loads(raw)) if raw else []
        priced = bool(values[2 + width])
        counters = tuple(int(x or 0) for x in values[3 + width :])
        _add(summed, dim_values, record_tags, priced, int(values[0]), counters)
    return [summed[key] for key in sorted(summed)]


def _add(
    summed: dict[tuple, dict],
    dims: dict[str, str],
    tags: list[str],
    priced: bool,
    hour: int,
    counters: tuple[int, ...],
) -> None:
    """Add records with these dimensions in this hour to each of their cube rows."""
    for span in _SPANS:
        start = hour - hour % span
        for template in _cube_rows(dims, tags):
            key = (template["cube"], span, start, priced, template["dims_key"])
            row = summed.get(key)
            if row is None:
                row = summed[key] = {
                    **template,
                    **dict.fromkeys(_COUNTERS, 0),
                    "span_hours": span,
                    "start_hour": start,
                    "priced": priced,
                }
            for name, value in zip(_COUNTERS, counters, strict=True):
                row[name] += value


def _cube_rows(dims: dict[str, str], tags: list[str]) -> list[dict]:
    """The dimension part of every cube row a record with these values adds to."""
    blank = dict.fromkeys(_DIM_COLUMNS, "")
    out = []
    for cube, names in _CUBES.items():
        if cube == "tag":
            for tag in tags or [""]:
                out.append({**blank, "cube": cube, "tag": tag, "dims_key": _digest((tag,))})
            continue
        row = dict(blank)
        values = []
        for name in names:
            value = _tags_text(tags) if name == "tags" else dims[name]
            row["tags" if name == "tags" else _COLUMNS[name]] = value
            values.append(value)
        row["cube"] = cube
        row["dims_key"] = _digest(values)
        out.append(row)
    return out


def _digest(parts) -> str:
    text = "\x1f".join(parts)
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _tags_text(tags: list[str]) -> str:
    return json.dumps(sorted(tags), ensure_ascii=False, separators=(",", ":"))


def _epoch_hour(at: datetime) -> int:
    return int((at - _EPOCH).total_seconds() // 3600)


def _is_sqlite(conn: sa.Connection) -> bool:
    return conn.dialect.name == "sqlite"


def _bound(conn: sa.Connection, at: datetime) -> datetime:
    """An aware UTC instant as the ledger stores it (naive UTC on SQLite)."""
    return at.replace(tzinfo=None) if _is_sqlite(conn) else at


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _hour_sql(conn: sa.Connection, occurred_at):
    """Hours since the epoch of ``occurred_at``, floored, in SQL."""
    if not _is_sqlite(conn):
        return sa.cast(sa.func.floor(sa.func.extract("epoch", occurred_at) / 3600), sa.BigInteger)
    seconds = sa.cast(sa.func.strftime("%s", occurred_at), sa.BigInteger)
    return sa.case((seconds >= 0, seconds // 3600), else_=(seconds - 3599) // 3600)
