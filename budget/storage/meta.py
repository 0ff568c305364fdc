"""The ``meta`` table's version counters, and what every process caches by them.

Each process keeps the policies in force and the prices in memory and
reloads them only when a counter here moves; whoever changes policies or
prices bumps the counter in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import select, update

from budget.domain.models import Policy
from budget.domain.prices import Price
from budget.storage import tables as t
from budget.storage.batch import Pending
from budget.storage.mapping import row_to_policy
from budget.storage.prices import load_current_prices
from budget.storage.sql import insert_ignoring_conflicts
from budget.storage.unit import Unit

#: The versions as driver SQL, for the write path's pipelined statements.
VERSIONS_SQL = "SELECT key, value FROM meta"
_VERSIONS = select(t.meta.c.key, t.meta.c.value)
P = t.policies.c
B = t.budgets.c
_IN_FORCE = (
    select(t.policies)
    .join(t.budgets, B.id == P.budget_id)
    .where(P.deleted_at.is_(None), B.deleted_at.is_(None), B.active.is_(True))
    .order_by(P.created_at, P.id)
)


class Meta:
    """Version counters and the cached data they stand for, in one transaction."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def versions(self) -> dict[str, int]:
        """Every counter by key (a key never bumped is absent)."""
        return dict(self.tx.execute(_VERSIONS).all())

    def queue_versions(self) -> Pending[dict[str, int]]:
        """:meth:`versions`, sent with the write path's other statements."""
        s = self.tx.batch.runner()
        cursor = s.run(VERSIONS_SQL)
        return Pending(lambda: dict(s.fetchall(cursor)))

    def bump(self, key: str) -> None:
        """Add one to a counter (created at 0 first if missing)."""
        meta = t.meta
        self.tx.execute(insert_ignoring_conflicts(self.tx, meta).values(key=key, value=0))
        self.tx.execute(update(meta).where(meta.c.key == key).values(value=meta.c.value + 1))

    def policies_in_force(self) -> tuple[Policy, ...]:
        """The live policies of live, active budgets, oldest first."""
        return tuple(row_to_policy(r) for r in self.tx.execute(_IN_FORCE).all())

    def current_prices(self) -> list[Price]:
        """Every stored price row (history included), in catalog order."""
        return load_current_prices(self.tx.conn)
