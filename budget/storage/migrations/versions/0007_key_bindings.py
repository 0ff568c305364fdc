"""API keys bound to scope attributes and budgets

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """A client key may be bound to a user, a project and a component (the
    server fills them in and refuses others) and to the budgets it may see."""
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("bound_user", sa.String(200), nullable=True))
        batch.add_column(sa.Column("bound_project", sa.String(200), nullable=True))
        batch.add_column(sa.Column("bound_component", sa.String(200), nullable=True))
        batch.add_column(sa.Column("budget_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("budget_ids")
        batch.drop_column("bound_component")
        batch.drop_column("bound_project")
        batch.drop_column("bound_user")
