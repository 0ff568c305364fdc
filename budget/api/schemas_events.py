"""Request and response models of the events and webhooks endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from budget.api.schemas import Int, Strict
from budget.api.schemas_declared import declared
from budget.domain import redact
from budget.events.types import Event
from budget.webhooks.webhooks import Delivery, Webhook

Url = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]
EventType = Annotated[str, StringConstraints(min_length=1, max_length=60)]
BudgetId = declared("budget_id")


class EventOut(BaseModel):
    """One event: ``id`` to dedupe on, ``sequence`` to resume from."""

    id: str
    sequence: int | None
    type: str
    time: datetime
    budget_ids: list[str]
    data: dict[str, Any]

    @classmethod
    def of(cls, event: Event) -> EventOut:
        return cls(**event.to_dict())


class EventListOut(BaseModel):
    items: list[EventOut]
    last_sequence: int = Field(description="Pass as `after` to read on from here.")


class EventTypeOut(BaseModel):
    type: str
    description: str


Kind = Literal["generic", "slack"]
Description = Annotated[str, StringConstraints(max_length=500)]


class WebhookIn(Strict):
    url: Url = Field(description="An http(s) URL that accepts POSTed JSON.")
    events: list[EventType] | None = Field(
        default=None,
        max_length=50,
        description="Event types to send (default: all; for `slack`: the alert types).",
    )
    budget_id: BudgetId | None = Field(default=None, description="Only events of this budget.")
    description: Description | None = None
    kind: Kind = Field(
        default="generic",
        description="`generic`: the event as JSON; `slack`: a Slack incoming-webhook URL.",
    )


class WebhookPatch(Strict):
    """The fields to change; those left out stay as they are."""

    url: Url | None = None
    events: list[EventType] | None = Field(
        default=None, max_length=50, description="Event types to send (null or []: all)."
    )
    budget_id: BudgetId | None = Field(default=None, description="null: every budget.")
    description: Description | None = None
    kind: Kind | None = None


class RotateSecretIn(Strict):
    overlap_seconds: Int | None = Field(
        default=None,
        ge=0,
        le=30 * 86400,
        description="Seconds the old secret still signs (default: the server's setting).",
    )


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    kind: str
    event_types: list[str]
    budget_id: str | None
    description: str | None
    active: bool
    previous_secret_expires_at: datetime | None = Field(
        description="While a rotation's overlap lasts: when the old secret stops signing."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, hook: Webhook) -> WebhookOut:
        """The webhook as shown: a password or token in its URL is masked."""
        fields = hook.to_dict()
        return cls(**{**fields, "url": redact.url(fields["url"])})


class NewWebhookOut(WebhookOut):
    secret: str = Field(description="Signs every delivery; shown only once.")

    @classmethod
    def with_secret(cls, hook: Webhook, secret: str) -> NewWebhookOut:
        return cls(**WebhookOut.of(hook).model_dump(), secret=secret)


class DeliveryOut(BaseModel):
    delivery_id: int
    webhook_id: str
    event_id: str
    event_type: str
    event_sequence: int
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(**delivery.to_dict())


class ReplayIn(Strict):
    """Which deliveries to send again: one, every one from a sequence number
    on, or those with a status (default: dead)."""

    delivery_id: Int | None = Field(default=None, ge=1)
    since_sequence: Int | None = Field(default=None, ge=0)
    status: Literal["pending", "delivered", "dead"] | None = None


class ReplayOut(BaseModel):
    replayed: int
