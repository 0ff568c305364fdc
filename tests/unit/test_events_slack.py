"""Slack messages of alert events: budget, policy, window, fill, reset, dashboard link."""

from __future__ import annotations

from datetime import UTC, datetime

from budget.events import types as ev
from budget.events.types import Event
from budget.webhooks.slack import dashboard_link, fill_text, slack_message

WHEN = datetime(2026, 12, 1, 15, tzinfo=UTC)
THRESHOLD = {
    "budget_id": "bud_team",
    "policy_id": "pol_1",
    "policy_name": "daily-cap",
    "window": "2026-12-01",
    "reason": "threshold_crossed",
    "level": "warning",
    "threshold": "0.8",
    "limit_kind": "usd",
    "limit": "50",
    "used": "41.25",
    "policy_type": "warn",
    "resets_at": "2026-12-02T00:00:00+00:00",
}


def event(type_: str, data: dict) -> Event:
    return Event("evt_1", type_, WHEN, data, ("bud_team",), 3)


def texts(message: dict) -> str:
    parts = [message["text"]]
    for block in message.get("blocks", []):
        parts.append(block.get("text", {}).get("text", ""))
        parts += [f["text"] for f in block.get("fields", [])]
    return "\n".join(parts)


def test_a_threshold_alert_reads_as_a_message_with_a_dashboard_link():
    message = slack_message(event(ev.LIMIT_APPROACHING, THRESHOLD), "https://budget.example/")
    shown = texts(message)
    for needle in ("bud_team", "daily-cap", "2026-12-01", "82.5%", "2026-12-02T00:00:00+00:00"):
        assert needle in shown
    assert "41.25 of 50 USD" in message["text"]
    assert "<https://budget.example/budgets?budget=bud_team|Open the dashboard>" in shown
    assert message["blocks"][0]["type"] == "header"


def test_without_a_public_url_there_is_no_link():
    message = slack_message(event(ev.LIMIT_EXCEEDED, {**THRESHOLD, "reason": "limit_reached"}))
    assert "dashboard" not in texts(message) and "limit exceeded" in message["text"]


def test_a_denial_and_a_forecast_say_what_happened():
    denied = {**THRESHOLD, "reason": "denied", "limit_kind": "tokens", "used": "1000"}
    assert (
        "denied a request: 1000 of 50 tokens"
        in slack_message(event(ev.LIMIT_EXCEEDED, denied))["text"]
    )
    forecast = {**THRESHOLD, "projected": "75", "exceeds_at": "2026-12-01T20:00:00+00:00"}
    message = slack_message(event(ev.FORECAST_EXCEEDS, forecast))
    assert "projected to use 75 of its 50 USD limit" in message["text"]
    assert "2026-12-01T20:00:00+00:00" in texts(message)


def test_other_events_get_a_summary_line():
    message = slack_message(event(ev.PRICE_UPDATE, {"provider": "openai", "model": "gpt-4o"}))
    assert message["text"].startswith("*Budget event budget.price_update (bud_team)*")
    assert "model: gpt-4o" in message["text"] and "blocks" not in message


def test_fill_and_link_helpers():
    assert fill_text({"used": "1", "limit": "3"}) == "33.3%"
    assert fill_text({"used": "1", "limit": "0"}) == "—" and fill_text({}) == "—"
    assert dashboard_link("https://b.example", None) == "https://b.example/"
    assert dashboard_link(None, "bud_1") is None
