"""webhooks: kind (generic / slack), the previous secret during a rotation's overlap

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """``kind`` says what a delivery's body is (the event, or a Slack message);
    a rotated secret stays in ``previous_secret`` until ``previous_secret_expires_at``,
    and deliveries are signed with both meanwhile. Existing webhooks keep their
    secret (docs/events.md: how it signs under the Standard Webhooks scheme)."""
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="generic")
        )
        batch.add_column(sa.Column("previous_secret", sa.String(length=100), nullable=True))
        batch.add_column(
            sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("previous_secret_expires_at")
        batch.drop_column("previous_secret")
        batch.drop_column("kind")
