"""Webhooks: registering receivers and delivering the outbox's events to them,
signed, with retries and a circuit per receiver (docs/webhooks.md).

The outbox itself is :mod:`budget.events`; this package only reads it.
Nothing here connects or starts a thread at import time: the runtime starts
the dispatcher when asked (see :mod:`budget.engine.runtime`).
"""
