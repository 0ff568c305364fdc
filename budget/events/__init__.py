"""Events: the outbox, in-process subscribers, webhooks, the SSE stream and
the service-registry client. Nothing here connects or starts a thread at
import time; the service starts what it needs (see docs/events.md)."""
