"""Slack messages for ``slack`` webhooks (Slack incoming-webhook URLs).

An alert event (a threshold, a limit reached or denied, a forecast) becomes
a short message people can act on: the budget, the policy and its window,
how full it is, when it resets, and a link to the dashboard when
``public_url`` is configured. Other events get a one-line summary with
their data. Slack takes ``{"text": ..., "blocks": [...]}``; ``text`` is what
notifications show, ``blocks`` what the channel shows.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from budget.events import types as ev
from budget.events.types import Event

SLACK = "slack"
GENERIC = "generic"
WEBHOOK_KINDS = (GENERIC, SLACK)
#: Event types a ``slack`` webhook receives when it names none.
SLACK_DEFAULT_TYPES = (ev.LIMIT_APPROACHING, ev.LIMIT_EXCEEDED, ev.FORECAST_EXCEEDS)
_MAX_DATA_CHARS = 2500

_HEADLINES = {
    ev.LIMIT_APPROACHING: ":warning: Budget limit approaching",
    ev.LIMIT_EXCEEDED: ":no_entry: Budget limit exceeded",
    ev.FORECAST_EXCEEDS: ":chart_with_upwards_trend: Budget forecast exceeds its limit",
}


def slack_message(event: Event, public_url: str | None = None) -> dict[str, Any]:
    """The Slack incoming-webhook payload for ``event``."""
    if event.type in _HEADLINES:
        return _alert_message(event, public_url)
    return _plain_message(event)


def _alert_message(event: Event, public_url: str | None) -> dict[str, Any]:
    data = event.data
    headline = _HEADLINES[event.type]
    budget_id = data.get("budget_id") or (event.budget_ids[0] if event.budget_ids else None)
    fields = [
        ("Budget", budget_id or "—"),
        ("Policy", data.get("policy_name") or data.get("policy_id") or "—"),
        ("Window", data.get("window") or "—"),
        ("Fill", fill_text(data)),
        ("Resets", data.get("resets_at") or "never"),
    ]
    if event.type == ev.FORECAST_EXCEEDS and data.get("exceeds_at"):
        fields.append(("Limit reached around", data["exceeds_at"]))
    summary = _summary(event, budget_id)
    link = dashboard_link(public_url, budget_id)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline.split(" ", 1)[1]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{headline}\n{summary}"}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in fields],
        },
    ]
    if link:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"<{link}|Open the dashboard>"}}
        )
    text = f"{headline}: {summary}" + (f" {link}" if link else "")
    return {"text": text, "blocks": blocks}


def _summary(event: Event, budget_id: str | None) -> str:
    data = event.data
    policy = data.get("policy_name") or data.get("policy_id") or "?"
    where = f"policy *{policy}* of budget *{budget_id or '?'}*, window {data.get('window', '?')}"
    unit = "USD" if data.get("limit_kind") == "usd" else "tokens"
    used, limit = data.get("used"), data.get("limit")
    if event.type == ev.FORECAST_EXCEEDS:
        return (
            f"{where} is projected to use {data.get('projected')} of its {limit} {unit} "
            f"limit ({used} used so far)."
        )
    if data.get("reason") == "denied":
        return f"{where} denied a request: {used} of {limit} {unit} used."
    return f"{where}: {used} of {limit} {unit} used ({fill_text(data)})."


def fill_text(data: dict[str, Any]) -> str:
    """``used / limit`` as a percentage with one decimal, or ``—`` if unknown."""
    try:
        used, limit = Decimal(str(data["used"])), Decimal(str(data["limit"]))
    except (KeyError, InvalidOperation, TypeError):
        return "—"
    if limit <= 0:
        return "—"
    share = (used / limit * 100).quantize(Decimal("0.1"))
    return f"{share}%"


def dashboard_link(public_url: str | None, budget_id: str | None) -> str | None:
    """``<public_url>/`` (the dashboard), or its budgets page showing the budget."""
    if not public_url:
        return None
    base = public_url.rstrip("/") + "/"
    return base + (f"budgets?budget={quote(budget_id, safe='')}" if budget_id else "")


def _plain_message(event: Event) -> dict[str, Any]:
    pairs = [f"{k}: {v}" for k, v in event.data.items() if not isinstance(v, (dict, list))]
    detail = "\n".join(pairs)[:_MAX_DATA_CHARS]
    budgets = ", ".join(event.budget_ids)
    title = f"Budget event {event.type}" + (f" ({budgets})" if budgets else "")
    text = f"*{title}*" + (f"\n```{detail}```" if detail else "")
    return {"text": text}
