"""Repository of ledger corrections: the record corrected, what its earlier
corrections add up to, and appending a correction with its windows' counters.

Ledger rows come back as plain objects with the ledger's column names as
attributes (``row.kind``, ``row.cost_nanos`` ...): a correction copies them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select

from budget.domain.models import WindowCounters
from budget.storage import ledger as store_ledger
from budget.storage import tables as t
from budget.storage import windows as store_windows
from budget.storage.batch import pipeline
from budget.storage.meta import VERSIONS_SQL
from budget.storage.sql import new_id
from budget.storage.unit import Unit

U = t.usage_records.c
#: The version counters, read in the correction's transaction.


@dataclass(frozen=True)
class Appended:
    """What appending a correction found: whether its row went in (its request
    id may be taken), the versions read, and the counters of its windows after."""

    inserted: bool
    versions: list[tuple[str, int]]
    counters: dict[int, WindowCounters] = field(default_factory=dict)


class Corrections:
    """Corrections of the ledger in one transaction."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def new_row_id(self) -> str:
        """A fresh id for a ledger row."""
        return new_id("use")

    def row(self, usage_id: str) -> SimpleNamespace | None:
        """The ledger row with this id, if any."""
        return _plain(self.tx.execute(select(t.usage_records).where(U.id == usage_id)).first())

    def by_request_id(self, request_id: str) -> SimpleNamespace | None:
        """The ledger row stored under this request id, if any."""
        query = select(t.usage_records).where(U.request_id == request_id)
        return _plain(self.tx.execute(query).first())

    def count_of(self, usage_id: str) -> int:
        """How many corrections of a record the ledger holds."""
        query = select(func.count()).where(U.corrects_id == usage_id)
        return self.tx.execute(query).scalar_one()

    def corrected_so_far(
        self, usage_id: str, amounts: Sequence[str]
    ) -> tuple[dict[str, int], str | None]:
        """What the corrections of a record add to its ``amounts`` (columns), and
        the id of its void if any. On PostgreSQL the record is locked first:
        corrections of it queue here."""
        if not self.tx.is_sqlite:
            self.tx.execute(select(U.id).where(U.id == usage_id).with_for_update())
        sums = self.tx.execute(
            select(*(func.coalesce(func.sum(U[name]), 0) for name in amounts)).where(
                U.corrects_id == usage_id
            )
        ).one()
        void = self.tx.execute(
            select(U.id).where(U.corrects_id == usage_id, U.kind == "void").limit(1)
        ).scalar()
        return {name: int(x) for name, x in zip(amounts, sums, strict=True)}, void

    def append(
        self,
        values: Mapping[str, Any],
        added: dict[int, tuple[int, int, int]],
        alongside: Callable[[], None],
    ) -> Appended:
        """Insert the correction's row (unless its request id is taken) and add
        ``added`` ({window id: (tokens, nanos, requests)}) to its windows, with
        the windows locked in id order; ``alongside`` runs the caller's own
        statements (the rollups) in the same round trip on PostgreSQL."""
        with pipeline(self.tx.conn) as s:
            store_windows.lock(s, sorted(added))
            inserts = store_ledger.insert_many(s, [values])
            versions = s.run(VERSIONS_SQL)
            counted = store_windows.add_used_each(s, added) if added else None
            alongside()
            inserted = bool(store_ledger.inserted_ids(s, inserts))
            read = [(key, value) for key, value in s.fetchall(versions)]
            after = {} if counted is None else store_windows.counters_by_id(s.fetchall(counted))
        return Appended(inserted, read, after)


def _plain(row: Any) -> SimpleNamespace | None:
    return None if row is None else SimpleNamespace(**row._mapping)
