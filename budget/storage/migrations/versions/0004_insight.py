"""usage rollups for reports and forecasts, filled from the existing ledger

Revision ID: 0004_insight
Revises: 0003
Create Date: 2026-11-29 12:00:00
"""

from __future__ import annotations

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
    _fill_from_ledger()


def _fill_from_ledger() -> None:
    """A database that already has usage gets its rollups now (empty ones: nothing to do)."""
    from budget.engine.insight.rollups import rebuild_in_migration

    rebuild_in_migration(op.get_bind())


def downgrade() -> None:
    op.drop_table("usage_rollups")
