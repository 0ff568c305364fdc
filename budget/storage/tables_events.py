"""Tables of the event outbox and webhooks (defined with the events capability).

``events`` is the durable outbox: a row is written in the same transaction as
the change it reports. ``seq`` is the event's position in commit order, gap
free, which SSE clients resume from and webhooks fan out by. SQLite assigns it
on insert (writers are serialized); on PostgreSQL a sequencer assigns it to
committed rows, in order, under an advisory lock (see ``budget.events.outbox``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from budget.storage.tables import Base, BigId, ReadableJSON


class EventRow(Base):
    """One event in the outbox."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: Random (uuid4), so unique without an index, which would cost every insert a write.
    event_id: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    type: Mapped[str] = mapped_column(String(60))
    #: The budgets the event concerns, as `` bud_a bud_b `` (for LIKE filters).
    budget_ids: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(ReadableJSON, default=dict)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index(
            "ix_events_unsequenced",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )


class WebhookRow(Base):
    """A receiver of events: URL, secret, filters and how far it has been fanned out."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(100))
    event_types: Mapped[list[Any]] = mapped_column(ReadableJSON, default=list)
    budget_id: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: ``generic`` (the event as JSON) or ``slack`` (a Slack message about it).
    kind: Mapped[str] = mapped_column(String(20), default="generic", server_default="generic")
    #: The secret before the last rotation; deliveries carry its signature too
    #: until ``previous_secret_expires_at``.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    #: The last event sequence number turned into deliveries for this webhook.
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookDeliveryRow(Base):
    """One event for one webhook: pending (with its next attempt), delivered or dead."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id"))
    event_seq: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("webhook_id", "event_seq"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )


events = EventRow.__table__
webhooks = WebhookRow.__table__
webhook_deliveries = WebhookDeliveryRow.__table__
