"""Webhooks by the standard, on both backends, to real receivers on loopback:
deliveries verify with the Standard Webhooks reference library; a rotated
secret signs alongside the new one during its overlap; non-public targets are
refused at registration and at delivery; webhooks are changed, paused and
resumed; a Slack webhook gets a readable message; forecast alerts are events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from webhook_receiver import Receiver

import budget
from budget.errors import ValidationError
from budget.events import types as ev
from budget.server.app import create_app
from budget.webhooks.signing import verify_signature

FAST = {"webhook_max_attempts": 2, "webhook_timeout_seconds": 2.0, "pool_size": 5}


@pytest.fixture
def service(db_url) -> Iterator[budget.BudgetService]:
    """A service whose webhooks may target loopback (the receivers listen there)."""
    svc = budget.open(db_url, webhook_allow_private=True, **FAST)
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def strict(db_url) -> Iterator[budget.BudgetService]:
    """A service with the default target policy: public addresses only."""
    svc = budget.open(db_url, **FAST)
    try:
        yield svc
    finally:
        svc.close()


def spend(svc, n: int = 1, name: str = "team") -> str:
    b = svc.create_budget(name)
    svc.add_policy(b.budget_id, type="warn", period="daily", token_limit=10**9)
    for _ in range(n):
        svc.record_usage(provider="openai", model="gpt-4o", input_tokens=10, output_tokens=5)
    return b.budget_id


def test_every_delivery_verifies_with_the_reference_library(service):
    with Receiver() as receiver:
        _, secret = service.create_webhook(receiver.url)
        spend(service, n=3)
        assert service.deliver_events_now() == 3
        got = receiver.wait_for(3)
        for r in got:
            assert Webhook(secret).verify(r.body, r.headers) == r.event
            assert r.headers["webhook-id"] == r.event["id"]
            assert verify_signature(secret, r.body, r.headers["Budget-Signature"])
            with pytest.raises(WebhookVerificationError):
                Webhook(service.create_webhook(receiver.url)[1]).verify(r.body, r.headers)


def test_a_rotated_secret_signs_alongside_the_new_one_until_the_overlap_ends(service, pinned_clock):
    with Receiver() as receiver:
        hook, old = service.create_webhook(receiver.url)
        rotated, new = service.rotate_webhook_secret(hook.webhook_id)
        assert new != old and new.startswith("whsec_")
        assert rotated.previous_secret_expires_at == pinned_clock.now + timedelta(hours=24)
        spend(service)
        service.deliver_events_now()
        (first,) = receiver.wait_for(1)
        assert len(first.headers["webhook-signature"].split(" ")) == 2
        assert Webhook(old).verify(first.body, first.headers)
        assert Webhook(new).verify(first.body, first.headers)

        pinned_clock.advance(hours=24, seconds=1)  # the overlap is over
        assert service.get_webhook(hook.webhook_id).previous_secret_expires_at is None
        service.record_usage(provider="openai", model="gpt-4o", input_tokens=1)
        service.deliver_events_now()
        second = receiver.wait_for(2)[1]
        assert Webhook(new).verify(second.body, second.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(second.body, second.headers)
        assert not verify_signature(old, second.body, second.headers["Budget-Signature"])


def test_a_rotation_without_overlap_retires_the_old_secret_at_once(service):
    with Receiver() as receiver:
        hook, old = service.create_webhook(receiver.url)
        rotated, new = service.rotate_webhook_secret(hook.webhook_id, overlap_seconds=0)
        assert rotated.previous_secret_expires_at is None
        spend(service)
        service.deliver_events_now()
        (got,) = receiver.wait_for(1)
        assert Webhook(new).verify(got.body, got.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(got.body, got.headers)
    with pytest.raises(ValidationError, match="overlap_seconds"):
        service.rotate_webhook_secret(hook.webhook_id, overlap_seconds=-1)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://localhost:9/x",
        "http://[::1]:9/x",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.7/x",
        "https://100.64.1.1/x",
        "http://0.0.0.0:9/x",
    ],
)
def test_non_public_targets_are_refused_at_registration(strict, url):
    with pytest.raises(ValidationError) as refused:
        strict.create_webhook(url)
    assert refused.value.field == "url" and url in str(refused.value)
    assert strict.list_webhooks() == []


def test_the_api_answers_a_private_target_with_a_problem_naming_url(strict):
    with TestClient(create_app(strict), base_url="http://127.0.0.1") as client:
        answer = client.post("/api/v1/webhooks", json={"url": "http://localhost:9/hook"})
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["errors"][0]["field"] == "url"
    assert "http://localhost:9/hook" in problem["detail"] and "loopback" in problem["detail"]


def test_an_allowed_network_opens_only_that_network(db_url):
    svc = budget.open(db_url, webhook_allowed_networks=["127.0.0.0/8"], **FAST)
    try:
        assert svc.create_webhook("http://127.0.0.1:9/x")[0].url == "http://127.0.0.1:9/x"
        with pytest.raises(ValidationError, match="private"):
            svc.create_webhook("http://192.168.0.10/x")
    finally:
        svc.close()


def test_a_delivery_to_a_name_resolving_to_loopback_is_refused_and_recorded(service, strict):
    with Receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        hook, _ = service.create_webhook(f"http://localhost:{port}/hook")
        spend(strict)
        assert strict.deliver_events_now() == 1  # a server that allows no private target
        (delivery,) = strict.list_webhook_deliveries(hook.webhook_id)
        assert delivery.status == "pending"  # retried later (webhook_max_attempts: 2)
        assert delivery.attempts == 1 and delivery.last_status_code is None
        assert delivery.last_error.startswith("refused target: localhost resolves to ")
        assert "loopback" in delivery.last_error
        assert receiver.attempts == 0  # nothing reached the receiver


def test_update_pause_and_resume(service, strict):
    with Receiver() as first, Receiver() as second:
        hook, _ = service.create_webhook(first.url, events=[ev.USAGE_RECORDED])
        budget_id = spend(service)
        service.deliver_events_now()
        first.wait_for(1)
        changed = service.update_webhook(
            hook.webhook_id, url=second.url, budget_id=budget_id, description="moved"
        )
        assert (changed.url, changed.budget_id, changed.description) == (
            second.url,
            budget_id,
            "moved",
        )
        assert changed.event_types == (ev.USAGE_RECORDED,)  # not given: kept

        assert service.set_webhook_active(hook.webhook_id, False).active is False
        for _ in range(3):
            service.record_usage(provider="openai", model="gpt-4o", input_tokens=7)
        assert service.deliver_events_now() == 0 and second.received == []

        assert service.set_webhook_active(hook.webhook_id, True).active is True
        service.deliver_events_now()
        got = second.wait_for(3)
        assert [r.event["sequence"] for r in got] == [2, 3, 4]  # what happened while paused
        assert len(first.received) == 1

        everything = service.update_webhook(hook.webhook_id, events=None, budget_id=None)
        assert everything.event_types == () and everything.budget_id is None
    with pytest.raises(ValidationError, match="kind"):
        service.update_webhook(hook.webhook_id, kind="teams")
    with pytest.raises(ValidationError, match="url"):
        strict.update_webhook(hook.webhook_id, url="http://127.0.0.1:1/x")


def test_a_slack_webhook_gets_a_readable_alert(db_url):
    svc = budget.open(
        db_url, webhook_allow_private=True, public_url="https://budget.example", **FAST
    )
    try:
        with Receiver() as slack:
            hook, _ = svc.create_webhook(slack.url, kind="slack")
            assert hook.kind == "slack"
            assert set(hook.event_types) == {
                ev.LIMIT_APPROACHING,
                ev.LIMIT_EXCEEDED,
                ev.FORECAST_EXCEEDS,
            }
            team = svc.create_budget("team")
            svc.add_policy(
                team.budget_id,
                type="warn",
                period="daily",
                token_limit=1000,
                warning_thresholds=["0.5"],
                name="daily-cap",
            )
            svc.record_usage(provider="openai", model="gpt-4o", input_tokens=600)
            svc.deliver_events_now()
            (message,) = slack.wait_for(1)
            body = message.event
            assert set(body) == {"text", "blocks"}
            assert "600 of 1000 tokens used (60.0%)" in body["text"]
            fields = " ".join(f["text"] for f in body["blocks"][2]["fields"])
            assert team.budget_id in fields and "daily-cap" in fields and "60.0%" in fields
            assert "*Resets*" in fields
            link = f"<https://budget.example/budgets?budget={team.budget_id}|Open the dashboard>"
            assert body["blocks"][-1]["text"]["text"] == link
    finally:
        svc.close()


def test_a_forecast_alert_is_an_event_delivered_to_webhooks(service, pinned_clock):
    with Receiver() as receiver:
        service.create_webhook(receiver.url, events=[ev.FORECAST_EXCEEDS])
        team = service.create_budget("forecast")
        service.add_policy(team.budget_id, type="warn", period="daily", cost_limit="1")
        noon = pinned_clock.now  # 2026-11-29 12:00 UTC
        for hour in range(12):  # $0.05 an hour: $0.60 by noon, heading for $1.20
            service.record_usage(
                provider="openai",
                model="gpt-4o",
                input_tokens=10_000,
                output_tokens=2_500,
                occurred_at=noon.replace(hour=hour, minute=30),
            )
        (first,) = service.forecast(team.budget_id)
        assert first.alert_raised
        service.forecast(team.budget_id)  # once per window
        (event,) = service.list_events(types=[ev.FORECAST_EXCEEDS])
        assert event.budget_ids == (team.budget_id,)
        assert event.data["window"] == "2026-11-29" and event.data["limit_kind"] == "usd"
        assert (event.data["used"], event.data["projected"], event.data["limit"]) == (
            "0.6",
            "1.2",
            "1",
        )
        assert event.data["exceeds_at"] == (noon + timedelta(hours=8)).isoformat()
        service.deliver_events_now()
        (got,) = receiver.wait_for(1)
        assert got.event["type"] == ev.FORECAST_EXCEEDS and got.event["id"] == event.event_id
