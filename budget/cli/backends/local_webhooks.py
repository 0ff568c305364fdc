"""The webhook operations of the local backend, answering as the REST API would."""

from __future__ import annotations

from typing import Any

from budget.api.schemas_events import (
    DeliveryOut,
    NewWebhookOut,
    ReplayIn,
    RotateSecretIn,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)
from budget.cli.backends.base import parse_body
from budget.cli.backends.shaping import dump, page, pick


class LocalWebhooks:
    """Mixed into LocalBackend: webhooks, their deliveries, replay and secrets."""

    svc: Any

    def create_webhook(self, body):
        request = parse_body(WebhookIn, body)
        hook, secret = self.svc.create_webhook(
            request.url,
            events=request.events,
            budget_id=request.budget_id,
            description=request.description,
            kind=request.kind,
        )
        return dump(NewWebhookOut.with_secret(hook, secret))

    def list_webhooks(self):
        return [dump(WebhookOut.of(h)) for h in self.svc.list_webhooks()]

    def get_webhook(self, webhook_id):
        return dump(WebhookOut.of(self.svc.get_webhook(webhook_id)))

    def update_webhook(self, webhook_id, body):
        changes = parse_body(WebhookPatch, body).model_dump(exclude_unset=True)
        return dump(WebhookOut.of(self.svc.update_webhook(webhook_id, **changes)))

    def set_webhook_active(self, webhook_id, active):
        return dump(WebhookOut.of(self.svc.set_webhook_active(webhook_id, active)))

    def rotate_webhook_secret(self, webhook_id, body):
        request = parse_body(RotateSecretIn, body)
        hook, secret = self.svc.rotate_webhook_secret(
            webhook_id, overlap_seconds=request.overlap_seconds
        )
        return dump(NewWebhookOut.with_secret(hook, secret))

    def delete_webhook(self, webhook_id):
        self.svc.delete_webhook(webhook_id)

    def list_deliveries(self, webhook_id, query):
        items = self.svc.list_webhook_deliveries(
            webhook_id, **pick(query, "status", "limit", "offset")
        )
        return page(items, DeliveryOut, query)

    def replay_deliveries(self, webhook_id, body):
        request = parse_body(ReplayIn, body)
        count = self.svc.replay_webhook_deliveries(webhook_id, **request.model_dump())
        return {"replayed": count}
