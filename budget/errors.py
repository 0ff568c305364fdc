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
    #: How HTTP answers it: the status and the problem's title.
    http_status = 400
    title = "Bad request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, used by the entry points."""
        return {"code": self.code, "message": self.message}

    def explain(self, hint: str) -> BudgetError:
        """This error with what to do about it added to its message."""
        self.message = f"{self.message}; {hint}"
        self.args = (self.message,)
        return self

    def for_item(self, index: int) -> BudgetError:
        """This error, saying which item of a batch it concerns (``items[3].model``)."""
        if getattr(self, "field", None):
            self.field = f"items[{index}].{self.field}"  # type: ignore[attr-defined]
        self.message = f"items[{index}]: {self.message}"
        self.args = (self.message,)
        return self


class FieldError(BudgetError):
    """An error about one field: its message names the field and a safe
    rendering of the value; ``to_dict`` carries both."""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        super().__init__(f"{field}={shown(value)}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "field": self.field, "value": jsonable(self.value)}


class ValidationError(FieldError, ValueError):
    """Bad input: names the field, the value and what was expected."""

    code = "invalid_input"
    http_status = 422
    title = "Invalid input"


class NotFound(BudgetError, LookupError):
    """An id that names nothing."""

    code = "not_found"
    http_status = 404
    title = "Not found"

    def __init__(self, entity: str, key: str, value: Any, hint: str | None = None) -> None:
        message = f"no {entity} with {key}={shown(value)}"
        super().__init__(message if hint is None else f"{message}: {hint}")
        self.entity = entity
        self.field = key
        self.value = value
        self.hint = hint

    def to_dict(self) -> dict[str, Any]:
        out = {
            **super().to_dict(),
            "entity": self.entity,
            "field": self.field,
            "value": jsonable(self.value),
        }
        if self.hint is not None:
            out["hint"] = self.hint
        return out


class Conflict(FieldError):
    """The request contradicts what is stored (a duplicate name, say)."""

    code = "conflict"
    http_status = 409
    title = "Conflict"


class Forbidden(FieldError):
    """The caller's API key may not do this: it claims another identity or
    names a budget outside the key's."""

    code = "forbidden"
    http_status = 403
    title = "Forbidden"


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
    #: Set when a critical headroom applied: the policy's own limit (``limit``
    #: is then the share a non-critical request may fill) and the headroom.
    policy_limit: Decimal | None = None
    critical_headroom: Decimal | None = None

    def describe(self) -> str:
        resets = self.resets_at.isoformat() if self.resets_at else "never (no reset)"
        limit = f"{self.limit_kind} limit {self.limit}"
        if self.policy_limit is not None and self.critical_headroom is not None:
            limit += (
                f" (of {self.policy_limit}: critical_headroom {self.critical_headroom} is kept "
                "for critical requests)"
            )
        return (
            f"policy {self.policy_name!r} ({self.policy_id}) window {self.window_key}: "
            f"{limit}, used {self.used}, reserved {self.reserved}, "
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
            "policy_limit": None if self.policy_limit is None else str(self.policy_limit),
            "critical_headroom": (
                None if self.critical_headroom is None else str(self.critical_headroom)
            ),
        }


class BudgetExceeded(BudgetError):
    """A hard limit refused the allocation; nothing was reserved anywhere.

    The first denial is exposed as attributes (policy_id, window_key, limit,
    used, reserved, resets_at); ``denials`` lists every window that refused.
    """

    code = "budget_exceeded"
    http_status = 429
    title = "Budget exceeded"

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
        from budget.clock import utcnow

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
    http_status = 422
    title = "Price unknown"

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
    http_status = 503
    title = "Storage unavailable"

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


PROBLEM_TYPE = "urn:budget:problem:"


def problem_body(exc: BudgetError) -> dict[str, Any]:
    """``exc`` as an RFC 9457 problem body, the same for REST, the CLI's
    ``--json`` errors and MCP: type, title, status, detail and the error's fields."""
    fields = exc.to_dict()
    code = fields.pop("code")
    fields.pop("message", None)
    if isinstance(exc, ValidationError):
        fields["errors"] = [
            {"field": exc.field, "value": fields.get("value"), "reason": exc.reason}
        ]
    return {
        "type": PROBLEM_TYPE + code.replace("_", "-"),
        "title": exc.title,
        "status": exc.http_status,
        "detail": exc.message,
        **fields,
    }


SHOWN_LENGTH = 200


def shown(value: Any) -> str:
    """``value`` as a user reads it in a message: text quoted, numbers and dates
    plainly (never ``Decimal('0')`` or ``datetime.datetime(...)``), truncated,
    and always encodable (lone surrogates and control characters escaped)."""
    if isinstance(value, str):
        return repr(_truncate(value))
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "null"
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return repr(_truncate(value.decode("utf-8", "backslashreplace")))
    return _truncate(ascii(value) if not isinstance(value, int) else str(value))


def jsonable(value: Any) -> Any:
    """``value`` for a JSON error body: finite numbers as numbers, the rest as safe text."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else _float_text(value)
    if isinstance(value, str):
        return _truncate(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return shown(value)


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if abs(value) == float("inf"):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _truncate(text: str) -> str:
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 1] + "…"
