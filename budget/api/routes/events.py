"""/events (a server-sent-events stream and its history) and /webhooks.

The stream sends each event as ``id: <sequence>``, ``event: <type>`` and
``data: <JSON>``; a client that reconnects with ``Last-Event-ID`` (browsers
do this by themselves) gets every event after that one, none twice. Without
it the stream starts at the next new event (``after=0``: from the first).
"""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from budget.api.deps import AdminDep, ClientDep, ServiceDep
from budget.api.schemas import Page
from budget.api.schemas_events import (
    DeliveryOut,
    EventListOut,
    EventOut,
    EventTypeOut,
    NewWebhookOut,
    ReplayIn,
    ReplayOut,
    RotateSecretIn,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)
from budget.api.strict import StrictRoute
from budget.engine.service import BudgetService
from budget.errors import ValidationError
from budget.events.bus import check_types

router = APIRouter(tags=["events"], route_class=StrictRoute)
TypesQuery = Annotated[
    list[str] | None,
    Query(description="Event types (repeat the parameter, or separate with commas)."),
]
BudgetQuery = Annotated[str | None, Query(max_length=40, pattern=r"^[^\x00]*$")]
Sequence = Annotated[int | None, Query(ge=0, le=2**62)]
STREAM_BATCH = 500


def _types(values: list[str] | None) -> frozenset[str] | None:
    names = [n.strip() for v in values or () for n in v.split(",") if n.strip()]
    return check_types(names or None)


def _start(svc: BudgetService, last_event_id: str | None, after: int | None) -> int:
    if last_event_id is not None and last_event_id.strip():
        try:
            value = int(last_event_id.strip())
        except ValueError:
            value = -1
        if value < 0:
            raise ValidationError(
                "Last-Event-ID", last_event_id, "must be the sequence number of an event"
            )
        return value
    return svc.last_event_sequence() if after is None else after


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An SSE stream"}},
)
async def stream_events(
    request: Request,
    svc: ServiceDep,
    caller: ClientDep,
    types: TypesQuery = None,
    budget_id: BudgetQuery = None,
    after: Sequence = None,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
) -> EventSourceResponse:
    """Events as they happen (server-sent events), filtered by type and budget;
    resumes after ``Last-Event-ID`` (or ``after``) without loss. A client key
    bound to budgets gets its budget's events only (with several, it names one)."""
    wanted = _types(types)
    budget_id = caller.budget(budget_id)
    start = await anyio.to_thread.run_sync(partial(_start, svc, last_event_id, after))
    poll = svc.settings.event_stream_poll_seconds

    async def messages():
        last = start
        while True:
            batch = await anyio.to_thread.run_sync(
                partial(
                    svc.list_events,
                    after=last,
                    types=wanted,
                    budget_id=budget_id,
                    limit=STREAM_BATCH,
                )
            )
            for event in batch:
                last = event.sequence or last
                body = json.dumps(event.to_dict(), separators=(",", ":"))
                yield ServerSentEvent(data=body, event=event.type, id=str(event.sequence))
            if len(batch) < STREAM_BATCH:
                await anyio.sleep(poll)

    return EventSourceResponse(
        messages(),
        ping=svc.settings.event_stream_ping_seconds,
        headers={"X-Accel-Buffering": "no"},
    )


@router.get("/events/history", response_model=EventListOut)
def event_history(
    svc: ServiceDep,
    caller: ClientDep,
    types: TypesQuery = None,
    budget_id: BudgetQuery = None,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventListOut:
    """Stored events after sequence ``after``, oldest first (for polling clients);
    a client key bound to budgets gets its budget's events only."""
    budget_id = caller.budget(budget_id)
    items = svc.list_events(after=after, types=_types(types), budget_id=budget_id, limit=limit)
    last = items[-1].sequence if items else after
    return EventListOut(items=[EventOut.of(e) for e in items], last_sequence=last or 0)


@router.get("/events/types", response_model=list[EventTypeOut])
def event_types(svc: ServiceDep, _: ClientDep) -> list[EventTypeOut]:
    """Every event type, with what it reports."""
    return [EventTypeOut(type=k, description=d) for k, d in svc.event_types().items()]


@router.post("/webhooks", status_code=201, response_model=NewWebhookOut, tags=["webhooks"])
def create_webhook(body: WebhookIn, svc: ServiceDep, _: AdminDep) -> NewWebhookOut:
    """Register a receiver; the response holds its signing secret, shown only once."""
    hook, secret = svc.create_webhook(
        body.url,
        events=body.events,
        budget_id=body.budget_id,
        description=body.description,
        kind=body.kind,
    )
    return NewWebhookOut.with_secret(hook, secret)


@router.get("/webhooks", response_model=list[WebhookOut], tags=["webhooks"])
def list_webhooks(svc: ServiceDep, _: AdminDep) -> list[WebhookOut]:
    return [WebhookOut.of(h) for h in svc.list_webhooks()]


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut, tags=["webhooks"])
def get_webhook(webhook_id: str, svc: ServiceDep, _: AdminDep) -> WebhookOut:
    return WebhookOut.of(svc.get_webhook(webhook_id))


@router.patch("/webhooks/{webhook_id}", response_model=WebhookOut, tags=["webhooks"])
def update_webhook(webhook_id: str, body: WebhookPatch, svc: ServiceDep, _: AdminDep) -> WebhookOut:
    """Change the fields given (url, events, budget_id, description, kind)."""
    return WebhookOut.of(svc.update_webhook(webhook_id, **body.model_dump(exclude_unset=True)))


@router.post("/webhooks/{webhook_id}/pause", response_model=WebhookOut, tags=["webhooks"])
def pause_webhook(webhook_id: str, svc: ServiceDep, _: AdminDep) -> WebhookOut:
    """Stop sending to the webhook; its events are kept for when it resumes."""
    return WebhookOut.of(svc.set_webhook_active(webhook_id, False))


@router.post("/webhooks/{webhook_id}/resume", response_model=WebhookOut, tags=["webhooks"])
def resume_webhook(webhook_id: str, svc: ServiceDep, _: AdminDep) -> WebhookOut:
    """Send again, from where the webhook was paused."""
    return WebhookOut.of(svc.set_webhook_active(webhook_id, True))


@router.post(
    "/webhooks/{webhook_id}/rotate-secret", response_model=NewWebhookOut, tags=["webhooks"]
)
def rotate_secret(
    webhook_id: str, svc: ServiceDep, _: AdminDep, body: RotateSecretIn | None = None
) -> NewWebhookOut:
    """A new signing secret, shown only once; the old one signs too during the overlap."""
    overlap = body.overlap_seconds if body is not None else None
    hook, secret = svc.rotate_webhook_secret(webhook_id, overlap_seconds=overlap)
    return NewWebhookOut.with_secret(hook, secret)


@router.delete("/webhooks/{webhook_id}", status_code=204, tags=["webhooks"])
def delete_webhook(webhook_id: str, svc: ServiceDep, _: AdminDep) -> None:
    """Remove a webhook and its delivery records."""
    svc.delete_webhook(webhook_id)


@router.get(
    "/webhooks/{webhook_id}/deliveries", response_model=Page[DeliveryOut], tags=["webhooks"]
)
def list_deliveries(
    webhook_id: str,
    svc: ServiceDep,
    _: AdminDep,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Page[DeliveryOut]:
    """Deliveries, newest first: pending (next attempt), delivered, or dead."""
    items = svc.list_webhook_deliveries(webhook_id, status=status, limit=limit, offset=offset)
    return Page(
        items=[DeliveryOut.of(d) for d in items],
        total=items.total,  # type: ignore[attr-defined]
        limit=limit,
        offset=offset,
    )


@router.post("/webhooks/{webhook_id}/replay", response_model=ReplayOut, tags=["webhooks"])
def replay(webhook_id: str, body: ReplayIn, svc: ServiceDep, _: AdminDep) -> ReplayOut:
    """Send deliveries again with fresh attempts (default: every dead one)."""
    count = svc.replay_webhook_deliveries(
        webhook_id,
        delivery_id=body.delivery_id,
        status=body.status,
        since_sequence=body.since_sequence,
    )
    return ReplayOut(replayed=count)
