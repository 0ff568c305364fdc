"""The living price catalog on both backends: refresh reports, history, overrides,
conflicts and failures, with every network source served from recorded fixtures."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, delete, func, select, update

import budget
from budget.engine import catalog_admin
from budget.engine.service import BudgetService
from budget.engine.service_prices import PriceOperations
from budget.errors import NotFound, ValidationError
from budget.settings import Settings
from budget.storage import tables as t

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "prices"
BASE = "https://fixtures.test"
ROUTES = {
    f"{BASE}/litellm.json": "litellm.json",
    f"{BASE}/current-v1.json": "llm_prices_current.json",
    f"{BASE}/models": "openrouter_models.json",
    f"{BASE}/pricing": "pricing_page.html",
}


class Service(BudgetService, PriceOperations):
    """BudgetService with the price operations mixed in, as the lead will ship it."""


class FakeWeb:
    """Serves the fixtures; a URL can be made to time out, fail or answer garbage."""

    def __init__(self) -> None:
        self.bodies = {url: (FIXTURES / name).read_bytes() for url, name in ROUTES.items()}
        self.failures: dict[str, str] = {}
        self.calls: Counter[str] = Counter()

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.calls[url] += 1
        failure = self.failures.get(url)
        if failure == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if failure == "offline":
            raise httpx.ConnectError("network unreachable", request=request)
        if failure == "malformed":
            return httpx.Response(200, content=b'{"truncated": ')
        if failure is not None:
            return httpx.Response(int(failure))
        if url not in self.bodies:
            return httpx.Response(404)
        return httpx.Response(200, content=self.bodies[url])

    def set_litellm(self, model: str, **fields: float) -> None:
        import json

        doc = json.loads(self.bodies[f"{BASE}/litellm.json"])
        doc[model].update(fields)
        self.bodies[f"{BASE}/litellm.json"] = json.dumps(doc).encode()


def fixture_settings(db_url: str, **more) -> Settings:
    return Settings(
        database_url=db_url,
        pool_size=5,
        price_http_backoff_seconds=0,
        price_http_retries=1,
        price_sources={
            "genai-prices": {"active": False},
            "litellm-offline": {"active": False},
            "litellm": {"url": f"{BASE}/litellm.json"},
            "llm-prices": {"url": f"{BASE}/current-v1.json"},
            "openrouter": {"url": f"{BASE}/models"},
            "vendor-page": {
                "kind": "html",
                "url": f"{BASE}/pricing",
                "trust": "0.4",
                "options": {"provider": "openai"},
            },
        },
        **more,
    )


@pytest.fixture
def restore_prices(db_url: str) -> Iterator[None]:
    """Undo every change to the price table (PostgreSQL keeps it between tests)."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        top = conn.execute(select(func.max(t.prices.c.id))).scalar() or 0
        before = {
            r.id: (r.effective_to, r.verification)
            for r in conn.execute(
                select(t.prices.c.id, t.prices.c.effective_to, t.prices.c.verification)
            )
        }
    yield
    with engine.begin() as conn:
        conn.execute(delete(t.prices).where(t.prices.c.id > top))
        rows = conn.execute(
            select(t.prices.c.id, t.prices.c.effective_to, t.prices.c.verification)
        ).all()
        for row in rows:
            if before[row.id] != (row.effective_to, row.verification):
                effective_to, verification = before[row.id]
                conn.execute(
                    update(t.prices)
                    .where(t.prices.c.id == row.id)
                    .values(effective_to=effective_to, verification=verification)
                )
    engine.dispose()


@pytest.fixture
def web() -> FakeWeb:
    return FakeWeb()


@pytest.fixture
def prices(db_url: str, web: FakeWeb, restore_prices: None) -> Iterator[Service]:
    base = budget.open(settings=fixture_settings(db_url))
    service = Service(base._ctx)
    catalog_admin.runtime(service._ctx).http.transport = httpx.MockTransport(web.handler)
    try:
        yield service
    finally:
        service.stop_price_refresh()
        service.close()


def price_rows(service: Service) -> int:
    with service._ctx.db.read() as conn:
        return conn.execute(select(func.count()).select_from(t.prices)).scalar_one()


def test_update_report_per_source_and_verification(prices: Service) -> None:
    gpt_before = prices.get_price("openai", "gpt-4o")
    report = prices.update_prices()
    assert report.status == "ok" and report.trigger == "manual"
    assert [s.source for s in report.sources] == [
        "litellm",
        "llm-prices",
        "openrouter",
        "vendor-page",
    ]
    assert all(s.status == "ok" and s.error is None for s in report.sources)
    litellm = report.source("litellm")
    assert litellm.records > 10 and litellm.skipped_reasons["invalid row"] == 1
    assert litellm.unmapped == 1 and litellm.added >= 3 and litellm.disputed >= 2
    assert (  # x-ai/grok-4, as OpenRouter's price and as evidence for x-ai's
        report.source("openrouter").skipped_reasons[
            "failed sanity check: input rate above the ceiling 1000"
        ]
        == 2
    )

    gpt = prices.get_price("openai", "gpt-4o")
    assert gpt.verification == "verified"
    assert gpt.price_id == gpt_before.price_id  # unchanged: nothing new written
    nova = prices.get_price("openai", "gpt-7-nova")
    assert nova.verification == "verified" and nova.rates.input.base == D(4)
    assert nova.rates.reasoning.base == D(16) and nova.source == "litellm"
    assert prices.get_price("openai", "o9-mini").verification == "unverified"
    assert prices.get_price("azure", "gpt-4o").verification == "unverified"
    sonnet = prices.get_price("anthropic", "claude-sonnet-4-5-20250929")
    assert sonnet.model == "claude-sonnet-4-5" and sonnet.verification == "verified"
    haiku = prices.get_price("aws", "anthropic.claude-3-haiku-20240307-v1:0")
    assert haiku.verification == "verified"

    # A 1000x unit error and a batch price are outvoted, and labelled
    assert prices.get_price("mistral", "mistral-large-latest").verification == "verified"
    disputes = {c.model: c for c in report.changes if c.action == "disputed"}
    assert "unit error" in (disputes["mistral-large"].cause or "")
    assert "2x" in (disputes["grok-4-0709"].cause or "")
    assert report.added == sum(1 for c in report.changes if c.action == "added")


def test_an_unchanged_run_writes_nothing_but_its_record(prices: Service) -> None:
    prices.update_prices()
    rows = price_rows(prices)
    again = prices.update_prices()
    assert (again.added, again.changed) == (0, 0) and again.unchanged > 10
    assert price_rows(prices) == rows
    assert prices.list_price_updates()[0].update_id == again.update_id
    assert len(prices.list_price_updates()) == 2
    stored = prices.get_price_update(again.update_id)
    assert stored.sources == again.sources and stored.changes == again.changes


def test_a_change_end_dates_the_old_row(prices: Service, pinned_clock, web: FakeWeb) -> None:
    prices.update_prices()
    usage = prices.record_usage(
        provider="openai", model="gpt-4o", input_tokens=1000, output_tokens=100
    )
    old = prices.get_price("openai", "gpt-4o")
    pinned_clock.advance(hours=1)
    web.set_litellm("gpt-4o", input_cost_per_token=2e-06, output_cost_per_token=8e-06)
    web.bodies[f"{BASE}/models"] = web.bodies[f"{BASE}/models"].replace(
        b'"prompt": "0.0000025", "completion": "0.00001"',
        b'"prompt": "0.000002", "completion": "0.000008"',
    )
    web.bodies[f"{BASE}/pricing"] = web.bodies[f"{BASE}/pricing"].replace(
        b"<td>$2.50</td><td>$1.25</td><td>$10.00</td>", b"<td>$2.00</td><td>$1.25</td><td>$8</td>"
    )
    report = prices.update_prices()
    # litellm, openrouter and the page (new price) outvote llm-prices (old price)
    change = next(c for c in report.changes if c.model == "gpt-4o" and c.action == "changed")
    assert change.kinds["input"] == {"old": "2.5", "new": "2", "change_pct": "-20.00"}
    assert change.old_price_id == old.price_id and change.verification == "verified"
    assert set(change.sources) >= {"litellm", "openrouter", "vendor-page"}
    history = prices.price_history("openai", "gpt-4o")
    ended, current = history[-2], history[-1]
    assert ended.price_id == old.price_id and ended.effective_to == pinned_clock.now
    assert current.effective_from == pinned_clock.now and current.effective_to is None
    assert current.rates.input.base == D(2) and current.match == old.match
    assert prices.get_price("openai", "gpt-4o-2024-08-06").price_id == current.price_id
    assert prices.get_usage(usage.usage_id).price_id == old.price_id  # kept its price
    estimate = prices.estimate_cost(provider="openai", model="gpt-4o", input_tokens=1_000_000)
    assert estimate.cost == D(2)


def test_an_override_wins_and_no_refresh_touches_it(prices: Service, pinned_clock) -> None:
    override = prices.set_price_override(
        "OpenAI", "gpt-4o", input="1", output=D(4), cached_input=0, note="negotiated"
    )
    assert override.is_override and override.source == "manual"
    assert override.verification == "override" and override.extra == {"note": "negotiated"}
    pinned_clock.advance(minutes=5)
    prices.update_prices()
    assert prices.get_price("openai", "gpt-4o").price_id == override.price_id
    assert prices.get_price("openai", "gpt-4o-2024-11-20").price_id == override.price_id
    estimate = prices.estimate_cost(provider="openai", model="gpt-4o", input_tokens=1_000_000)
    assert estimate.cost == D(1)
    assert prices.list_prices(overrides=True) == [prices.get_price("openai", "gpt-4o")]

    pinned_clock.advance(minutes=5)
    second = prices.set_price_override("openai", "gpt-4o", input="1.5", output="5")
    pinned_clock.advance(minutes=5)
    ended = prices.clear_price_override("openai", "gpt-4o")
    assert ended.price_id == second.price_id and ended.effective_to == pinned_clock.now
    assert not prices.get_price("openai", "gpt-4o").is_override
    overrides = [p for p in prices.price_history("openai", "gpt-4o") if p.is_override]
    assert [p.rates.input.base for p in overrides] == [D(1), D("1.5")]
    assert all(p.effective_to is not None for p in overrides)
    triggers = [u.trigger for u in prices.list_price_updates()]
    assert triggers.count("override") == 3
    with pytest.raises(NotFound):
        prices.clear_price_override("openai", "gpt-4o")


@pytest.mark.parametrize(
    ("rates", "field"),
    [
        ({"input": 1.5}, "input"),
        ({"input": "abc"}, "input"),
        ({"input": "2", "cached_input": "3"}, "cached_input"),
        ({"input": "5000"}, "input"),
        ({"output": "2"}, "input"),
    ],
)
def test_bad_overrides_name_the_field(prices: Service, rates: dict, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        prices.set_price_override("openai", "gpt-4o", **{"input": None, **rates})
    assert err.value.field == field


def test_a_conflict_keeps_the_price_and_alerts_once(prices: Service, web: FakeWeb) -> None:
    before = prices.get_price("deepseek", "deepseek-chat")
    prices.update_prices()
    held = prices.get_price("deepseek", "deepseek-chat")
    assert held.price_id == before.price_id and held.rates.input.base == before.rates.input.base
    assert held.verification == "conflict"
    conflicts = {c.model: c for c in prices.price_conflicts()}
    assert set(conflicts["deepseek-chat"].kinds["input"]) == {
        "litellm",
        "openrouter",
        "genai-prices",
    }
    # (the fixture's OpenRouter figures also contradict the shipped OpenRouter
    # rows: conflicts of platform openrouter, left out here)
    alerts = deepseek_conflicts(prices)
    assert len(alerts) == 1 and "deepseek-chat" in alerts[0].message
    assert "current price kept" in alerts[0].message
    prices.update_prices()
    assert len(deepseek_conflicts(prices)) == 1  # the same conflict, once


def deepseek_conflicts(prices: Service) -> list:
    """The conflict alerts of platform deepseek."""
    alerts = prices.list_alerts(kind="price_conflict")
    return [a for a in alerts if a.message.startswith("price conflict for deepseek/")]

    web.set_litellm(
        "deepseek/deepseek-chat",
        input_cost_per_token=1.35e-07,
        output_cost_per_token=5.5e-07,
        cache_read_input_token_cost=3.5e-08,
    )
    prices.update_prices()
    assert prices.get_price("deepseek", "deepseek-chat").verification == "verified"
    assert "deepseek-chat" not in {c.model for c in prices.price_conflicts()}


def test_failing_sources_keep_the_last_good_prices(prices: Service, web: FakeWeb) -> None:
    prices.update_prices()
    rows, nova = price_rows(prices), prices.get_price("openai", "gpt-7-nova")
    web.failures = {
        f"{BASE}/litellm.json": "timeout",
        f"{BASE}/current-v1.json": "500",
        f"{BASE}/models": "malformed",
        f"{BASE}/pricing": "404",
    }
    report = prices.update_prices()
    assert report.status == "failed" and (report.added, report.changed) == (0, 0)
    errors = report.errors
    assert "timed out" in errors["litellm"] and "HTTP 500" in errors["llm-prices"]
    assert "malformed document" in errors["openrouter"] and "HTTP 404" in errors["vendor-page"]
    assert web.calls[f"{BASE}/litellm.json"] == 1 + 2  # first run, then one retry
    assert price_rows(prices) == rows
    assert prices.get_price("openai", "gpt-7-nova") == nova  # still verified, still there
    sources = {s.name: s for s in prices.list_price_sources()}
    assert (
        sources["litellm"].last_status == "error" and "timed out" in sources["litellm"].last_error
    )
    assert sources["litellm"].last_success_at is not None
    assert sources["genai-prices"].active is False

    web.failures = {f"{BASE}/models": "503"}
    partial = prices.update_prices()
    assert partial.status == "partial" and list(partial.errors) == ["openrouter"]


def test_the_service_works_with_no_network_at_all(prices: Service, web: FakeWeb) -> None:
    web.failures = dict.fromkeys(ROUTES, "offline")
    report = prices.update_prices()
    assert report.status == "failed" and len(report.errors) == 4
    estimate = prices.estimate_cost(provider="openai", model="gpt-4o", input_tokens=1000)
    assert estimate.priced


def test_listing_prices(prices: Service) -> None:
    prices.update_prices()
    openai = prices.list_prices(provider="openai", search="gpt-4o", limit=1000)
    assert {p.model for p in openai} >= {"gpt-4o", "gpt-4o-mini"}
    assert all(p.effective_to is None for p in openai)
    verified = prices.list_prices(verification="verified", limit=1000)
    assert "gpt-7-nova" in {p.model for p in verified}
    assert prices.count_prices(source="litellm") >= 3
    assert prices.list_prices(provider="openai", model="GPT-4O")[0].model == "gpt-4o"
    with pytest.raises(ValidationError) as err:
        prices.list_prices(verification="sure")
    assert err.value.field == "verification"
    with pytest.raises(NotFound):
        prices.get_price("openai", "no-such-model")
    with pytest.raises(NotFound):
        prices.price_history("openai", "no-such-model")
    with pytest.raises(NotFound):
        prices.update_prices("no-such-source")


def test_sources_run_when_due(prices: Service) -> None:
    before = {s.name: s for s in prices.list_price_sources()}
    assert before["litellm"].last_run_at is None
    catalog_admin.run_due(prices._ctx)
    first = prices.list_price_updates()
    assert len(first) == 1 and first[0].trigger == "scheduled"
    catalog_admin.run_due(prices._ctx)  # nothing is due yet
    assert len(prices.list_price_updates()) == 1
    after = {s.name: s for s in prices.list_price_sources()}
    litellm = after["litellm"]
    assert litellm.last_status == "ok" and litellm.last_records and litellm.last_records > 10
    assert litellm.next_run_at is not None and litellm.last_run_at is not None
    assert (litellm.next_run_at - litellm.last_run_at).total_seconds() == 6 * 3600
    assert after["llm-prices-historical"].last_run_at is None  # inactive


def test_the_scheduler_thread_runs_and_stops(prices: Service) -> None:
    prices.start_price_refresh()
    deadline = time.monotonic() + 20
    while not prices.list_price_updates() and time.monotonic() < deadline:
        time.sleep(0.2)
    prices.stop_price_refresh()
    assert prices.list_price_updates()[0].trigger == "scheduled"
    assert catalog_admin.runtime(prices._ctx).scheduler is None


def test_open_can_start_the_refresh(db_url: str) -> None:
    quiet = {"genai-prices": {"active": False}, "litellm-offline": {"active": False}}
    service = budget.open(
        db_url, refresh_prices=True, price_network=False, price_sources=quiet, pool_size=5
    )
    try:
        scheduler = catalog_admin.runtime(service._ctx).scheduler
        assert scheduler is not None and scheduler.running
    finally:
        catalog_admin.stop_scheduler(service._ctx)
        service.close()
    assert budget.Settings().refresh_prices is False  # off unless asked
