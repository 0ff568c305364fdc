"""Events: the outbox (every change others may care about, stored in the
change's own transaction), its event types, and the in-process subscribers.
Webhook delivery reads the outbox from :mod:`budget.webhooks`. Nothing here
connects or starts a thread at import time (see docs/events.md)."""
