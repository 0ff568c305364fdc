"""The closed vocabularies of the domain."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class PolicyType(StrEnum):
    IGNORE = "ignore"
    WARN = "warn"
    SOFT_LIMIT = "soft_limit"
    HARD_LIMIT = "hard_limit"


class Period(StrEnum):
    MINUTE = "minute"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    PER_SESSION = "per_session"
    PER_TASK = "per_task"
    TOTAL = "total"


class Tier(StrEnum):
    LOCAL_LIGHTWEIGHT = "local_lightweight"
    LOCAL_MIDWEIGHT = "local_midweight"
    REMOTE_HEAVYWEIGHT = "remote_heavyweight"


class Priority(IntEnum):
    LOW = 1
    NORMAL = 5
    HIGH = 8
    CRITICAL = 10


class AllocationStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    EXPIRED = "expired"


class AlertKind(StrEnum):
    THRESHOLD_CROSSED = "threshold_crossed"
    ACTION_THRESHOLD = "action_threshold"
    LIMIT_REACHED = "limit_reached"
    DENIED = "denied"
    UNPRICED_MODEL = "unpriced_model"
    PRICE_CONFLICT = "price_conflict"
    ALLOCATION_EXPIRED = "allocation_expired"
    FORECAST_EXCEEDS = "forecast_exceeds"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class LimitKind(StrEnum):
    TOKENS = "tokens"
    USD = "usd"
    REQUESTS = "requests"


class ServiceTier(StrEnum):
    """How a provider serves (and bills) a call: ``batch`` is the asynchronous
    batch API, ``flex`` slower and cheaper, ``priority`` faster and dearer."""

    STANDARD = "standard"
    BATCH = "batch"
    FLEX = "flex"
    PRIORITY = "priority"
