"""The price refresh's tables: the registry of price sources, one row per
refresh run (or override change), and one row per model a run touched."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from budget.domain.limits import KEY_LENGTH, NAME_LENGTH, SHORT_LENGTH
from budget.storage.tables import Base, BigId, ReadableJSON


class PriceSourceRow(Base):
    """The registry of price sources: configuration as last seen, and run state."""

    __tablename__ = "price_sources"

    name: Mapped[str] = mapped_column(String(SHORT_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    lineage: Mapped[str] = mapped_column(String(SHORT_LENGTH))
    url: Mapped[str | None] = mapped_column(Text)
    trust: Mapped[str] = mapped_column(String(20))
    refresh_interval_seconds: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    network: Mapped[bool] = mapped_column(Boolean, default=False)
    last_run_at: Mapped[datetime | None]
    next_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_version: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    last_records: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class PriceUpdateRow(Base):
    """One price refresh run (or one override change): totals and each source's report."""

    __tablename__ = "price_updates"

    id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    trigger: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime]
    added: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
    verified: Mapped[int] = mapped_column(Integer, default=0)
    unverified: Mapped[int] = mapped_column(Integer, default=0)
    sources: Mapped[list[Any]] = mapped_column(ReadableJSON, default=list)


class PriceChangeRow(Base):
    """One model touched by an update: what changed, by how much, from which sources."""

    __tablename__ = "price_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    update_id: Mapped[str] = mapped_column(ForeignKey("price_updates.id"), index=True)
    provider: Mapped[str] = mapped_column(String(SHORT_LENGTH))
    model: Mapped[str] = mapped_column(String(NAME_LENGTH))
    action: Mapped[str] = mapped_column(String(20))
    verification: Mapped[str | None] = mapped_column(String(20))
    old_price_id: Mapped[int | None] = mapped_column(BigInteger)
    new_price_id: Mapped[int | None] = mapped_column(BigInteger)
    sources: Mapped[list[Any]] = mapped_column(ReadableJSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(ReadableJSON, default=dict)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_price_changes_provider_model", "provider", "model"),)


price_sources = PriceSourceRow.__table__
price_updates = PriceUpdateRow.__table__
price_changes = PriceChangeRow.__table__
