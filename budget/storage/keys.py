"""Repository of API keys: rows by id, name or secret hash, writes.

Only a hash of each secret is stored; names and hashes are unique, and an
insert that breaks either becomes :class:`budget.errors.Conflict`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from budget.domain.api_keys import ApiKey
from budget.errors import Conflict
from budget.storage import tables as t
from budget.storage.sql import new_id
from budget.storage.unit import Unit

K = t.api_keys.c
NAME_TAKEN = "an API key with this name already exists"


class Keys:
    """API keys in one transaction."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def get(self, key_id: str) -> ApiKey | None:
        row = self.tx.execute(select(t.api_keys).where(K.id == key_id)).first()
        return None if row is None else _key(row)

    def name_taken(self, name: str) -> bool:
        return self.tx.execute(select(K.id).where(K.name == name)).first() is not None

    def all(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first."""
        rows = self.tx.execute(select(t.api_keys).order_by(K.created_at, K.id)).all()
        return [_key(r) for r in rows]

    def live_by_hash(self, key_hash: str) -> ApiKey | None:
        """The unrevoked key whose secret has this hash, if any."""
        row = self.tx.execute(
            select(t.api_keys).where(K.key_hash == key_hash, K.revoked_at.is_(None))
        ).first()
        return None if row is None else _key(row)

    def live_count(self) -> int:
        return self.tx.execute(
            select(func.count()).select_from(t.api_keys).where(K.revoked_at.is_(None))
        ).scalar_one()

    def insert(
        self,
        *,
        name: str,
        role: str,
        prefix: str,
        key_hash: str,
        binding: dict[str, Any],
        now: datetime,
    ) -> str:
        """A new key (``binding``: bound_user, bound_project, bound_component,
        budget_ids); returns its id."""
        key_id = new_id("key")
        statement = insert(t.api_keys).values(
            id=key_id,
            name=name,
            role=role,
            prefix=prefix,
            key_hash=key_hash,
            created_at=now,
            last_used_at=None,
            revoked_at=None,
            **binding,
        )
        try:
            self.tx.execute(statement)
        except IntegrityError:
            raise Conflict("name", name, NAME_TAKEN) from None
        return key_id

    def revoke(self, key_id: str, now: datetime) -> None:
        self.tx.execute(update(t.api_keys).where(K.id == key_id).values(revoked_at=now))

    def note_use(self, key_id: str, now: datetime, unless_since: datetime) -> None:
        """Set ``last_used_at`` unless it is already after ``unless_since``."""
        stale = or_(K.last_used_at.is_(None), K.last_used_at <= unless_since)
        self.tx.execute(update(t.api_keys).where(K.id == key_id, stale).values(last_used_at=now))


def _key(row: Any) -> ApiKey:
    return ApiKey(
        key_id=row.id,
        name=row.name,
        role=row.role,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        user=row.bound_user,
        project=row.bound_project,
        component=row.bound_component,
        budget_ids=None if row.budget_ids is None else tuple(row.budget_ids),
    )
