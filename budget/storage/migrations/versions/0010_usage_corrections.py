"""ledger corrections: usage_records.kind, corrects_id, reason; usage_rollups.correction

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """A ledger row is usage, or a correction (``void`` / ``adjust``) of an
    earlier row (``corrects_id``) with its ``reason``; rollup rows keep the
    corrections apart (``correction``) so that reports can show or hide them."""
    with op.batch_alter_table("usage_records") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=10), nullable=False, server_default="usage")
        )
        batch.add_column(sa.Column("corrects_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.create_index("ix_usage_records_corrects_id", ["corrects_id"])
    with op.batch_alter_table("usage_rollups") as batch:
        batch.add_column(
            sa.Column("correction", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_rollups") as batch:
        batch.drop_column("correction")
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_index("ix_usage_records_corrects_id")
        batch.drop_column("reason")
        batch.drop_column("corrects_id")
        batch.drop_column("kind")
