"""Windows a request meets for the first time: created from the ledger.

A policy's window is created the first time a request meets it, in a short
transaction of its own before the request's, starting with the ledger's
usage inside its span (:mod:`budget.engine.seed`). The same starting point
stands for a window not created yet when its counters are shown.
"""

from __future__ import annotations

from datetime import datetime

from budget.domain.models import Policy, WindowCounters
from budget.domain.periods import WindowSpan
from budget.engine.context import EngineContext
from budget.engine.seed import seeded
from budget.storage.unit import Unit

#: Window ids a process remembers before it starts over (a lookup refills one).
WINDOW_IDS_KEPT = 200_000


def ensure_windows(ctx: EngineContext, spans: list[tuple[Policy, WindowSpan]], now: datetime):
    """Make sure every window of ``spans`` exists, creating the missing ones
    from the ledger (see :mod:`budget.engine.seed`), each in a short
    transaction of its own, before the caller's transaction starts."""
    missing = [(p, s) for p, s in spans if (p.policy_id, s.key) not in ctx.window_ids]
    if not missing:
        return
    if len(ctx.window_ids) > WINDOW_IDS_KEPT:  # past windows, or many subjects of an each policy
        ctx.window_ids.clear()
    with ctx.db.read() as tx:
        for policy, span in missing:
            found = tx.windows.find(policy.policy_id, span.key)
            if found is not None:
                ctx.window_ids[(policy.policy_id, span.key)] = found
    for policy, span in missing:
        key = (policy.policy_id, span.key)
        if key not in ctx.window_ids:
            ctx.window_ids[key] = ctx.db.run_write(
                lambda tx, p=policy, s=span: create_window(tx, p, s, now)
            )


def create_window(tx: Unit, policy: Policy, span: WindowSpan, now: datetime) -> int:
    """The id of a policy's window, created if missing with the ledger's usage inside it.

    On PostgreSQL the transaction first holds ledger writes back
    (:meth:`~budget.storage.ledger.Ledger.hold_writes`): it waits for every
    transaction that has written usage to finish (so their rows are in the
    sum) and holds new ledger writes back until the window is committed (so
    they find it and count on it themselves, or restart on a changed policy
    version, which writes check after their ledger insert). Nothing else
    waits: allocations do not write the ledger. SQLite writes one
    transaction at a time anyway.
    """
    found = tx.windows.find(policy.policy_id, span.key)
    if found is not None:
        return found
    tx.ledger.hold_writes()
    return tx.windows.insert(policy, span, seeded(tx, policy, span), now)


def current_counters(tx: Unit, policy: Policy, span: WindowSpan) -> WindowCounters:
    """A window's counters, or those it would start with if not created yet."""
    counters = tx.windows.counters(policy.policy_id, span.key)
    return seeded(tx, policy, span) if counters is None else counters
