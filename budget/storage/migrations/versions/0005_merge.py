"""join the events and insight branches

Revision ID: 0005
Revises: 0004_events, 0004_insight
Create Date: 2026-11-29 06:50:00
"""

from __future__ import annotations

revision = "0005"
down_revision = ("0004_events", "0004_insight")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: this revision only joins two branches into one head."""


def downgrade() -> None:
    """Nothing to change: downgrading splits the head back into its branches."""
