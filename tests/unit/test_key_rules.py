"""API key decisions of the engine, on a fake repository (no SQL)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fake_units import fake_context

from budget import clock
from budget.domain.api_keys import ApiKey
from budget.engine import keys
from budget.errors import Conflict, NotFound, ValidationError

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


class FakeKeys:
    def __init__(self) -> None:
        self.rows: dict[str, ApiKey] = {}
        self.hashes: dict[str, str] = {}
        self.noted: list[tuple[str, datetime, datetime]] = []
        self.revoked: list[str] = []

    def name_taken(self, name: str) -> bool:
        return any(k.name == name for k in self.rows.values())

    def insert(self, *, name, role, prefix, key_hash, binding: dict[str, Any], now) -> str:
        key_id = f"key_{len(self.rows) + 1}"
        budget_ids = binding["budget_ids"]
        self.rows[key_id] = ApiKey(
            key_id,
            name,
            role,
            prefix,
            now,
            None,
            None,
            user=binding["bound_user"],
            project=binding["bound_project"],
            component=binding["bound_component"],
            budget_ids=None if budget_ids is None else tuple(budget_ids),
        )
        self.hashes[key_hash] = key_id
        return key_id

    def get(self, key_id: str) -> ApiKey | None:
        return self.rows.get(key_id)

    def live_by_hash(self, key_hash: str) -> ApiKey | None:
        key = self.rows.get(self.hashes.get(key_hash, ""))
        return key if key is not None and key.revoked_at is None else None

    def revoke(self, key_id: str, now: datetime) -> None:
        self.revoked.append(key_id)
        self.rows[key_id] = dataclasses.replace(self.rows[key_id], revoked_at=now)

    def note_use(self, key_id: str, now: datetime, unless_since: datetime) -> None:
        self.noted.append((key_id, now, unless_since))
        self.rows[key_id] = dataclasses.replace(self.rows[key_id], last_used_at=now)


@pytest.fixture
def now() -> Iterator[list[datetime]]:
    """The clock: set ``now[0]`` to move it."""
    moment = [NOW]
    clock.set_clock(lambda: moment[0])
    yield moment
    clock.set_clock(None)


@pytest.fixture
def ctx(now):
    return fake_context(keys=FakeKeys())


def test_a_taken_key_name_is_a_conflict_before_any_write(ctx) -> None:
    keys.create_key(ctx, "app")
    with pytest.raises(Conflict) as err:
        keys.create_key(ctx, "app", "admin")
    assert (err.value.field, err.value.value) == ("name", "app")
    assert len(ctx.db.unit.keys.rows) == 1


def test_only_client_keys_are_bound(ctx) -> None:
    with pytest.raises(ValidationError) as err:
        keys.create_key(ctx, "ops", "admin", user="alice")
    assert err.value.field == "role"
    with pytest.raises(ValidationError):
        keys.create_key(ctx, "ops", "root")
    assert ctx.db.unit.keys.rows == {}
    key, secret = keys.create_key(ctx, "alice-app", user="alice", project="p")
    assert key.bound() == {"api_key": "alice-app", "user": "alice", "project": "p"}
    assert secret.startswith("bgt_") and key.prefix == secret[:10]
    assert secret not in ctx.db.unit.keys.hashes  # only its hash is stored


def test_a_key_is_found_by_its_secret_until_revoked(ctx) -> None:
    key, secret = keys.create_key(ctx, "app")
    assert keys.authenticate(ctx, secret).key_id == key.key_id
    assert keys.authenticate(ctx, secret + "x") is None
    keys.revoke_key(ctx, key.key_id)
    keys.revoke_key(ctx, key.key_id)  # revoking twice keeps the first time
    assert ctx.db.unit.keys.revoked == [key.key_id]
    assert keys.authenticate(ctx, secret) is None
    with pytest.raises(NotFound):
        keys.revoke_key(ctx, "key_gone")


def test_last_use_is_written_at_most_once_a_minute(ctx, now) -> None:
    _, secret = keys.create_key(ctx, "app")
    for moment in (NOW, NOW + timedelta(seconds=30), NOW + timedelta(minutes=2)):
        now[0] = moment
        assert keys.authenticate(ctx, secret) is not None
    noted = ctx.db.unit.keys.noted
    assert [n[1] for n in noted] == [NOW, NOW + timedelta(minutes=2)]
    assert noted[0][2] == NOW - keys.LAST_USED_EVERY  # a concurrent note wins, not both


def test_a_client_key_claiming_another_identity_is_refused() -> None:
    key = ApiKey("key_1", "alice-app", "client", "bgt_x", NOW, None, None, user="alice")
    assert keys.bind_request(key, {"user": None})["user"] == "alice"
    with pytest.raises(keys.Forbidden) as err:
        keys.bind_request(key, {"user": "bob"})
    assert err.value.field == "user"
