"""price model on the ledger: 1-hour cache writes, service tier, price trust

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """A ledger row says how many of its cache writes were 1-hour writes and
    what they cost, the service tier it was billed at, and the source and
    verification of the price it was costed with. Rows from before this
    revision read as 0 one-hour writes, tier ``standard`` and no price source."""
    with op.batch_alter_table("usage_records") as batch:
        batch.add_column(
            sa.Column("cache_write_1h_tokens", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("cache_write_1h_nanos", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column(
                "service_tier", sa.String(length=20), nullable=False, server_default="standard"
            )
        )
        batch.add_column(sa.Column("price_source", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("price_verification", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("usage_records") as batch:
        for column in (
            "price_verification",
            "price_source",
            "service_tier",
            "cache_write_1h_nanos",
            "cache_write_1h_tokens",
        ):
            batch.drop_column(column)
