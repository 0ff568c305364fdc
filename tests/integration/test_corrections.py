"""Ledger corrections (void, adjust): compensating entries that every total
follows exactly, on both backends, through the library, REST, CLI and MCP."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import anyio
import pytest
from fastapi.testclient import TestClient
from mcp import Client
from typer.testing import CliRunner

import budget
from budget.cli.app import app as cli_app
from budget.engine.seed import usage_in
from budget.mcp import identity
from budget.mcp.server import build_server
from budget.server.app import create_app

V1 = "/api/v1"
GPT = {"provider": "openai", "model": "gpt-4o"}
WIDE = {"since": "2000-01-01", "until": "2100-01-01"}


def ledger_sums(svc, **filters):
    """Tokens and nano-USD of the ledger rows read back one by one (corrections too)."""
    rows = svc.list_usage(limit=1000, **filters)
    tokens = sum(r.input_tokens + r.output_tokens for r in rows)
    cost = sum((r.cost or Decimal(0)) for r in rows)
    return tokens, cost


def windows_equal_the_ledger(svc, budget_id):
    """Every live window of the budget equals the ledger's usage its policy covers."""
    ctx = svc._ctx
    summary = svc.summary(budget_id)
    with ctx.db.read() as conn:
        for w in summary.windows:
            policy = svc.get_policy(w.policy_id)
            span = next(s for p, s in _spans(ctx, policy) if p.policy_id == policy.policy_id)
            seeded = usage_in(conn, policy, span)
            assert w.tokens_used == seeded.input_tokens + seeded.output_tokens, w
            assert w.requests_used == seeded.records, w
            if w.cost_limit is not None:
                assert w.cost_used == seeded.cost, w


def _spans(ctx, policy):
    from budget.domain.periods import calendar_window, load_timezone

    now = budget.clock.utcnow()
    return [(policy, calendar_window(policy.period, load_timezone(policy.timezone), now))]


@pytest.fixture
def team(svc):
    b = svc.create_budget(name="team")
    svc.add_policy(b.budget_id, name="tokens", type="warn", period="daily", token_limit=10**6)
    svc.add_policy(b.budget_id, name="usd", type="soft_limit", period="monthly", cost_limit="100")
    return b


def test_void_and_adjust_land_in_windows_rollups_and_reports(svc, team):
    a = svc.record_usage(**GPT, input_tokens=1000, output_tokens=200)
    b = svc.record_usage(**GPT, input_tokens=400, output_tokens=40)
    c = svc.record_usage(provider="acme", model="mystery-1", input_tokens=70)  # unpriced
    void = svc.void_usage(b.usage_id, reason="billed twice")
    assert (void.kind, void.corrects_id, void.reason) == ("void", b.usage_id, "billed twice")
    assert (void.input_tokens, void.output_tokens, void.cost) == (-400, -40, -b.cost)
    assert void.occurred_at == b.occurred_at and void.attributes == b.attributes
    adjust = svc.adjust_usage(a.usage_id, reason="invoice", cost="0.5", output_tokens=300)
    assert (adjust.input_tokens, adjust.output_tokens) == (0, 100)
    assert adjust.cost == Decimal("0.5") - a.cost
    svc.void_usage(c.usage_id, reason="test traffic")
    assert svc.get_usage(b.usage_id) == b  # the original is never changed

    windows_equal_the_ledger(svc, team.budget_id)
    tokens, usd = (w for w in svc.summary(team.budget_id).windows)
    assert tokens.tokens_used == 1300 and tokens.requests_used == 1
    assert usd.cost_used == Decimal("0.5") and usd.unpriced_records == 0
    assert svc.usage_totals() == {
        "records": 1,
        "tokens": 1300,
        "cost": Decimal("0.5"),
        "unpriced_records": 0,
    }
    assert svc.rebuild_rollups(check_only=True).agreed

    stands = svc.usage_report(**WIDE, group_by=["model"]).total
    assert (stands.records, stands.total_tokens, stands.cost) == (1, 1300, Decimal("0.5"))
    assert stands.unpriced_records == 0
    original = svc.usage_report(**WIDE, group_by=["model"], corrections="exclude")
    assert (original.total.records, original.total.total_tokens) == (3, 1710)
    assert original.total.cost == a.cost + b.cost and original.total.unpriced_records == 1
    only = svc.usage_report(**WIDE, group_by=[], corrections="only").total
    assert (only.records, only.total_tokens) == (-2, 1300 - 1710)
    # a range with sub-hour edges reads the ledger for them: the same figures
    edge = a.occurred_at - timedelta(minutes=1)
    piece = svc.usage_report(since=edge, until=edge + timedelta(hours=2), group_by=[]).total
    assert (piece.records, piece.total_tokens, piece.cost) == (1, 1300, Decimal("0.5"))
    with pytest.raises(budget.ValidationError) as bad:
        svc.usage_report(**WIDE, group_by=[], corrections="sometimes")
    assert bad.value.field == "corrections"


def test_a_window_created_after_a_correction_starts_from_the_corrected_sum(svc, team):
    a = svc.record_usage(**GPT, input_tokens=1000, output_tokens=200, session_id="s1")
    b = svc.record_usage(**GPT, input_tokens=500, output_tokens=0, session_id="s1")
    svc.void_usage(a.usage_id, reason="bad import")
    svc.adjust_usage(b.usage_id, reason="metered again", input_tokens=600, cost="0.01")
    windows_equal_the_ledger(svc, team.budget_id)
    later = svc.create_budget(name="later")
    svc.add_policy(later.budget_id, type="hard_limit", period="weekly", token_limit=10_000)
    svc.add_policy(later.budget_id, type="hard_limit", period="per_session", token_limit=10_000)
    svc.allocate(context_id="s1", **GPT, tokens=10)  # creates both windows from the ledger
    weekly, session = svc.summary(later.budget_id).windows
    assert weekly.tokens_used == session.tokens_used == 600
    assert weekly.requests_used == 2  # one record stands, plus the allocation
    assert ledger_sums(svc) == (600, Decimal("0.01"))


def test_a_hard_limit_freed_by_a_void_grants_again(svc):
    b = svc.create_budget(name="capped")
    svc.add_policy(b.budget_id, type="hard_limit", period="daily", token_limit=1000)
    svc.add_policy(b.budget_id, type="hard_limit", period="daily", request_limit=2)
    first = svc.record_usage(**GPT, input_tokens=900)
    svc.record_usage(**GPT, input_tokens=10)
    with pytest.raises(budget.BudgetExceeded):
        svc.allocate(context_id="c", **GPT, tokens=500)
    svc.void_usage(first.usage_id, reason="double-billed")
    granted = svc.allocate(context_id="c", **GPT, tokens=500)
    assert granted.tokens_reserved == 500
    tokens, requests = svc.summary(b.budget_id).windows
    assert tokens.tokens_used == 10 and requests.requests_used == 2  # 1 record + 1 allocation


def test_corrections_are_idempotent_by_request_id(svc, team):
    a = svc.record_usage(**GPT, input_tokens=100, request_id="r-1")
    void = svc.void_usage(a.usage_id, reason="dup")
    assert svc.void_usage(a.usage_id, reason="dup, again").usage_id == void.usage_id
    b = svc.record_usage(**GPT, input_tokens=100)
    first = svc.adjust_usage(b.usage_id, reason="fix", input_tokens=150, request_id="fix-1")
    again = svc.adjust_usage(b.usage_id, reason="fix", input_tokens=150, request_id="fix-1")
    assert again.usage_id == first.usage_id
    with pytest.raises(budget.IdempotencyConflict):
        svc.adjust_usage(b.usage_id, reason="fix", input_tokens=170, request_id="fix-1")
    with pytest.raises(budget.IdempotencyConflict):  # a usage record's request id
        svc.void_usage(b.usage_id, reason="x", request_id="r-1")
    with pytest.raises(budget.Conflict) as nothing:  # already stands at 150
        svc.adjust_usage(b.usage_id, reason="fix", input_tokens=150)
    assert nothing.value.field == "usage_id"
    svc.adjust_usage(b.usage_id, reason="fix", input_tokens=120)
    assert svc.usage_totals()["tokens"] == 120
    windows_equal_the_ledger(svc, team.budget_id)


def test_what_cannot_be_corrected_is_refused_and_changes_nothing(svc, team):
    a = svc.record_usage(**GPT, input_tokens=100, output_tokens=10)
    void = svc.void_usage(a.usage_id, reason="dup")
    with pytest.raises(budget.NotFound) as missing:
        svc.void_usage("use_missing", reason="x")
    assert missing.value.field == "usage_id"
    with pytest.raises(budget.Conflict, match="is a correction"):
        svc.void_usage(void.usage_id, reason="undo")
    with pytest.raises(budget.Conflict, match="was voided"):
        svc.adjust_usage(a.usage_id, reason="x", input_tokens=5)
    with pytest.raises(budget.Conflict, match="was voided"):
        svc.void_usage(a.usage_id, reason="x", request_id="other")
    b = svc.record_usage(**GPT, input_tokens=100, output_tokens=10)
    unpriced = svc.record_usage(provider="acme", model="mystery-1", input_tokens=5)
    for call, field in (
        (lambda: svc.adjust_usage(b.usage_id, reason="x", cached_input_tokens=500), "cached"),
        (lambda: svc.adjust_usage(b.usage_id, reason="x", cost=0.5), "cost"),
        (lambda: svc.adjust_usage(b.usage_id, reason="x", cost="-1"), "cost"),
        (lambda: svc.adjust_usage(b.usage_id, reason="x"), "cost"),
        (lambda: svc.adjust_usage(b.usage_id, reason=" ", cost="1"), "reason"),
        (lambda: svc.adjust_usage(b.usage_id, reason="x", tokens=5), "tokens"),
        (lambda: svc.adjust_usage(unpriced.usage_id, reason="x", cost="1"), "cost"),
    ):
        with pytest.raises(budget.ValidationError) as bad:
            call()
        assert bad.value.field.startswith(field)
    assert svc.usage_totals()["records"] == 2
    assert len(svc.list_usage(kind="void")) == 1 and len(svc.list_usage(kind="adjust")) == 0
    assert [u.usage_id for u in svc.list_usage(corrects_id=a.usage_id)] == [void.usage_id]


def test_alerts_a_positive_adjust_crosses_a_threshold_a_void_does_not_rearm(svc):
    b = svc.create_budget(name="watched")
    svc.add_policy(b.budget_id, type="warn", period="daily", token_limit=1000)
    a = svc.record_usage(**GPT, input_tokens=500)
    assert not svc.list_alerts(budget_id=b.budget_id)
    svc.adjust_usage(a.usage_id, reason="under-metered", input_tokens=900)
    assert [x.threshold for x in svc.list_alerts(budget_id=b.budget_id)] == [Decimal("0.8")]
    svc.void_usage(a.usage_id, reason="test")
    svc.record_usage(**GPT, input_tokens=850)
    assert len(svc.list_alerts(budget_id=b.budget_id)) == 1  # once per window and threshold


def test_rest_corrections_are_admin_only(svc, team):
    a = svc.record_usage(**GPT, input_tokens=100, output_tokens=10)
    _, admin = svc.create_api_key("ops", "admin")
    _, client_key = svc.create_api_key("app", "client")
    as_admin = {"Authorization": f"Bearer {admin}"}
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as client:
        path = f"{V1}/usage/{a.usage_id}"
        denied = client.post(
            f"{path}/void", json={"reason": "x"}, headers={"Authorization": f"Bearer {client_key}"}
        )
        assert denied.status_code == 403
        adjusted = client.post(
            f"{path}/adjust", json={"reason": "re-metered", "output_tokens": 30}, headers=as_admin
        )
        assert adjusted.status_code == 201, adjusted.text
        assert adjusted.json()["kind"] == "adjust" and adjusted.json()["output_tokens"] == 20
        voided = client.post(f"{path}/void", json={"reason": "dup"}, headers=as_admin)
        assert voided.status_code == 201 and voided.json()["corrects_id"] == a.usage_id
        repeat = client.post(f"{path}/void", json={"reason": "dup"}, headers=as_admin)
        assert repeat.json()["usage_id"] == voided.json()["usage_id"]
        missing = client.post(f"{V1}/usage/use_nope/void", json={"reason": "x"}, headers=as_admin)
        assert missing.status_code == 404 and missing.json()["field"] == "usage_id"
        again = client.post(
            f"{V1}/usage/{voided.json()['usage_id']}/void", json={"reason": "x"}, headers=as_admin
        )
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")
        bad = client.post(
            f"{path}/adjust", json={"reason": "x", "cost": "-1"}, headers=as_admin
        ).json()
        assert bad["status"] == 422 and "cost" in json.dumps(bad)
        listed = client.get(
            f"{V1}/usage", params={"corrects_id": a.usage_id}, headers=as_admin
        ).json()
        assert sorted(u["kind"] for u in listed["items"]) == ["adjust", "void"]
        hidden = client.get(
            f"{V1}/reports/usage", params={**WIDE, "corrections": "exclude"}, headers=as_admin
        ).json()
        shown = client.get(f"{V1}/reports/usage", params=WIDE, headers=as_admin).json()
    assert hidden["total"]["total_tokens"] == 110 and hidden["corrections"] == "exclude"
    assert shown["total"]["total_tokens"] == 0 and shown["total"]["records"] == 0


def test_cli_void_adjust_list_and_report(svc, db_url, team, monkeypatch):
    monkeypatch.setenv("BUDGET_DATABASE_URL", db_url)
    a = svc.record_usage(**GPT, input_tokens=100, output_tokens=10)
    b = svc.record_usage(**GPT, input_tokens=300)
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(cli_app, ["--json", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    voided = run("usage", "void", a.usage_id, "--reason", "double")
    assert voided["kind"] == "void" and voided["corrects_id"] == a.usage_id
    adjusted = run(
        "usage", "adjust", b.usage_id, "--input", "250", "--cost", "0.002", "--reason", "r"
    )
    assert adjusted["input_tokens"] == -50 and adjusted["cost"] == str(Decimal("0.002") - b.cost)
    assert run("usage", "list", "--kind", "void")["total"] == 1
    report = run("report", "--since", "2000-01-01", "--until", "2100-01-01")
    assert report["total"]["total_tokens"] == 250 and report["total"]["cost"] == "0.002"
    hidden = run(
        "report", "--since", "2000-01-01", "--until", "2100-01-01", "--corrections", "exclude"
    )
    assert hidden["total"]["total_tokens"] == 410
    refused = runner.invoke(cli_app, ["usage", "void", voided["usage_id"], "--reason", "x"])
    assert refused.exit_code == 2 and "is a correction" in refused.output
    windows_equal_the_ledger(svc, team.budget_id)


def test_mcp_tools_correct_the_ledger_and_refuse_a_client_key(svc, team):
    a = svc.record_usage(**GPT, input_tokens=100, output_tokens=10)
    b = svc.record_usage(**GPT, input_tokens=100, output_tokens=10)
    client_key = svc.authenticate(svc.create_api_key("app", "client")[1])

    async def main():
        async with Client(build_server(lambda: svc)) as client:
            voided = await client.call_tool("void_usage", {"usage_id": a.usage_id, "reason": "x"})
            assert not voided.is_error and voided.structured_content["kind"] == "void"
            adjusted = await client.call_tool(
                "adjust_usage", {"usage_id": b.usage_id, "reason": "y", "output_tokens": 0}
            )
            assert adjusted.structured_content["output_tokens"] == -10
            token = identity.current_key.set(client_key)
            try:
                refused = await client.call_tool(
                    "void_usage", {"usage_id": b.usage_id, "reason": "z"}
                )
            finally:
                identity.current_key.reset(token)
            assert refused.is_error and "admin" in refused.content[0].text

    anyio.run(main)
    assert svc.usage_totals()["tokens"] == 100
    windows_equal_the_ledger(svc, team.budget_id)


def test_mcp_adjust_usage_sets_the_hour_cache_writes(svc, team):
    claude = {"provider": "anthropic", "model": "claude-opus-4-1"}
    usage = svc.record_usage(**claude, input_tokens=1000, output_tokens=10, cache_write_tokens=400)

    async def main():
        async with Client(build_server(lambda: svc)) as client:
            args = {
                "usage_id": usage.usage_id,
                "reason": "1-hour writes",
                "cache_write_1h_tokens": 400,
            }
            adjusted = await client.call_tool("adjust_usage", args)
            assert not adjusted.is_error, adjusted.content
            assert adjusted.structured_content["cache_write_1h_tokens"] == 400

    anyio.run(main)
    windows_equal_the_ledger(svc, team.budget_id)
