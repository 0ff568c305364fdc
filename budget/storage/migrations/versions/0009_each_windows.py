"""a window per attribute value: policies.each, windows.subject

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """A policy may keep a window per distinct value of some request attributes
    (``each``); such a window records the values it counts (``subject``)."""
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("each", sa.JSON(), nullable=True))
    with op.batch_alter_table("windows") as batch:
        batch.add_column(sa.Column("subject", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("windows") as batch:
        batch.drop_column("subject")
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("each")
