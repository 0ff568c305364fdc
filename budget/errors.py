"""The one exception tree of Budget.

Every entry point (library, REST, CLI, MCP) maps these to its own form; the
messages always name the field and the value that caused them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


class BudgetError(Exception):
    """Base of every error Budget raises on purpose."""

    code = "budget_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, used by the entry points."""
        return {"code": self.code, "message": self.message}

    def for_item(self, index: int) -> BudgetError:
        """This error, saying which item of a batch it concerns (``items[3].model``)."""
        if getattr(self, "field", None):
            self.field = f"items[{index}].{self.field}"  # type: ignore[attr-defined]
        self.message = f"items[{index}]: {self.message}"
        self.args = (self.message,)
        return self


class ValidationError(BudgetError, ValueError):
    """Bad input: names the field, the value and what was expected."""

    code = "invalid_input"

    def __init__(self, field: str, value: Any, reason: str) -> None:
        super().__init__(f"{field}={value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "field": self.field, "value": _jsonable(self.value)}


class NotFound(BudgetError, LookupError):
    """An id that names nothing."""

    code = "not_found"

    def __init__(self, entity: str, key: str, value: Any) -> None:
        super().__init__(f"no {entity} with {key}={value!r}")
        self.entity = entity
        self.field = key
        self.value = value

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "entity": self.entity,
            "field": self.field,
            "value": _jsonable(self.value),
        }


class Conflict(BudgetError):
    """The request contradicts what is stored (a duplicate name, say)."""

    code = "conflict"

    def __init__(self, field: str, value: Any, reason: str) -> None:
        super().__init__(f"{field}={value!r}: {reason}")
        self.field = field
        self.value = value

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "field": self.field, "value": _jsonable(self.value)}


class IdempotencyConflict(Conflict):
    """A request id already recorded with different content."""

    code = "idempotency_conflict"

    def __init__(self, request_id: str, existing_usage_id: str) -> None:
        super().__init__(
            "request_id",
            request_id,
            f"already recorded as usage {existing_usage_id} with different content",
        )
        self.existing_usage_id = existing_usage_id


@dataclass(frozen=True)
class Denial:
    """Why one window refused an allocation."""

    budget_id: str
    policy_id: str
    policy_name: str
    window_key: str
    limit_kind: str  # "tokens" or "usd"
    limit: Decimal
    used: Decimal
    reserved: Decimal
    requested: Decimal
    resets_at: datetime | None

    def describe(self) -> str:
        resets = self.resets_at.isoformat() if self.resets_at else "never (no reset)"
        return (
            f"policy {self.policy_name!r} ({self.policy_id}) window {self.window_key}: "
            f"{self.limit_kind} limit {self.limit}, used {self.used}, reserved {self.reserved}, "
            f"requested {self.requested}; resets at {resets}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget_id": self.budget_id,
            "policy_id": self.policy_id,
            "policy_name": self.policy_name,
            "window": self.window_key,
            "limit_kind": self.limit_kind,
            "limit": str(self.limit),
            "used": str(self.used),
            "reserved": str(self.reserved),
            "requested": str(self.requested),
            "resets_at": self.resets_at.isoformat() if self.resets_at else None,
        }


class BudgetExceeded(BudgetError):
    """A hard limit refused the allocation; nothing was reserved anywhere.

    The first denial is exposed as attributes (policy_id, window_key, limit,
    used, reserved, resets_at); ``denials`` lists every window that refused.
    """

    code = "budget_exceeded"

    def __init__(self, denials: list[Denial]) -> None:
        if not denials:
            raise ValueError("BudgetExceeded needs at least one denial")
        first = denials[0]
        super().__init__("budget exceeded: " + "; ".join(d.describe() for d in denials))
        self.denials = denials
        self.budget_id = first.budget_id
        self.policy_id = first.policy_id
        self.policy_name = first.policy_name
        self.window_key = first.window_key
        self.limit_kind = first.limit_kind
        self.limit = first.limit
        self.used = first.used
        self.reserved = first.reserved
        self.requested = first.requested
        self.resets_at = first.resets_at

    @property
    def retry_after_seconds(self) -> int | None:
        """Seconds until the earliest refusing window resets (None: never)."""
        resets = [d.resets_at for d in self.denials if d.resets_at is not None]
        if len(resets) < len(self.denials) or not resets:
            return None
        from budget.domain.clock import utcnow

        return max(0, int((max(resets) - utcnow()).total_seconds()) + 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            **self.denials[0].to_dict(),
            "denials": [d.to_dict() for d in self.denials],
        }


class PriceUnknown(BudgetError):
    """A model without a known price met a hard USD limit that needs one."""

    code = "price_unknown"

    def __init__(self, provider: str, model: str, policy_id: str) -> None:
        super().__init__(
            f"model={model!r} (provider={provider!r}) has no known price, so hard USD limit "
            f"policy {policy_id} cannot be checked; set a price override or use a priced model"
        )
        self.provider = provider
        self.model = model
        self.policy_id = policy_id
        self.field = "model"
        self.value = model


class StorageError(BudgetError):
    """The database could not be reached or refused the operation."""

    code = "storage_error"

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
