"""The price catalog's repository (``tx.prices``): the shipped catalog's
seeding and the refresh's writes, over the statements of
:mod:`budget.storage.prices` and :mod:`budget.storage.price_history`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from budget.domain.prices import Price
from budget.pricing.refresh import Insert, Plan, Stored
from budget.pricing.refresh_report import PriceChange
from budget.storage import price_history as history
from budget.storage.prices import count_prices, insert_prices
from budget.storage.unit import Unit


class Prices:
    """The price table in one transaction: the catalog's rows, their history
    and overrides (the statements are in :mod:`budget.storage.price_history`)."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def count(self) -> int:
        return count_prices(self.tx.conn)

    def insert_catalog(self, prices: Iterable[Price], now: datetime) -> int:
        """Insert price rows in the order given; returns how many were written."""
        return insert_prices(self.tx.conn, prices, now)

    def lock(self) -> None:
        """Take the price writers' lock for this transaction."""
        history.lock_prices(self.tx.conn)

    def in_effect(self, at: datetime) -> dict[tuple[str, str], Stored]:
        """Non-override rows in effect at ``at``, by (provider, model key)."""
        return history.stored_in_effect(self.tx.conn, at)

    def apply_plan(self, plan: Plan, now: datetime) -> list[PriceChange]:
        """Write a refresh plan; returns its changes with the new rows' ids."""
        return history.apply_plan(self.tx.conn, plan, now)

    def insert_rows(self, inserts: list[Insert], now: datetime) -> list[int]:
        return history.insert_rows(self.tx.conn, inserts, now)

    def end_date(self, price_ids: Iterable[int], at: datetime) -> None:
        history.end_date(self.tx.conn, price_ids, at)

    def model_rows(self, provider: str, models: Iterable[str]) -> list[Price]:
        """Every row (history and overrides) of a model, oldest first."""
        return history.model_rows(self.tx.conn, provider, models)

    def active_override(self, provider: str, model: str, at: datetime) -> Price | None:
        """The override of a model in effect at ``at``, if any."""
        row = history.active_override(self.tx.conn, provider, model, at)
        return None if row is None else history.row_to_price(row)
