"""The price table: loading the catalog, seeding the shipped defaults, and
the :class:`Prices` repository."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from budget.domain.money import usd_to_nanos
from budget.domain.prices import Price
from budget.pricing.serialize import price_from_dict, price_to_dict
from budget.storage import tables as t


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
