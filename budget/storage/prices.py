"""The price table: loading the catalog, seeding the shipped defaults, and
the :class:`Prices` repository."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from budget.domain.money import usd_to_nanos
from budget.domain.prices import Price
from budget.pricing.refresh import Insert, Plan, Stored
from budget.pricing.refresh_report import PriceChange
from budget.pricing.serialize import price_from_dict, price_to_dict
from budget.storage import price_history as history
from budget.storage import tables as t
from budget.storage.unit import Unit


def load_current_prices(conn: Connection) -> list[Price]:
    """Every stored price row (history included), in catalog order."""
    rows = conn.execute(
        select(
            t.prices.c.id,
            t.prices.c.rates,
            t.prices.c.effective_from,
            t.prices.c.effective_to,
            t.prices.c.verification,
            t.prices.c.is_override,
        ).order_by(t.prices.c.position, t.prices.c.id)
    ).all()
    out = []
    for row in rows:
        price = price_from_dict(row.rates)
        out.append(
            dataclasses.replace(
                price,
                price_id=row.id,
                effective_from=row.effective_from,
                effective_to=row.effective_to,
                verification=row.verification,
                is_override=row.is_override,
            )
        )
    return out


def count_prices(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(t.prices)).scalar_one()


def insert_prices(conn: Connection, prices: Iterable[Price], now: datetime) -> int:
    """Insert price rows as given; returns how many were written."""
    rows = [price_row(price, position, now) for position, price in enumerate(prices)]
    if rows:
        conn.execute(insert(t.prices), rows)
    return len(rows)


def price_row(price: Price, position: int, now: datetime) -> dict:
    """The columns of a price's row (the whole price also as JSON, in ``rates``)."""
    rates = price.rates
    return {
        "provider": price.provider,
        "model": price.model,
        "name": price.name,
        "rates": price_to_dict(price),
        "input_rate_nanos": usd_to_nanos(rates.input.base) if rates.input else None,
        "output_rate_nanos": usd_to_nanos(rates.output.base) if rates.output else None,
        "match": list(price.match),
        "context_window": price.context_window,
        "effective_from": price.effective_from,
        "effective_to": price.effective_to,
        "source": price.source,
        "source_version": price.source_version,
        "verification": price.verification,
        "is_override": price.is_override,
        "position": position,
        "created_at": now,
    }


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
