"""The schema, as typed SQLAlchemy 2 declarative classes.

Money is integer nano-USD (BigInteger) everywhere, never float; rates and
thresholds that need more precision are kept as decimal strings in JSON.
Hot paths use Core statements against these tables, not ORM sessions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from budget.domain.limits import ID_LENGTH, KEY_LENGTH, NAME_LENGTH, SHORT_LENGTH
from budget.domain.validation import readable

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ReadableJSON(TypeDecorator[Any]):
    """JSON whose reads never fail to encode again (see ``validation.readable``)."""

    impl = JSON
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return readable(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: ReadableJSON,
        list[Any]: ReadableJSON,
    }


class ScopeColumns:
    """The request attributes that policies filter on and the ledger records."""

    component: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    project: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    user_id: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    api_key: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    provider: Mapped[str | None] = mapped_column(String(SHORT_LENGTH))
    model: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    tier: Mapped[str | None] = mapped_column(String(40))
    task_type: Mapped[str | None] = mapped_column(String(SHORT_LENGTH))
    tags: Mapped[list[Any]] = mapped_column(ReadableJSON, default=list)


class BudgetRow(Base):
    __tablename__ = "budgets"

    id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", ReadableJSON, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "uq_budgets_live_name",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )


class PolicyRow(ScopeColumns, Base):
    __tablename__ = "policies"

    id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    budget_id: Mapped[str] = mapped_column(ForeignKey("budgets.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    type: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(20))
    timezone: Mapped[str] = mapped_column(String(64))
    token_limit: Mapped[int | None] = mapped_column(BigInteger)
    cost_limit_nanos: Mapped[int | None] = mapped_column(BigInteger)
    request_limit: Mapped[int | None] = mapped_column(BigInteger)
    warning_thresholds: Mapped[list[Any]] = mapped_column(ReadableJSON, default=list)
    action_threshold: Mapped[str | None] = mapped_column(String(20))
    critical_headroom: Mapped[str] = mapped_column(String(20), default="0")
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    #: Whether a new window starts from the spend already in the ledger (the
    #: default) or only from what is recorded after the policy was created.
    count_existing: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: Attributes the policy keeps a window per distinct value of (None: one window).
    each: Mapped[list[Any] | None] = mapped_column(ReadableJSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class WindowRow(Base):
    """Counters of one policy for one period instance."""

    __tablename__ = "windows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    window_key: Mapped[str] = mapped_column(String(ID_LENGTH))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    used_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    used_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    used_requests: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime]
    #: Set when a change of its policy's scope or dates replaced this window.
    superseded_at: Mapped[datetime | None]
    #: The attribute values a window of an ``each`` policy counts ({"user": "alice"}).
    subject: Mapped[dict[str, Any] | None] = mapped_column(ReadableJSON)

    __table_args__ = (UniqueConstraint("policy_id", "window_key"),)


class AllocationRow(ScopeColumns, Base):
    __tablename__ = "allocations"

    id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    context_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    session_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    task_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    priority: Mapped[int] = mapped_column(Integer)
    tokens_requested: Mapped[int] = mapped_column(BigInteger)
    tokens_reserved: Mapped[int] = mapped_column(BigInteger)
    nanos_reserved: Mapped[int] = mapped_column(BigInteger)
    tokens_remaining: Mapped[int] = mapped_column(BigInteger)
    nanos_remaining: Mapped[int] = mapped_column(BigInteger)
    tokens_used: Mapped[int] = mapped_column(BigInteger, default=0)
    nanos_used: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20))
    over_soft_limit: Mapped[bool] = mapped_column(Boolean, default=False)
    recommended_model: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    policy_ids: Mapped[list[Any]] = mapped_column(ReadableJSON, default=list)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", ReadableJSON, default=dict)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_allocations_status_expires_at", "status", "expires_at"),)


class AllocationWindowRow(Base):
    """Which windows an allocation holds its reservation on."""

    __tablename__ = "allocation_windows"

    allocation_id: Mapped[str] = mapped_column(ForeignKey("allocations.id"), primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), primary_key=True)


class PriceRow(Base):
    __tablename__ = "prices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(SHORT_LENGTH))
    model: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    rates: Mapped[dict[str, Any]] = mapped_column(ReadableJSON)
    input_rate_nanos: Mapped[int | None] = mapped_column(BigInteger)
    output_rate_nanos: Mapped[int | None] = mapped_column(BigInteger)
    match: Mapped[list[Any]] = mapped_column(ReadableJSON, default=list)
    context_window: Mapped[int | None] = mapped_column(BigInteger)
    effective_from: Mapped[datetime | None]
    effective_to: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(SHORT_LENGTH))
    source_version: Mapped[str | None] = mapped_column(String(SHORT_LENGTH))
    verification: Mapped[str] = mapped_column(String(20), default="unverified")
    is_override: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_prices_provider_model", "provider", "model", "effective_from"),)


class UsageRow(ScopeColumns, Base):
    """The append-only ledger."""

    __tablename__ = "usage_records"

    id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    request_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    allocation_id: Mapped[str | None] = mapped_column(String(40), index=True)
    context_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    # indexed: a new per-session or per-task window starts from its rows
    session_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    task_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    cached_input_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_1h_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    reasoning_tokens: Mapped[int] = mapped_column(BigInteger)
    total_tokens: Mapped[int] = mapped_column(BigInteger)
    priced: Mapped[bool] = mapped_column(Boolean)
    cost_nanos: Mapped[int | None] = mapped_column(BigInteger)
    input_nanos: Mapped[int | None] = mapped_column(BigInteger)
    cached_input_nanos: Mapped[int | None] = mapped_column(BigInteger)
    cache_write_nanos: Mapped[int | None] = mapped_column(BigInteger)
    cache_write_1h_nanos: Mapped[int | None] = mapped_column(BigInteger)
    output_nanos: Mapped[int | None] = mapped_column(BigInteger)
    reasoning_nanos: Mapped[int | None] = mapped_column(BigInteger)
    request_nanos: Mapped[int | None] = mapped_column(BigInteger)
    price_id: Mapped[int | None] = mapped_column(ForeignKey("prices.id"))
    price_source: Mapped[str | None] = mapped_column(String(SHORT_LENGTH))
    price_verification: Mapped[str | None] = mapped_column(String(20))
    service_tier: Mapped[str] = mapped_column(
        String(20), default="standard", server_default="standard"
    )
    latency_ms: Mapped[int | None] = mapped_column(BigInteger)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", ReadableJSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    recorded_at: Mapped[datetime]
    #: ``usage``, or a correction of the row ``corrects_id``: ``void`` / ``adjust``
    #: (its amounts are the change; docs/corrections.md).
    kind: Mapped[str] = mapped_column(String(10), default="usage", server_default="usage")
    corrects_id: Mapped[str | None] = mapped_column(String(KEY_LENGTH), index=True)
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_usage_records_provider_model", "provider", "model"),)


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(20))
    budget_id: Mapped[str | None] = mapped_column(String(40), index=True)
    policy_id: Mapped[str | None] = mapped_column(String(40))
    window_key: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    threshold: Mapped[str | None] = mapped_column(String(20))
    dedup_key: Mapped[str] = mapped_column(String(500), unique=True)
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(ReadableJSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    acknowledged_at: Mapped[datetime | None]


class MetaRow(Base):
    """Version counters that let every process know when to reload caches."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(SHORT_LENGTH), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


budgets = BudgetRow.__table__
policies = PolicyRow.__table__
windows = WindowRow.__table__
allocations = AllocationRow.__table__
allocation_windows = AllocationWindowRow.__table__
prices = PriceRow.__table__
usage_records = UsageRow.__table__
alerts = AlertRow.__table__
meta = MetaRow.__table__


class ApiKeyRow(Base):
    """API keys of the REST service; only a hash of the secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    #: A client key's identity: the server fills these in and refuses others.
    bound_user: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    bound_project: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    bound_component: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    #: The budgets a client key sees (None: all).
    budget_ids: Mapped[list[Any] | None] = mapped_column(ReadableJSON)


api_keys = ApiKeyRow.__table__
