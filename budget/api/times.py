"""Times in the REST API: the query and body types that read ISO text, dates,
``now``/``today``/``yesterday`` and ages with the one parser of times
(:mod:`budget.domain.when`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

from budget.domain import when
from budget.errors import ValidationError


def _moment(value: Any) -> Any:
    """A datetime, or text :func:`budget.domain.when.parse` reads, as a datetime
    (a date alone, ``today`` and ``yesterday`` at midnight UTC)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(when.EXPECTED)
    return _parsed(value)


def _time_text(value: Any) -> Any:
    """Text ``when.parse`` reads, kept as given (the engine reads it in the
    request's ``timezone``)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError(when.EXPECTED)
    _parsed(value)
    return value


def _parsed(text: str) -> datetime:
    try:
        return when.parse("time", text)
    except ValidationError as exc:
        raise ValueError(exc.reason) from None


#: A moment given as ISO-8601 text, a date (midnight UTC), ``now``, ``today``,
#: ``yesterday`` or an age (``24h``, ``7d``); numbers are refused, not read as epochs.
Instant = Annotated[datetime, BeforeValidator(_moment)]
#: The same, kept as text so that a date alone, ``today`` and ``yesterday`` are
#: midnight in the request's ``timezone`` (reports and analysis), as the engine reads it.
ZonedInstant = Annotated[str, BeforeValidator(_time_text)]

__all__ = ["Instant", "ZonedInstant"]
