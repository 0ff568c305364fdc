"""denial counters: policy_denials

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Every refusal of an allocation counts against its policy and limit kind,
    so that the metrics endpoint serves one denial counter for all replicas.
    Refusals from before this revision were not counted: the counters start at 0."""
    op.create_table(
        "policy_denials",
        sa.Column("policy_id", sa.String(length=40), nullable=False),
        sa.Column("limit_kind", sa.String(length=20), nullable=False),
        sa.Column("budget_id", sa.String(length=40), nullable=False),
        sa.Column("denials", sa.BigInteger(), nullable=False),
        sa.Column("last_denied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "limit_kind", name=op.f("pk_policy_denials")),
    )


def downgrade() -> None:
    op.drop_table("policy_denials")
