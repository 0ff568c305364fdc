"""request limits: policies.request_limit, windows.used_requests

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 02:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """A policy may limit requests per window (an allocation, or usage recorded
    without one), counted on the window next to its tokens and cost."""
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("request_limit", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("windows") as batch:
        batch.add_column(
            sa.Column("used_requests", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("windows") as batch:
        batch.drop_column("used_requests")
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("request_limit")
