"""Defaults carried over from the older designs (Apollo and Rhetor)."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

from budget.domain.enums import Period, Priority, Tier

#: Token limits per tier and period.
TIER_TOKEN_LIMITS = MappingProxyType(
    {
        Tier.LOCAL_LIGHTWEIGHT: {
            Period.HOURLY: 1_000_000,
            Period.DAILY: 10_000_000,
            Period.WEEKLY: 50_000_000,
            Period.MONTHLY: 200_000_000,
            Period.PER_SESSION: 8_000,
        },
        Tier.LOCAL_MIDWEIGHT: {
            Period.HOURLY: 500_000,
            Period.DAILY: 5_000_000,
            Period.WEEKLY: 25_000_000,
            Period.MONTHLY: 100_000_000,
            Period.PER_SESSION: 16_000,
        },
        Tier.REMOTE_HEAVYWEIGHT: {
            Period.HOURLY: 100_000,
            Period.DAILY: 1_000_000,
            Period.WEEKLY: 5_000_000,
            Period.MONTHLY: 20_000_000,
            Period.PER_SESSION: 32_000,
        },
    }
)

#: USD limits per period.
COST_LIMITS = MappingProxyType(
    {
        Period.HOURLY: Decimal("0.50"),
        Period.DAILY: Decimal("5"),
        Period.WEEKLY: Decimal("25"),
        Period.MONTHLY: Decimal("100"),
    }
)

#: Default allocation size by task type, for priority low / normal / high / critical.
ALLOCATION_SIZES = MappingProxyType(
    {
        "default": (1_000, 2_000, 4_000, 8_000),
        "chat": (2_000, 4_000, 8_000, 16_000),
        "coding": (4_000, 8_000, 16_000, 32_000),
        "analysis": (4_000, 8_000, 16_000, 32_000),
        "embedding": (10_000, 25_000, 50_000, 100_000),
    }
)

#: Provider to tier, when neither the request nor the model says.
PROVIDER_TIERS = MappingProxyType(
    {
        "openai": Tier.REMOTE_HEAVYWEIGHT,
        "anthropic": Tier.REMOTE_HEAVYWEIGHT,
        "ollama": Tier.LOCAL_MIDWEIGHT,
        "local": Tier.LOCAL_LIGHTWEIGHT,
    }
)

WARNING_THRESHOLD = Decimal("0.8")
ACTION_THRESHOLD = Decimal("0.95")
DEFAULT_TIMEZONE = "UTC"
DEFAULT_ALLOCATION_TTL_SECONDS = 3600
SERVICE_PORT = 8013


def default_allocation_tokens(task_type: str | None, priority: int) -> int:
    """The default size of an allocation that names no token count.

    Priorities between the four named levels take the size of the level at or
    below them (priority 7 sizes like normal).
    """
    sizes = ALLOCATION_SIZES.get(task_type or "default", ALLOCATION_SIZES["default"])
    levels = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL)
    index = max(i for i, level in enumerate(levels) if priority >= level or i == 0)
    return sizes[index]
