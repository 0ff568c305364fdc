"""Rich tables for the API's response bodies; nothing here talks to the API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from rich.table import Table
from rich.text import Text

from budget.domain.money_text import decimal_of, usd_exact
from budget.remote.errors import denial_of

Column = tuple[str, Callable[[dict[str, Any]], Any]]


def cell(value: Any) -> Text:
    """Any value as plain text (never Rich markup: ids and messages may hold brackets)."""
    if value is None:
        return Text("")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, dict | list):
        return Text(json.dumps(value, ensure_ascii=False) if value else "")
    return Text(str(value))


def when(value: str | None) -> str:
    """An ISO timestamp, shortened to the second."""
    if not value:
        return ""
    text = value.replace("T", " ")
    head, _, tail = text.partition(".")
    if tail:
        zone = tail.lstrip("0123456789")
        return head + ("Z" if zone == "Z" else zone)
    return text


def usd(value: str | None) -> str:
    """An API body's USD amount as ``$0.0094``; text that is not a number as it is."""
    if value is None:
        return ""
    amount = decimal_of(value)
    return value if amount is None else usd_exact(amount)


def limits(tokens: int | None, cost: str | None) -> str:
    parts = []
    if tokens is not None:
        parts.append(f"{tokens:,} tok")
    if cost is not None:
        parts.append(usd(cost))
    return " / ".join(parts)


def table(items: Iterable[dict[str, Any]], columns: Sequence[Column], title: str = "") -> Table:
    out = Table(title=title or None, title_justify="left")
    for name, _ in columns:
        out.add_column(name, overflow="fold")
    for item in items:
        out.add_row(*(cell(get(item)) for _, get in columns))
    return out


def details(item: dict[str, Any], title: str = "", skip: Sequence[str] = ()) -> Table:
    """One object as a two-column table of field and value."""
    out = Table(title=title or None, title_justify="left", show_header=False)
    out.add_column("field", style="bold")
    out.add_column("value", overflow="fold")
    for key, value in item.items():
        if key in skip:
            continue
        if (
            isinstance(value, dict)
            and value
            and all(not isinstance(v, dict) for v in value.values())
        ):
            value = ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, [], {}))
        if isinstance(value, str) and key.endswith("_at"):
            value = when(value)
        out.add_row(key, cell(value))
    return out


def page_footer(page: dict[str, Any], noun: str) -> str:
    shown, total = len(page["items"]), page["total"]
    if not total:
        return f"no {noun}"
    first = page["offset"] + 1 if shown else page["offset"]
    return f"{first}-{page['offset'] + shown} of {total} {noun}"


def denial(d: dict[str, Any]) -> str:
    """A denial (DenialOut) in the words of ``Denial.describe``."""
    return denial_of(d).describe()


def describe_denials(items: list[dict[str, Any]]) -> str:
    return "; ".join(denial(d) for d in items)


def shares(window: dict[str, Any]) -> tuple[Decimal, Decimal] | None:
    """(used, reserved) as shares of the window's fuller limit; None without a limit."""
    best: tuple[Decimal, Decimal] | None = None
    pairs = (
        (window["token_limit"], window["tokens_used"], window["tokens_reserved"]),
        (window["cost_limit"], window["cost_used"], window["cost_reserved"]),
    )
    for limit, used, reserved in pairs:
        if limit is None or not Decimal(limit):
            continue
        share = (Decimal(used) / Decimal(limit), Decimal(reserved) / Decimal(limit))
        if best is None or sum(share) > sum(best):
            best = share
    return best


def utilization_bar(window: dict[str, Any], width: int = 20) -> Text:
    """``█`` used, ``▒`` reserved, ``·`` free, and the percentages; red at the limit."""
    share = shares(window)
    if share is None:
        return Text("no limit")
    used, reserved = share
    full = min(int(used * width), width)
    held = min(int((used + reserved) * width), width) - full
    total = used + reserved
    style = "green" if total < Decimal("0.8") else "yellow" if total < 1 else "red"
    bar = Text("█" * full, style=style)
    bar.append("▒" * held, style=style)
    bar.append("·" * (width - full - held), style="dim")
    bar.append(f" {pct(used)}")
    if reserved:
        bar.append(f" +{pct(reserved)}")
    return bar


def pct(share: Decimal) -> str:
    """A share as a percentage: whole numbers, one decimal below 1 %."""
    return f"{float(share):.1%}" if 0 < share < Decimal("0.01") else f"{float(share):.0%}"


def _requests(window: dict[str, Any]) -> str:
    """A request limit beside the others: requests used of the limit."""
    limit = window.get("request_limit")
    return "" if limit is None else f" {window.get('requests_used', 0):,}/{limit:,} req"


def _unpriced(window: dict[str, Any]) -> str:
    """A USD figure's caveat: how much of the window's usage had no price."""
    records = window.get("unpriced_records")
    if not records:
        return ""
    return f" (+{records:,} unpriced: {window['unpriced_tokens']:,} tok)"


def _window_text(window: dict[str, Any]) -> str:
    """The window key; for a policy with ``each``, whose window and out of how many."""
    subject = window.get("subject")
    if subject is None:
        return window["window"]
    if not subject:
        return f"{window['window']} (no window yet)"
    who = ", ".join(f"{k}={v}" for k, v in subject.items())
    count = window.get("subject_windows")
    return who + (f" (of {count:,} windows)" if count and count > 1 else "")


def summary_table(summary: dict[str, Any]) -> Table:
    """One budget (SummaryOut): a row per current window with its bar."""
    b = summary["budget"]
    state = "" if b["active"] else " (inactive)"
    out = Table(title=f"{b['name']}  {b['budget_id']}{state}", title_justify="left")
    names = ("policy", "type", "window", "used +reserved", "used", "reserved", "limit", "resets")
    for name in names:
        out.add_column(name, overflow="fold")
    for w in summary["windows"]:
        state = w.get("state", "active")
        out.add_row(
            cell(w["policy_name"] + ("" if state == "active" else f" ({state})")),
            cell(w["policy_type"]),
            cell(_window_text(w)),
            utilization_bar(w),
            cell(f"{w['tokens_used']:,} tok {usd(w['cost_used'])}" + _unpriced(w)),
            cell(f"{w['tokens_reserved']:,} tok {usd(w['cost_reserved'])}"),
            cell(limits(w["token_limit"], w["cost_limit"]) + _requests(w)),
            cell(when(w["resets_at"]) or "never"),
        )
    if not summary["windows"]:
        out.add_row(*(cell("no policies" if i == 0 else "") for i in range(8)))
    return out
