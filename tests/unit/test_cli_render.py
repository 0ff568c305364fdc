"""Formatting helpers of the CLI: bars, money, times, option parsing."""

from __future__ import annotations

import pytest
from rich.console import Console

from budget.cli import render as r
from budget.cli.options import compact, metadata, priority
from budget.domain.enums import Period
from budget.errors import ValidationError


def window(**over) -> dict:
    base = {
        "token_limit": 1000,
        "tokens_used": 250,
        "tokens_reserved": 250,
        "cost_limit": None,
        "cost_used": "0",
        "cost_reserved": "0",
    }
    return {**base, **over}


def text(renderable) -> str:
    console = Console(width=120, color_system=None)
    with console.capture() as cap:
        console.print(renderable)
    return cap.get().rstrip("\n")


def test_bar_shows_used_and_reserved_of_the_fuller_limit():
    assert text(r.utilization_bar(window())) == "█████▒▒▒▒▒·········· 25% +25%"
    usd = window(cost_limit="1", cost_used="0.9", cost_reserved="0")
    assert text(r.utilization_bar(usd)).startswith("██████████████████·· 90%")
    over = window(tokens_used=1500, tokens_reserved=0)
    assert text(r.utilization_bar(over)) == "████████████████████ 150%"
    assert text(r.utilization_bar(window(token_limit=None))) == "no limit"
    tiny = window(tokens_used=1, tokens_reserved=0)
    assert text(r.utilization_bar(tiny)).endswith(" 0.1%")


def test_shares_pick_the_fuller_limit():
    both = window(cost_limit="2", cost_used="1.5", cost_reserved="0.1")
    assert r.shares(both) == (r.Decimal("0.75"), r.Decimal("0.05"))


def test_money_times_and_cells():
    assert r.usd("0.011000000") == "$0.011" and r.usd("0") == "$0" and r.usd(None) == ""
    assert r.usd("100") == "$100" and r.usd("1E+2") == "$100"
    assert r.when("2026-11-29T12:00:00.123456Z") == "2026-11-29 12:00:00Z"
    assert r.when("2026-11-29T12:00:00+01:00") == "2026-11-29 12:00:00+01:00"
    assert r.when(None) == ""
    assert r.cell("[red]x[/red]").plain == "[red]x[/red]"  # never Rich markup
    assert r.cell(True).plain == "yes" and r.cell({"a": 1}).plain == '{"a": 1}'
    assert r.limits(3000, "5") == "3,000 tok / $5" and r.limits(None, None) == ""


def test_page_footer():
    assert r.page_footer({"items": [1, 2], "total": 7, "offset": 2}, "budgets") == (
        "3-4 of 7 budgets"
    )
    assert r.page_footer({"items": [], "total": 0, "offset": 0}, "budgets") == "no budgets"


def test_option_helpers():
    assert metadata(["a=1", "b=x", 'c={"d": true}', "e="]) == {
        "a": 1,
        "b": "x",
        "c": {"d": True},
        "e": "",
    }
    assert metadata(None) is None
    with pytest.raises(ValidationError, match="--meta"):
        metadata(["novalue"])
    assert priority("8") == 8 and priority(" High ") == "high" and priority(None) is None
    assert compact(a=None, b=0, c=Period.DAILY) == {"b": 0, "c": "daily"}
