"""API keys of the REST service: random secrets, stored as SHA-256 hashes.

The secrets carry 256 bits of randomness, so a fast hash is safe here (unlike
passwords, they cannot be guessed from a dictionary).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from budget.clock import utcnow
from budget.domain import validation as v
from budget.domain.api_keys import ROLES, ApiKey
from budget.engine.context import EngineContext
from budget.errors import Conflict, Forbidden, NotFound, ValidationError


def bind_request(key: ApiKey | None, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` of a request with the identity of a client key filled in.

    Admin keys (and an open server, ``key`` None) act as they say. A client
    key's request carries the key's attributes; one that claims another value
    for any of them is refused, naming the attribute.
    """
    if key is None or key.role == "admin":
        return fields
    out = dict(fields)
    for name, value in key.bound().items():
        given = out.get(name)
        if given is not None and given != value:
            raise Forbidden(name, given, f"key {key.name!r} is bound to {name}={value!r}")
        out[name] = value
    return out


def visible_budget(key: ApiKey | None, budget_id: str | None) -> str | None:
    """The budget a read by ``key`` is about: the one given if the key sees it,
    the key's only budget when none is given; all (None) for other keys."""
    if key is None or key.role == "admin" or key.budget_ids is None:
        return budget_id
    if budget_id is not None:
        if budget_id not in key.budget_ids:
            raise NotFound("budget", "budget_id", budget_id)
        return budget_id
    if len(key.budget_ids) == 1:
        return key.budget_ids[0]
    raise Forbidden(
        "budget_id",
        None,
        f"key {key.name!r} sees the budgets {', '.join(key.budget_ids)}: name one of them",
    )


def budgets_seen(key: ApiKey | None) -> tuple[str, ...] | None:
    """The budgets ``key`` may see; None for all (admin keys, unbound keys, no key)."""
    if key is None or key.role == "admin":
        return None
    return key.budget_ids


def sees_allocation(key: ApiKey | None, allocation) -> bool:
    """A client key sees the allocations made with it (its name as api_key)."""
    return key is None or key.role == "admin" or allocation.attributes.api_key == key.name


def sees_usage(ctx: EngineContext, key: ApiKey | None, record) -> bool:
    """A key bound to budgets sees a usage record one of its budgets' policies covers."""
    from budget.engine.policies import list_policies

    seen = budgets_seen(key)
    if seen is None:
        return True
    return any(p.scope.matches(record.attributes) for b in seen for p in list_policies(ctx, b))


def sees_budget(key: ApiKey | None, budget_id: str) -> bool:
    return (
        key is None
        or key.role == "admin"
        or key.budget_ids is None
        or (budget_id in key.budget_ids)
    )


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    ctx: EngineContext,
    name: str,
    role: str = "client",
    *,
    user: Any = None,
    project: Any = None,
    component: Any = None,
    budgets: Any = None,
) -> tuple[ApiKey, str]:
    """A new key and its secret; the secret is returned once and never stored.

    A client key may be bound to a ``user``, ``project`` and ``component``
    (requests made with it carry them, and may not claim others) and to
    ``budgets`` (ids or names): the budgets whose summaries, usage and alerts
    it sees. Its ``api_key`` attribute is always its own name.
    """
    name = v.text("name", name, required=True, max_len=200)
    if role not in ROLES:
        raise ValidationError("role", role, "must be admin or client")
    binding = {
        "bound_user": v.text("user", user),
        "bound_project": v.text("project", project),
        "bound_component": v.text("component", component),
        "budget_ids": _budget_ids(ctx, budgets),
    }
    if role == "admin" and any(value is not None for value in binding.values()):
        raise ValidationError("role", role, "only client keys are bound; admin keys act on all")
    secret = "bgt_" + secrets.token_urlsafe(32)
    with ctx.db.write() as tx:
        if tx.keys.name_taken(name):
            raise Conflict("name", name, "an API key with this name already exists")
        key_id = tx.keys.insert(
            name=name,
            role=role,
            prefix=secret[:10],
            key_hash=hash_secret(secret),
            binding=binding,
            now=utcnow(),
        )
    return get_key(ctx, key_id), secret


def _budget_ids(ctx: EngineContext, refs: Any) -> list[str] | None:
    """Budget ids from ids or names (None: no restriction)."""
    from budget.engine.budgets import find_budget, get_budget

    if refs is None:
        return None
    if isinstance(refs, str):
        refs = [refs]
    out = []
    for ref in refs:
        ref = v.text("budgets", ref, required=True, max_len=200)
        try:
            out.append(get_budget(ctx, ref).budget_id)
        except NotFound:
            out.append(find_budget(ctx, ref).budget_id)
    if not out:
        raise ValidationError("budgets", refs, "give at least one budget, or none for all")
    return sorted(set(out))


def get_key(ctx: EngineContext, key_id: str) -> ApiKey:
    with ctx.db.read() as tx:
        key = tx.keys.get(key_id)
    if key is None:
        raise NotFound("API key", "key_id", key_id)
    return key


def list_keys(ctx: EngineContext) -> list[ApiKey]:
    with ctx.db.read() as tx:
        return tx.keys.all()


def revoke_key(ctx: EngineContext, key_id: str) -> ApiKey:
    """Stop accepting a key; revoking twice keeps the first time."""
    with ctx.db.write() as tx:
        key = tx.keys.get(key_id)
        if key is None:
            raise NotFound("API key", "key_id", key_id)
        if key.revoked_at is None:
            tx.keys.revoke(key_id, utcnow())
    return get_key(ctx, key_id)


def active_key_count(ctx: EngineContext) -> int:
    with ctx.db.read() as tx:
        return tx.keys.live_count()


#: ``last_used_at`` is written at most this often per key (a write per request would
#: put every authenticated call behind one row).
LAST_USED_EVERY = timedelta(minutes=1)


def authenticate(ctx: EngineContext, secret: str) -> ApiKey | None:
    """The live key with this secret, or None; notes when it was last used."""
    with ctx.db.read() as tx:
        key = tx.keys.live_by_hash(hash_secret(secret))
    if key is None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        _note_use(ctx, key.key_id, now)
        key = dataclasses.replace(key, last_used_at=now)
    return key


def _note_use(ctx: EngineContext, key_id: str, now: datetime) -> None:
    with ctx.db.write() as tx:
        tx.keys.note_use(key_id, now, unless_since=now - LAST_USED_EVERY)
