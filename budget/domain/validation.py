"""Input checks shared by every entry point; each error names field and value."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

from budget.domain import limits, scope, when
from budget.domain.enums import Priority
from budget.errors import ValidationError

E = TypeVar("E", bound=Enum)

MAX_TOKENS = limits.MAX_TOKENS


def tokens(
    field: str, value: Any, *, required: bool = False, maximum: int = MAX_TOKENS
) -> int | None:
    """A token count: a non-negative whole number (bool and float refused)."""
    if value is None:
        if required:
            raise ValidationError(field, value, "a token count is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            raise ValidationError(field, value, "token counts are whole numbers; pass an int")
        raise ValidationError(field, value, "must be a non-negative integer")
    if value < 0:
        raise ValidationError(field, value, "must not be negative")
    if value > maximum:
        raise ValidationError(field, value, f"must be at most {maximum:,}")
    return value


def positive_tokens(field: str, value: Any, *, maximum: int = MAX_TOKENS) -> int | None:
    count = tokens(field, value, maximum=maximum)
    if count == 0:
        raise ValidationError(field, value, "must be greater than zero")
    return count


def choice(field: str, value: Any, enum: type[E], *, required: bool = True) -> E | None:
    """A member of ``enum`` from its value (or the member itself)."""
    if value is None:
        if required:
            raise ValidationError(field, value, f"required; one of {_names(enum)}")
        return None
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError:
        raise ValidationError(field, value, f"must be one of {_names(enum)}") from None


def _names(enum: type[Enum]) -> str:
    return ", ".join(str(m.value) for m in enum)


def text(
    field: str, value: Any, *, required: bool = False, max_len: int | None = None
) -> str | None:
    """A short string; blank counts as missing. ``max_len`` defaults to the
    length declared for ``field`` (:mod:`budget.domain.scope`)."""
    if max_len is None:
        max_len = scope.max_length(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(field, value, "must be a non-empty string")
        return None
    if not isinstance(value, str):
        raise ValidationError(field, value, "must be a string")
    value = value.strip()
    if len(value) > max_len:
        raise ValidationError(field, value[:40] + "…", f"longer than {max_len} characters")
    storable(field, value)
    return value


def storable(field: str, value: str) -> str:
    """``value`` if every database can store it: valid Unicode (no lone UTF-16
    surrogates) and no NUL characters."""
    if value.isascii():
        if "\x00" in value:
            raise ValidationError(field, value, "must not contain NUL (\\u0000) characters")
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            field, value, "is not valid Unicode (it holds a lone UTF-16 surrogate)"
        ) from None
    if "\x00" in value:
        raise ValidationError(field, value, "must not contain NUL (\\u0000) characters")
    return value


def flag(field: str, value: Any) -> bool:
    """A true/false switch; 0, 1 and "yes" are refused, not guessed."""
    if not isinstance(value, bool):
        raise ValidationError(field, value, "must be true or false")
    return value


def provider(field: str, value: Any, *, required: bool = False) -> str | None:
    """A provider name, lowercased (ids are matched case-insensitively)."""
    name = text(field, value, required=required, max_len=scope.max_length("provider"))
    return name.lower() if name else name


def model(field: str, value: Any, *, required: bool = False) -> str | None:
    """A model id, lowercased (ids are matched case-insensitively)."""
    name = text(field, value, required=required, max_len=scope.max_length("model"))
    return name.lower() if name else name


def fraction(field: str, value: Any) -> Decimal:
    """A share of a limit in (0, 1]; accepts 0.8, "0.8" or Decimal("0.8")."""
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise ValidationError(field, value, "must be a number in (0, 1]") from None
    if isinstance(value, bool) or not number.is_finite() or not (0 < number <= 1):
        raise ValidationError(field, value, "must be a number in (0, 1]")
    return number.normalize()


def fractions(field: str, values: Any) -> tuple[Decimal, ...]:
    if values is None:
        return ()
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValidationError(field, values, "must be a list of numbers in (0, 1]")
    return tuple(sorted({fraction(field, v) for v in values}))


def headroom(field: str, value: Any) -> Decimal:
    """A share kept back in [0, 1)."""
    if value is None or value == 0:
        return Decimal(0)
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise ValidationError(field, value, "must be a number in [0, 1)") from None
    if isinstance(value, bool) or not number.is_finite() or not (0 <= number < 1):
        raise ValidationError(field, value, "must be a number in [0, 1)")
    return number.normalize()


def priority(field: str, value: Any) -> int:
    """1..10, or a name: low, normal, high, critical."""
    if isinstance(value, str):
        try:
            return int(Priority[value.strip().upper()])
        except KeyError:
            raise ValidationError(
                field, value, "must be 1..10 or one of low, normal, high, critical"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise ValidationError(field, value, "must be an integer from 1 to 10")
    return value


def instant(field: str, value: Any, *, zone: str | None = None) -> datetime | None:
    """An aware datetime (naive ones are taken as UTC), or text in any form
    :func:`budget.domain.when.parse` reads (ISO-8601, ``24h``, ``yesterday``, ...),
    between ``limits.EARLIEST`` and ``limits.LATEST``. A date alone
    (``2026-12-01``), ``today`` and ``yesterday`` are midnight in ``zone`` (an
    IANA name; UTC when not given)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = when.parse(field, value, zone=zone)
    if not isinstance(value, datetime):
        raise ValidationError(field, value, "must be a datetime")
    try:
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        moment = limits.LATEST
    if not limits.EARLIEST <= moment < limits.LATEST:
        raise ValidationError(
            field,
            value,
            f"must be from {limits.EARLIEST:%Y-%m-%d} to before {limits.LATEST:%Y-%m-%d} (UTC)",
        )
    return moment


def tag_set(field: str, value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable):
        raise ValidationError(field, value, "must be a list of strings")
    out = set()
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            raise ValidationError(field, tag, "each tag must be a non-empty string")
        out.add(text(field, tag, max_len=scope.max_length("tag")))
    if len(out) > limits.MAX_TAGS:
        raise ValidationError(field, len(out), f"at most {limits.MAX_TAGS} tags")
    return frozenset(out)


def metadata(field: str, value: Any) -> dict[str, Any]:
    """A JSON mapping with string keys that every database can store: text
    valid Unicode without NUL, finite numbers, bounded depth and size."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(field, value, "must be a mapping of string keys to JSON values")
    if len(value) > limits.MAX_METADATA_KEYS:
        raise ValidationError(field, len(value), f"at most {limits.MAX_METADATA_KEYS} keys")
    _json_value(field, value, 0)
    try:
        encoded = json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError):
        raise ValidationError(field, value, "must be JSON-serialisable") from None
    if len(encoded) > limits.MAX_METADATA_BYTES:
        raise ValidationError(
            field, encoded, f"larger than {limits.MAX_METADATA_BYTES:,} bytes as JSON"
        )
    return json.loads(encoded)


def _json_value(field: str, value: Any, depth: int) -> None:
    """Check one JSON value and everything inside it, naming the path of a bad one."""
    if depth > limits.MAX_METADATA_DEPTH:
        raise ValidationError(field, "…", f"nested deeper than {limits.MAX_METADATA_DEPTH}")
    if isinstance(value, str):
        storable(field, value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationError(field, value, "numbers must be finite")
    elif isinstance(value, bool | int) or value is None:
        return
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(field, key, "keys must be strings")
            storable(f"{field} key", key)
            _json_value(f"{field}.{key}", item, depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _json_value(f"{field}[{index}]", item, depth + 1)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError(field, value, "numbers must be finite")
    else:
        raise ValidationError(field, value, "must be JSON: text, numbers, booleans, lists, maps")


def latency(field: str, value: Any) -> int | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= limits.MAX_LATENCY_MS
    ):
        raise ValidationError(
            field, value, f"must be from 0 to {limits.MAX_LATENCY_MS:,} milliseconds"
        )
    return round(value)


def page(limit: Any, offset: Any, *, max_limit: int = 1000) -> tuple[int, int]:
    """A page of a listing: 1 <= limit <= max_limit, offset >= 0."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= max_limit:
        raise ValidationError("limit", limit, f"must be an integer from 1 to {max_limit}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError("offset", offset, "must be a non-negative integer")
    return limit, offset


def readable(value: Any) -> Any:
    """A stored JSON value that every reader can encode again.

    Rows written by older versions may hold lone UTF-16 surrogates or
    non-finite numbers; they are shown as U+FFFD and null rather than making
    every read of the row fail. Clean values are returned as they are.
    """
    if isinstance(value, str):
        return value if value.isascii() or _encodes(value) else _replace_surrogates(value)
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {readable(k): readable(v) for k, v in value.items()} if value else value
    if isinstance(value, list):
        return [readable(v) for v in value] if value else value
    return value


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _replace_surrogates(text: str) -> str:
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
