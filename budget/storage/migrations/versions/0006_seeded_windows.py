"""windows start from the ledger: policies.count_existing, windows.superseded_at

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """A policy says whether its first window counts spend already made; a
    window a policy change replaced is kept (live reservations still point at
    it) but marked, and gives its key to the window that replaces it."""
    with op.batch_alter_table("policies") as batch:
        batch.add_column(
            sa.Column("count_existing", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("windows") as batch:
        batch.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))
    # a new per-session or per-task window sums that session's or task's rows
    op.create_index("ix_usage_records_session_id", "usage_records", ["session_id"])
    op.create_index("ix_usage_records_task_id", "usage_records", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_usage_records_task_id", table_name="usage_records")
    op.drop_index("ix_usage_records_session_id", table_name="usage_records")
    with op.batch_alter_table("windows") as batch:
        batch.drop_column("superseded_at")
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("count_existing")
