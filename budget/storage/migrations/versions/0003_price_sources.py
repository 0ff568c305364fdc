"""price sources, refresh runs and change records

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "price_sources",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("lineage", sa.String(length=100), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("trust", sa.String(length=20), nullable=False),
        sa.Column("refresh_interval_seconds", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("network", sa.Boolean(), nullable=False),
        _when("last_run_at", True),
        _when("next_run_at", True),
        _when("last_success_at", True),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_version", sa.String(length=200), nullable=True),
        sa.Column("last_records", sa.Integer(), nullable=True),
        _when("updated_at", False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_price_sources")),
    )
    op.create_table(
        "price_updates",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _when("started_at", False),
        _when("finished_at", False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("conflicts", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Integer(), nullable=False),
        sa.Column("unverified", sa.Integer(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_updates")),
    )
    with op.batch_alter_table("price_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_price_updates_started_at"), ["started_at"], unique=False
        )
    op.create_table(
        "price_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("update_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("verification", sa.String(length=20), nullable=True),
        sa.Column("old_price_id", sa.BigInteger(), nullable=True),
        sa.Column("new_price_id", sa.BigInteger(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _when("created_at", False),
        sa.ForeignKeyConstraint(
            ["update_id"],
            ["price_updates.id"],
            name=op.f("fk_price_changes_update_id_price_updates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_changes")),
    )
    with op.batch_alter_table("price_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_price_changes_provider_model", ["provider", "model"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_price_changes_update_id"), ["update_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("price_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_changes_update_id"))
        batch_op.drop_index("ix_price_changes_provider_model")
    op.drop_table("price_changes")
    with op.batch_alter_table("price_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_updates_started_at"))
    op.drop_table("price_updates")
    op.drop_table("price_sources")
