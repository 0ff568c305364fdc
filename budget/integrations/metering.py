"""What the callback integrations (LiteLLM, LangChain, OpenTelemetry) share.

A :class:`Meter` holds a service and the scope attributes every call is
allocated and recorded under, and does the two halves of a metered call:
:meth:`Meter.reserve` before it (raises :class:`budget.BudgetExceeded` when a
hard limit refuses) and :meth:`Meter.settle` after it (records what the
provider reported and releases the rest, once per allocation, never raising).

The service may be ``budget.open()``'s or anything with the same ``allocate``,
``release`` and ``record_usage`` methods (a remote client, say).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from budget.domain.prices import TokenUsage
from budget.errors import Conflict
from budget.pricing.normalize import normalize_model, normalize_provider

log = logging.getLogger("budget.integrations")

#: Attributes a call is both allocated and recorded under.
SCOPE_FIELDS = (
    "component",
    "project",
    "user",
    "api_key",
    "tier",
    "task_type",
    "tags",
    "session_id",
    "task_id",
)
#: Attributes only an allocation takes.
ALLOCATION_FIELDS = ("priority", "ttl_seconds")
#: Settled allocations remembered, so a hook that fires twice settles once.
REMEMBERED = 10_000


def model_names(provider: str | None, model: str | None) -> tuple[str | None, str | None]:
    """A provider and model as Budget's ids (``together_ai`` -> ``together``,
    ``gemini/gemini-2.5-pro`` -> ``gemini-2.5-pro`` under ``google``).

    Without a provider, a ``provider/`` prefix of the model names it.
    """
    if not model:
        return (normalize_provider(provider) if provider else None), None
    if not provider:
        head, slash, rest = model.partition("/")
        if not (slash and rest):
            return None, model.strip().lower()
        provider = head
    name = normalize_provider(provider)
    return name, normalize_model(name, model)


def scope_of(given: dict[str, Any], fields: tuple[str, ...] = SCOPE_FIELDS) -> dict[str, Any]:
    """The scope attributes among ``given`` that are set."""
    return {k: given[k] for k in fields if given.get(k) is not None}


def usage_counts(usage: TokenUsage) -> dict[str, int]:
    """A TokenUsage as ``record_usage`` keywords."""
    return asdict(usage)


@dataclass
class Meter:
    """Reserve before a call and settle after it, under one scope.

    ``scope`` holds the attributes (component, project, user, api_key, tier,
    task_type, tags, session_id, task_id; for allocations also priority and
    ttl_seconds) every call carries.
    """

    service: Any
    scope: dict[str, Any]
    #: Usage reports that could not be written (logged, never raised).
    failures: int = 0

    def __post_init__(self) -> None:
        self._settled: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, service: Any, **attributes: Any) -> Meter:
        """A meter whose scope is the given attributes that are set."""
        unknown = set(attributes) - set(SCOPE_FIELDS) - set(ALLOCATION_FIELDS)
        if unknown:
            raise TypeError(f"unknown scope attribute(s): {', '.join(sorted(unknown))}")
        return cls(service, scope_of(attributes, SCOPE_FIELDS + ALLOCATION_FIELDS))

    def reserve(
        self,
        *,
        provider: str | None,
        model: str | None,
        input_tokens: int,
        max_output_tokens: int,
        context_id: str | None = None,
        **extra: Any,
    ) -> str:
        """Allocate for one call and return the allocation id.

        Raises :class:`budget.BudgetExceeded` (nothing reserved) when a hard
        limit refuses, and any other :class:`budget.BudgetError` unchanged.
        """
        attrs = {**self.scope, **scope_of(extra, SCOPE_FIELDS + ALLOCATION_FIELDS)}
        allocation = self.service.allocate(
            context_id=context_id or f"call-{uuid.uuid4().hex}",
            provider=provider,
            model=model,
            input_tokens=input_tokens,
            max_output_tokens=max_output_tokens,
            **attrs,
        )
        return allocation.allocation_id

    def settle(
        self,
        allocation_id: str | None,
        *,
        provider: str | None,
        model: str | None,
        usage: TokenUsage | None,
        request_id: str | None = None,
        occurred_at: datetime | None = None,
        latency_ms: int | None = None,
        **extra: Any,
    ) -> Any:
        """Record ``usage`` (if any) and release the allocation, once.

        Returns the usage record, or None (nothing to record, already settled,
        or a failure, which is logged and counted in :attr:`failures`).
        """
        if allocation_id is not None and not self._first_settle(allocation_id):
            return None
        if usage is None:
            self.release(allocation_id)
            return None
        fields: dict[str, Any] = {**usage_counts(usage), "request_id": request_id}
        fields.update(scope_of(self.scope), **scope_of(extra))
        if provider and model:
            fields.update(provider=provider, model=model)
        if occurred_at is not None:
            fields["occurred_at"] = occurred_at
        if latency_ms is not None:
            fields["latency_ms"] = max(0, latency_ms)
        if allocation_id is not None:
            fields.update(allocation_id=allocation_id, release=True)
        return self._record(fields, allocation_id)

    def release(self, allocation_id: str | None) -> None:
        """Give back what the allocation holds; failures are logged, not raised."""
        if allocation_id is None:
            return
        try:
            self.service.release(allocation_id)
        except Exception:
            self.failures += 1
            log.exception("budget: could not release allocation %s", allocation_id)

    def _record(self, fields: dict[str, Any], allocation_id: str | None) -> Any:
        try:
            return self.service.record_usage(**fields)
        except Conflict as exc:
            # The response id was recorded already (by another allocation): it counts once.
            log.warning("budget: usage %s not recorded again: %s", fields.get("request_id"), exc)
        except Exception:
            self.failures += 1
            log.exception("budget: could not record usage %s", fields.get("request_id"))
        self.release(allocation_id)
        return None

    def _first_settle(self, allocation_id: str) -> bool:
        with self._lock:
            if allocation_id in self._settled:
                return False
            self._settled[allocation_id] = None
            while len(self._settled) > REMEMBERED:
                self._settled.popitem(last=False)
            return True
