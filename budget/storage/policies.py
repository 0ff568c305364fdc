"""Repository of policies: live rows, writes, soft deletes, and retiring a
policy's live windows when a change makes them count different usage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, insert, literal, or_, select, update

from budget.domain.limits import ID_LENGTH
from budget.domain.models import Policy
from budget.storage import tables as t
from budget.storage.mapping import row_to_policy
from budget.storage.sql import new_id
from budget.storage.unit import Unit

P = t.policies.c
W = t.windows.c


class Policies:
    """Policies in one transaction."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def get(self, policy_id: str) -> Policy | None:
        """The live policy with this id, if any."""
        row = self._live_row(policy_id)
        return None if row is None else row_to_policy(row)

    def columns(self, policy_id: str) -> dict[str, Any] | None:
        """The stored columns of a live policy (as :meth:`insert` takes them), if any."""
        row = self._live_row(policy_id)
        return None if row is None else dict(row._mapping)

    def live(self, budget_id: str | None = None) -> list[Policy]:
        """Live policies, of one budget or of all, oldest first."""
        query = select(t.policies).where(P.deleted_at.is_(None))
        if budget_id is not None:
            query = query.where(P.budget_id == budget_id)
        rows = self.tx.execute(query.order_by(P.created_at, P.id)).all()
        return [row_to_policy(r) for r in rows]

    def insert(self, budget_id: str, fields: dict[str, Any], now: datetime) -> str:
        """A new live policy of a budget with ``fields`` (columns); returns its id."""
        policy_id = new_id("pol")
        self.tx.execute(
            insert(t.policies).values(
                id=policy_id,
                budget_id=budget_id,
                created_at=now,
                updated_at=now,
                deleted_at=None,
                **fields,
            )
        )
        return policy_id

    def update(self, policy_id: str, fields: dict[str, Any], now: datetime) -> None:
        """Change the given columns of a policy."""
        self.tx.execute(
            update(t.policies).where(P.id == policy_id).values(updated_at=now, **fields)
        )

    def soft_delete(self, policy_id: str, now: datetime) -> None:
        """Mark a policy deleted (and disabled); its windows and alerts stay."""
        self.tx.execute(
            update(t.policies)
            .where(P.id == policy_id)
            .values(deleted_at=now, updated_at=now, enabled=False)
        )

    def soft_delete_of_budget(self, budget_id: str, now: datetime) -> None:
        """Mark every live policy of a budget deleted (and disabled)."""
        self.tx.execute(
            update(t.policies)
            .where(P.budget_id == budget_id, P.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now, enabled=False)
        )

    def retire_windows(self, policy_id: str, now: datetime) -> None:
        """Retire a policy's live windows: each keeps its row (live reservations
        give back to it) under a new key, and the next request creates a fresh
        window from the ledger in its place."""
        retired_key = func.substr(
            literal("~") + cast(W.id, String) + literal(":") + W.window_key, 1, ID_LENGTH
        )
        self.tx.execute(
            update(t.windows)
            .where(
                W.policy_id == policy_id,
                W.superseded_at.is_(None),
                or_(W.ends_at.is_(None), W.ends_at > now),
            )
            .values(window_key=retired_key, superseded_at=now)
        )

    def _live_row(self, policy_id: str):
        return self.tx.execute(
            select(t.policies).where(P.id == policy_id, P.deleted_at.is_(None))
        ).first()
