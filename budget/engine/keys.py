"""API keys of the REST service: random secrets, stored as SHA-256 hashes.

The secrets carry 256 bits of randomness, so a fast hash is safe here (unlike
passwords, they cannot be guessed from a dictionary).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, or_, select, update

from budget.domain import validation as v
from budget.domain.clock import utcnow
from budget.engine.context import EngineContext
from budget.errors import Conflict, NotFound, ValidationError
from budget.storage import tables as t
from budget.storage.sql import new_id

ROLES = ("admin", "client")
K = t.api_keys.c


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    role: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(ctx: EngineContext, name: str, role: str = "client") -> tuple[ApiKey, str]:
    """A new key and its secret; the secret is returned once and never stored."""
    name = v.text("name", name, required=True, max_len=200)
    if role not in ROLES:
        raise ValidationError("role", role, "must be admin or client")
    secret = "bgt_" + secrets.token_urlsafe(32)
    key_id = new_id("key")
    with ctx.db.write() as conn:
        if conn.execute(select(K.id).where(K.name == name)).first():
            raise Conflict("name", name, "an API key with this name already exists")
        conn.execute(
            insert(t.api_keys).values(
                id=key_id,
                name=name,
                role=role,
                prefix=secret[:10],
                key_hash=hash_secret(secret),
                created_at=utcnow(),
                last_used_at=None,
                revoked_at=None,
            )
        )
    return get_key(ctx, key_id), secret


def get_key(ctx: EngineContext, key_id: str) -> ApiKey:
    with ctx.db.read() as conn:
        row = conn.execute(select(t.api_keys).where(K.id == key_id)).first()
    if row is None:
        raise NotFound("API key", "key_id", key_id)
    return _key(row)


def list_keys(ctx: EngineContext) -> list[ApiKey]:
    with ctx.db.read() as conn:
        rows = conn.execute(select(t.api_keys).order_by(K.created_at, K.id)).all()
    return [_key(r) for r in rows]


def revoke_key(ctx: EngineContext, key_id: str) -> ApiKey:
    """Stop accepting a key; revoking twice keeps the first time."""
    with ctx.db.write() as conn:
        row = conn.execute(select(t.api_keys).where(K.id == key_id)).first()
        if row is None:
            raise NotFound("API key", "key_id", key_id)
        if row.revoked_at is None:
            conn.execute(update(t.api_keys).where(K.id == key_id).values(revoked_at=utcnow()))
    return get_key(ctx, key_id)


def active_key_count(ctx: EngineContext) -> int:
    with ctx.db.read() as conn:
        return conn.execute(
            select(func.count()).select_from(t.api_keys).where(K.revoked_at.is_(None))
        ).scalar_one()


#: ``last_used_at`` is written at most this often per key (a write per request would
#: put every authenticated call behind one row).
LAST_USED_EVERY = timedelta(minutes=1)


def authenticate(ctx: EngineContext, secret: str) -> ApiKey | None:
    """The live key with this secret, or None; notes when it was last used."""
    with ctx.db.read() as conn:
        row = conn.execute(
            select(t.api_keys).where(K.key_hash == hash_secret(secret), K.revoked_at.is_(None))
        ).first()
    if row is None:
        return None
    key = _key(row)
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        _note_use(ctx, key.key_id, now)
        key = dataclasses.replace(key, last_used_at=now)
    return key


def _note_use(ctx: EngineContext, key_id: str, now: datetime) -> None:
    stale = or_(K.last_used_at.is_(None), K.last_used_at <= now - LAST_USED_EVERY)
    with ctx.db.write() as conn:
        conn.execute(update(t.api_keys).where(K.id == key_id, stale).values(last_used_at=now))


def _key(row) -> ApiKey:
    return ApiKey(
        key_id=row.id,
        name=row.name,
        role=row.role,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )
