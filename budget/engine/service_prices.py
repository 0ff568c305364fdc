"""PriceOperations: the price catalog's library calls, mixed into BudgetService.

Every method is a thin call into :mod:`budget.engine.catalog_admin` with the
service's engine context (``self._ctx``); REST, CLI and MCP call these.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from budget.domain.prices import Price
from budget.engine import catalog_admin
from budget.engine.context import EngineContext
from budget.pricing.refresh_report import PriceConflict, PriceSourceStatus, UpdateReport

Amount = Decimal | int | str | None


class PriceOperations:
    """Prices: list, look up, history, conflicts, refresh, sources, overrides."""

    _ctx: EngineContext

    def list_prices(
        self,
        *,
        provider: str | None = None,
        model: str | None = None,
        search: str | None = None,
        source: str | None = None,
        verification: str | None = None,
        overrides: bool | None = None,
        at: datetime | str | None = None,
        include_history: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Price]:
        """Prices in effect now (or at ``at``; every row with ``include_history``).

        Filters: ``provider``, exact ``model`` id, ``search`` (a substring of
        the id), ``source``, ``verification`` (verified, unverified, conflict,
        override) and ``overrides`` (True: only manual overrides).
        """
        return catalog_admin.list_prices(
            self._ctx,
            provider=provider,
            model=model,
            search=search,
            source=source,
            verification=verification,
            overrides=overrides,
            at=at,
            include_history=include_history,
            limit=limit,
            offset=offset,
        )[0]

    def count_prices(self, **filters: Any) -> int:
        """How many prices :meth:`list_prices` would list with the same filters."""
        return catalog_admin.list_prices(self._ctx, **filters, limit=1)[1]

    def get_price(self, provider: str, model: str, *, at: datetime | str | None = None) -> Price:
        """The price a call would be costed with now (or at ``at``): an override
        first, else the model's own row, else one whose match rules take the id.
        Raises NotFound for an unpriced model."""
        return catalog_admin.get_price(self._ctx, provider, model, at)

    def price_history(self, provider: str, model: str) -> list[Price]:
        """Every price row of a model, oldest first: end-dated rows, the current
        one and overrides (``effective_from`` / ``effective_to`` tell which)."""
        return catalog_admin.price_history(self._ctx, provider, model)

    def price_conflicts(self) -> list[PriceConflict]:
        """Models whose independent sources disagree (their current price was kept)."""
        return catalog_admin.list_conflicts(self._ctx)

    def update_prices(self, source: str | None = None) -> UpdateReport:
        """Refresh prices now from every active source, or from ``source`` only.

        Returns the run's report: added, changed, unchanged and conflicting
        models, and per source its status, counts and error. A failing source
        keeps its last good prices; the run never raises for it.
        """
        return catalog_admin.update_prices(self._ctx, source)

    def set_price_override(
        self,
        provider: str,
        model: str,
        *,
        input: Amount,
        output: Amount = None,
        cached_input: Amount = None,
        cache_write: Amount = None,
        reasoning: Amount = None,
        per_request: Amount = None,
        note: str | None = None,
        cache_write_1h: Amount = None,
        service_tiers: dict[str, dict[str, Amount]] | None = None,
    ) -> Price:
        """Set a manual price (USD per million tokens; ``per_request`` in USD).

        ``cache_write_1h`` is the 1-hour cache-write rate (``cache_write`` the
        5-minute one); ``service_tiers`` gives the rates of other service
        tiers, e.g. ``{"batch": {"input": "1.5", "output": "7.5"}}``.

        It wins over every source's price from now on and no refresh changes
        it; setting it again replaces it (the old one stays in the history).
        Amounts are Decimal, int or decimal strings, never float.
        """
        return catalog_admin.set_override(
            self._ctx,
            provider,
            model,
            input=input,
            output=output,
            cached_input=cached_input,
            cache_write=cache_write,
            reasoning=reasoning,
            per_request=per_request,
            note=note,
            cache_write_1h=cache_write_1h,
            service_tiers=service_tiers,
        )

    def clear_price_override(self, provider: str, model: str) -> Price:
        """End a model's manual price now (NotFound if it has none); returns it."""
        return catalog_admin.clear_override(self._ctx, provider, model)

    def list_price_sources(self) -> list[PriceSourceStatus]:
        """Each price source: kind, lineage, trust, interval, active, last and
        next run, last status and error."""
        return catalog_admin.list_sources(self._ctx)

    def list_price_updates(self, *, limit: int = 20, offset: int = 0) -> list[UpdateReport]:
        """Refresh runs and override changes, newest first (without their changes)."""
        return catalog_admin.list_updates(self._ctx, limit=limit, offset=offset)

    def get_price_update(self, update_id: str) -> UpdateReport:
        """One run record with every change it made (NotFound if unknown)."""
        return catalog_admin.get_update(self._ctx, update_id)

    def start_price_refresh(self) -> None:
        """Start the background thread that runs each source at its interval
        (``budget.open(..., refresh_prices=True)`` does this)."""
        catalog_admin.start_scheduler(self._ctx)

    def stop_price_refresh(self) -> None:
        """Stop the background refresh thread, if it runs (``close()`` should call this)."""
        catalog_admin.stop_scheduler(self._ctx)
