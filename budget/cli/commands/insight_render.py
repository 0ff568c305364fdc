"""Tables and lines for the insight commands (reports, findings, forecasts,
recommendations, routing decisions); nothing here talks to the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from budget.cli import render as r
from budget.cli.runtime import Cli

_BUCKET_FORMAT = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "week": "%G-W%V", "month": "%Y-%m"}


def bucket_label(start: str | None, bucket: str | None, zone: str) -> str:
    """A bucket's start as people read it, in the report's timezone."""
    if not start or not bucket:
        return ""
    local = datetime.fromisoformat(start).astimezone(ZoneInfo(zone))
    return local.strftime(_BUCKET_FORMAT.get(bucket, "%Y-%m-%d %H:%M"))


def _group_value(report: dict[str, Any], name: str, value: str | None) -> str:
    if value is None:
        return "(none)"
    named = report.get("names", {}).get(name, {})
    return f"{named[value]} ({value})" if value in named else value


def _unpriced(row: dict[str, Any]) -> str:
    if not row["unpriced_records"]:
        return ""
    return f"{row['unpriced_records']:,} rec / {row['unpriced_tokens']:,} tok"


def report(cli: Cli, rep: dict[str, Any]) -> None:
    """A report as a table, its totals and its unpriced models."""
    columns: list[r.Column] = []
    if rep["bucket"]:
        columns.append(
            (
                rep["bucket"],
                lambda x: bucket_label(x["bucket_start"], rep["bucket"], rep["timezone"]),
            )
        )
    for name in rep["group_by"]:
        columns.append((name, lambda x, n=name: _group_value(rep, n, x["group"].get(n))))
    columns += [
        ("records", lambda x: f"{x['records']:,}"),
        ("tokens", lambda x: f"{x['total_tokens']:,}"),
        ("cost", lambda x: r.usd(x["cost"])),
        ("unpriced", _unpriced),
    ]
    title = f"usage {r.when(rep['since'])} to {r.when(rep['until'])} ({rep['timezone']})"
    cli.print(r.table(rep["rows"], columns, title=title))
    total = rep["total"]
    cli.say(
        f"total: {total['records']:,} records, {total['total_tokens']:,} tokens, "
        f"{r.usd(total['cost'])}" + (f"; unpriced {_unpriced(total)}" if _unpriced(total) else "")
    )
    if rep.get("others"):
        others = rep["others"]
        cli.say(f"others (beyond top {rep['top']}): {r.usd(others['cost'])}")
    for item in rep.get("unpriced", []):
        cli.say(
            f"unpriced: {item['provider']}/{item['model']}: {item['records']:,} records, "
            f"{item['tokens']:,} tokens (no price: not in cost)"
        )


def findings(cli: Cli, items: list[dict[str, Any]]) -> None:
    if not items:
        cli.say("nothing to analyse in this range")
        return
    columns: list[r.Column] = [
        ("kind", lambda f: f["kind"]),
        ("group", lambda f: f["group"] or "(none)"),
        ("direction", lambda f: f["direction"]),
        ("finding", lambda f: f["summary"]),
    ]
    cli.print(r.table(items, columns))


def _projection(p: dict[str, Any]) -> str:
    money = p["unit"] == "usd"

    def fmt(x: str | None) -> str:
        if x is None:
            return "-"
        return r.usd(x) if money else f"{int(float(x)):,}"

    limit = f" / {fmt(p['limit'])}" if p["limit"] is not None else ""
    return f"{fmt(p['used'])}{limit} at {fmt(p['rate_per_hour'])}/h -> {fmt(p['projected'])}"


def _share(f: dict[str, Any]) -> str:
    shares = [float(p["projected_share"]) for p in (f["usd"], f["tokens"]) if p["projected_share"]]
    return f"{max(shares):.0%}" if shares else ""


def _alert(f: dict[str, Any]) -> str:
    if f["alert_raised"]:
        return "raised"
    return "over limit" if f["will_exceed"] else ""


def forecasts(cli: Cli, items: list[dict[str, Any]]) -> None:
    if not items:
        cli.say("no current calendar windows (add an hourly, daily, weekly or monthly policy)")
        return
    columns: list[r.Column] = [
        ("policy", lambda f: f["policy_name"]),
        ("window", lambda f: f["window"]),
        ("usd", lambda f: _projection(f["usd"])),
        ("tokens", lambda f: _projection(f["tokens"])),
        ("projected", _share),
        ("resets", lambda f: r.when(f["resets_at"])),
        (
            "alert",
            lambda f: "raised" if f["alert_raised"] else ("over" if f["will_exceed"] else ""),
        ),
    ]
    cli.print(r.table(items, columns))


def recommendations(cli: Cli, items: list[dict[str, Any]]) -> None:
    if not items:
        cli.say("no cheaper model qualifies")
        return
    first = items[0]
    cli.say(f"priced on {first['mix']['description']}")
    columns: list[r.Column] = [
        ("model", lambda x: f"{x['provider']}/{x['model']}"),
        ("saving", lambda x: f"{float(x['saving_share']):.0%}"),
        ("cost", lambda x: f"{r.usd(x['estimated_cost'])} vs {r.usd(x['current_cost'])}"),
        ("context", lambda x: f"{x['context_window']:,}" if x["context_window"] else ""),
        ("tier", lambda x: x["tier"]),
        ("why", lambda x: "; ".join(x["reasons"][1:])),
    ]
    cli.print(r.table(items, columns))


def decision(cli: Cli, d: dict[str, Any]) -> None:
    cost = f" (about {r.usd(d['estimated_cost'])})" if d["estimated_cost"] else ""
    if d["allowed"]:
        cli.say(f"{d['decision']}: use {d['provider']}/{d['model']}{cost}")
    else:
        back = f"; budget returns at {r.when(d['retry_at'])}" if d["retry_at"] else ""
        cli.say(f"denied{back}")
    cli.say(f"why: {d['reason']}")
    tried = ", ".join(f"{c['model']} {c['outcome']}" for c in d["considered"])
    cli.say(f"considered: {tried}")
