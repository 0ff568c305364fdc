"""Hostile values and the request bodies they are put into, shared by the fuzz tests.

A value is raw JSON text (so NaN, Infinity and ``1e400`` can be bare tokens
and a lone surrogate an escape the client sends as such). ``body_with`` puts one
value in place of one field of a valid body.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import create_engine, text

PLACEHOLDER = "__HOSTILE__"

#: Raw JSON tokens, by type: numbers out of range, non-finite numbers, bad text, dates.
VALUES: list[str] = [
    "NaN",
    "Infinity",
    "-Infinity",
    '"NaN"',
    '"Infinity"',
    "1e400",
    "-1e400",
    "1e308",
    str(2**63),
    str(-(2**63) - 1),
    str(10**15),
    str(10**30),
    "-1",
    "0.5",
    "1.0",
    "true",
    "null",
    "{}",
    "[]",
    '"\\ud800"',
    '"x\\udfffy"',
    '"a\\u0000b"',
    '"\\u0000"',
    '"' + "x" * 100_000 + '"',
    '"' + "é" * 257 + '"',
    '{"k": "\\ud800"}',
    '{"\\ud800": 1}',
    '{"k": "\\u0000"}',
    '["\\ud800"]',
    '"9999-12-31T23:59:59Z"',
    '"0001-01-01T00:00:00Z"',
    '"9999-12-31"',
    '"2026-02-30T00:00:00Z"',
    '"2026-12-01"',
    '"1e3"',
    '"-0"',
    "[" * 60 + "]" * 60,
]


def body_with(base: dict[str, Any], path: tuple[str, ...], value: str) -> str:
    """``base`` as JSON text with the field at ``path`` replaced by the raw ``value``."""
    data = json.loads(json.dumps(base))
    target = data
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target[int(key)]
    if isinstance(target, list):
        target[int(path[-1])] = PLACEHOLDER
    else:
        target[path[-1]] = PLACEHOLDER
    return json.dumps(data).replace(json.dumps(PLACEHOLDER), value)


def fields(base: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every field path of ``base``, nested ones included, plus a new metadata key."""
    out: list[tuple[str, ...]] = []
    for key, value in base.items():
        out.append((*prefix, key))
        if isinstance(value, dict):
            out.extend(fields(value, (*prefix, key)))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out.extend(fields(value[0], (*prefix, key, "0")))
    return out


RAW_BODIES: list[tuple[bytes, str]] = [
    (b'{"name": "\xff\xfe"}', "application/json"),
    (b'{"name": "a", "name": "b"}', "application/json"),
    (b'{"name": "team"}', "text/plain"),
    (b"name=team", "application/x-www-form-urlencoded"),
    (b"[" * 10_000 + b"]" * 10_000, "application/json"),
    (b"NaN", "application/json"),
    (b"", "application/json"),
    (b'{"name": "team"', "application/json"),
    (b"\x00\x00", "application/json"),
]


class Snapshot:
    """Row counts, counters and change times of the tables a request could change.

    Windows are the one exception to "nothing changed": a request's windows are
    created before its transaction, from the ledger (docs/limits.md), so a
    refused request may leave a new window behind. It must hold exactly what the
    summary already showed for it: nothing reserved, and the windows that
    existed before keep their counters.
    """

    TABLES = (
        "budgets",
        "policies",
        "allocations",
        "usage_records",
        "alerts",
        "api_keys",
        "webhooks",
        "events",
        "prices",
        "usage_rollups",
    )

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        parts = [f"(SELECT count(*) FROM {t}) AS {t}" for t in self.TABLES]
        parts += [
            "(SELECT max(updated_at) FROM budgets) AS budgets_updated",
            "(SELECT max(updated_at) FROM policies) AS policies_updated",
            "(SELECT coalesce(max(id), 0) FROM windows) AS last_window",
            "(SELECT sum(used_tokens + reserved_tokens) FROM windows WHERE id <= :upto)"
            " AS window_tokens",
            "(SELECT sum(used_nanos + reserved_nanos) FROM windows WHERE id <= :upto)"
            " AS window_nanos",
            "(SELECT coalesce(sum(reserved_tokens + reserved_nanos), 0) FROM windows"
            " WHERE id > :upto) AS new_windows_reserved",
            "(SELECT sum(tokens_remaining + tokens_used) FROM allocations) AS held",
            "(SELECT count(*) FROM allocations WHERE status = 'active') AS active",
            "(SELECT count(*) FROM alerts WHERE acknowledged_at IS NULL) AS open_alerts",
        ]
        self.query = text("SELECT " + ", ".join(parts))

    def take(self, upto: int | None = None) -> dict:
        """The snapshot; window counters of the windows up to id ``upto`` (all)."""
        with self.engine.connect() as conn:
            bound = 2**62 if upto is None else upto
            out = dict(conn.execute(self.query, {"upto": bound}).one()._mapping)
        if upto is not None:
            out.pop("last_window")
        return out

    @staticmethod
    def data(snapshot: dict) -> dict:
        """The snapshot without the alerts and events a refusal records on purpose."""
        return {k: v for k, v in snapshot.items() if k not in REFUSAL_TRAIL}

    def close(self) -> None:
        self.engine.dispose()


#: A refusal by a rule (a hard limit, a model without a price) raises an alert
#: and its event; invalid input writes nothing at all.
REFUSAL_TRAIL = frozenset({"alerts", "events", "open_alerts"})
REFUSALS = frozenset({"urn:budget:problem:budget-exceeded", "urn:budget:problem:price-unknown"})
