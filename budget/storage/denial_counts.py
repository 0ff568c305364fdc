"""The denial counters: one row per policy and limit kind, added to by each refusal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from budget.storage.tables_denials import policy_denials

C = policy_denials.c


@dataclass(frozen=True)
class DenialCount:
    """How many allocations a policy refused on one limit kind, and when last."""

    budget_id: str
    policy_id: str
    limit_kind: str
    denials: int
    last_denied_at: datetime


def count_denials(conn: Connection, denials: Iterable, now: datetime) -> None:
    """Add one refusal per denial (``budget.errors.Denial``) in ``conn``'s
    transaction: INSERT … ON CONFLICT DO UPDATE, so concurrent refusals add up."""
    counted = Counter((d.budget_id, d.policy_id, d.limit_kind) for d in denials)
    if not counted:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(policy_denials)
    stmt = insert.on_conflict_do_update(
        index_elements=["policy_id", "limit_kind"],
        set_={"denials": C.denials + insert.excluded.denials, "last_denied_at": now},
    )
    rows = [
        {
            "budget_id": budget_id,
            "policy_id": policy_id,
            "limit_kind": kind,
            "denials": n,
            "last_denied_at": now,
        }
        for (budget_id, policy_id, kind), n in sorted(counted.items())
    ]
    conn.execute(stmt, rows)


def read_denial_counts(conn: Connection) -> list[DenialCount]:
    """Every counter, by policy and limit kind."""
    rows = conn.execute(select(policy_denials).order_by(C.policy_id, C.limit_kind)).all()
    return [
        DenialCount(r.budget_id, r.policy_id, r.limit_kind, r.denials, r.last_denied_at)
        for r in rows
    ]
