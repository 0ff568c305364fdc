"""/metrics on both backends: the database-sourced families equal what the
ledger, the reports, the summaries and the webhook listings say; the snapshot
is cached for ``metrics_cache_seconds`` of an injectable clock."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from webhook_receiver import refusing_url

import budget
from budget.api.metrics_dir import MULTIPROC_ENV, multiprocess_metrics
from budget.engine.metrics_snapshot import SnapshotCache, take_snapshot
from budget.server.app import create_app

Samples = dict[tuple[str, frozenset], float]


def scrape(svc, key: str | None = None) -> Samples:
    """Every sample of one scrape, by name and labels."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with TestClient(create_app(service=svc), base_url="http://127.0.0.1") as client:
        response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` that has these labels."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


@pytest.fixture
def service(db_url) -> Iterator[budget.BudgetService]:
    svc = budget.open(
        db_url,
        metrics_cache_seconds=0,
        webhook_allow_private=True,  # the receivers listen on loopback
        webhook_max_attempts=2,
        webhook_backoff_seconds=1,
        webhook_timeout_seconds=0.5,
        pool_size=5,
    )
    try:
        yield svc
    finally:
        svc.close()


def record_mix(svc) -> list:
    """Priced usage with cache and reasoning tokens, unpriced usage, and a void."""
    recorded = [
        svc.record_usage(
            provider="openai",
            model="gpt-4o",
            input_tokens=1_000,
            output_tokens=200,
            cached_input_tokens=300,
        ),
        svc.record_usage(
            provider="anthropic",
            model="claude-sonnet-4-5",
            input_tokens=2_000,
            output_tokens=500,
            cached_input_tokens=400,
            cache_write_tokens=100,
            user="alice",
        ),
        svc.record_usage(
            provider="openai",
            model="gpt-5",
            input_tokens=700,
            output_tokens=900,
            reasoning_tokens=600,
            user="bob",
        ),
        svc.record_usage(provider="acme", model="x-1", input_tokens=500, output_tokens=100),
        svc.record_usage(provider="openai", model="gpt-4o", input_tokens=50, output_tokens=5),
    ]
    svc.void_usage(recorded[-1].usage_id, reason="billed twice")
    return recorded


def test_spend_and_tokens_equal_the_reports_and_the_ledger(service, pinned_clock):
    record_mix(service)
    samples = scrape(service)
    at = dict(since="2026-11-01T00:00:00Z", until="2026-12-01T00:00:00Z")
    report = service.usage_report(
        **at, group_by=["provider", "model"], corrections="exclude"
    )  # as recorded: what the counters show
    assert len(report.rows) == 4
    for row in report.rows:
        model = dict(provider=row.group["provider"], model=row.group["model"])
        u = row.usage
        assert value(samples, "budget_spend_usd_total", **model) == float(u.cost)
        assert value(samples, "budget_usage_records_total", **model) == u.records
        assert total(samples, "budget_tokens_total", **model) == u.total_tokens
        assert value(samples, "budget_tokens_total", **model, kind="cache_read") == (
            u.cached_input_tokens
        )
        assert value(samples, "budget_tokens_total", **model, kind="input") == (
            u.input_tokens - u.cached_input_tokens - u.cache_write_tokens
        )
        assert value(samples, "budget_tokens_total", **model, kind="reasoning") == (
            u.reasoning_tokens
        )
        assert value(samples, "budget_unpriced_records_total", **model) == u.unpriced_records
        assert value(samples, "budget_unpriced_tokens_total", **model) == u.unpriced_tokens
    assert value(samples, "budget_unpriced_records_total", provider="acme", model="x-1") == 1
    assert value(samples, "budget_spend_usd_total", provider="acme", model="x-1") == 0
    # the ledger as it stands: recorded spend plus the corrections of it
    ledger = service.usage_totals()
    net = total(samples, "budget_spend_usd_total") + total(samples, "budget_spend_corrections_usd")
    assert net == pytest.approx(float(ledger["cost"]), rel=1e-12)
    assert ledger["cost"] == report.total.cost - Decimal("0.000175")  # the void: 50 in, 5 out
    tokens = total(samples, "budget_tokens_total") + total(samples, "budget_tokens_corrections")
    assert tokens == ledger["tokens"]
    assert total(samples, "budget_unpriced_records_total") == ledger["unpriced_records"]


def test_live_windows_and_denials_equal_the_summary(service, pinned_clock):
    team = service.create_budget("team")
    daily = service.add_policy(
        team.budget_id, name="daily", type="hard_limit", period="daily", token_limit=20_000
    )
    monthly = service.add_policy(
        team.budget_id,
        name="per-user",
        type="warn",
        period="monthly",
        cost_limit="1",
        each=["user"],
    )
    service.add_policy(
        team.budget_id, name="sessions", type="warn", period="per_session", token_limit=10
    )
    record_mix(service)
    service.allocate(context_id="c1", provider="openai", model="gpt-4o", tokens=3_000)
    for _ in range(2):
        with pytest.raises(budget.BudgetExceeded):
            service.allocate(context_id="c2", provider="openai", model="gpt-4o", tokens=50_000)
    samples = scrape(service)
    [window] = [
        w for w in service.summary(team.budget_id).windows if w.policy_id == daily.policy_id
    ]
    labels = dict(budget="team", policy="daily", policy_id=daily.policy_id, period="daily")
    assert value(samples, "budget_window_used_tokens", **labels) == window.tokens_used
    assert (
        value(samples, "budget_window_reserved_tokens", **labels) == window.tokens_reserved == 3_000
    )
    assert value(samples, "budget_window_used_usd", **labels) == float(window.cost_used)
    assert value(samples, "budget_window_limit_tokens", **labels) == 20_000
    assert value(samples, "budget_window_utilization_ratio", **labels, limit_kind="tokens") == (
        (window.tokens_used + window.tokens_reserved) / 20_000
    )
    assert (
        value(
            samples, "budget_window_info", **labels, window=window.window, policy_type="hard_limit"
        )
        == 1
    )
    assert value(samples, "budget_window_reset_timestamp_seconds", **labels) == (
        window.resets_at.timestamp()
    )
    assert (
        value(
            samples,
            "budget_denials_total",
            budget="team",
            policy="daily",
            policy_id=daily.policy_id,
            limit_kind="tokens",
        )
        == 2
    )
    # the per-user policy: the fullest subject's window (alice's sonnet call) and the count
    each = dict(budget="team", policy="per-user", policy_id=monthly.policy_id, period="monthly")
    fullest = max(
        (w for w in service.summary(team.budget_id).windows if w.policy_id == monthly.policy_id),
        key=lambda w: w.cost_used + w.cost_reserved,
    )
    assert value(samples, "budget_window_subjects", **each) == fullest.subject_windows
    assert value(samples, "budget_window_utilization_ratio", **each, limit_kind="usd") == (
        float(fullest.cost_used + fullest.cost_reserved)
    )
    # a window per session would be a series per session: not served
    assert not [k for k in samples if ("policy", "sessions") in k[1]]


def test_webhook_queue_and_outbox_lag(service, pinned_clock):
    team = service.create_budget("team")
    service.add_policy(team.budget_id, type="warn", period="daily", token_limit=10**9)
    hook, _ = service.create_webhook(refusing_url())
    first = service.last_event_sequence()
    service.record_usage(provider="openai", model="gpt-4o", input_tokens=10, output_tokens=5)
    service.record_usage(provider="openai", model="gpt-4o", input_tokens=10, output_tokens=5)
    written = service.last_event_sequence() - first
    assert written >= 2
    pinned_clock.advance(seconds=30)
    samples = scrape(service)
    assert value(samples, "budget_outbox_last_sequence") == service.last_event_sequence()
    assert value(samples, "budget_outbox_lag_events") == written
    assert value(samples, "budget_outbox_lag_seconds") == 30
    assert value(samples, "budget_webhook_deliveries_pending", webhook_id=hook.webhook_id) == 0

    service.deliver_events_now()  # fans out; the first attempt is refused
    pinned_clock.advance(seconds=12)
    samples = scrape(service)
    pending = service.list_webhook_deliveries(hook.webhook_id, status="pending").total
    assert pending == written
    assert value(samples, "budget_outbox_lag_events") == 0
    assert value(samples, "budget_outbox_lag_seconds") == 0
    assert (
        value(samples, "budget_webhook_deliveries_pending", webhook_id=hook.webhook_id) == pending
    )
    assert value(samples, "budget_webhook_delivery_lag_seconds", webhook_id=hook.webhook_id) == 12

    service.deliver_events_now()  # past the backoff: the second and last attempt
    samples = scrape(service)
    dead = service.list_webhook_deliveries(hook.webhook_id, status="dead").total
    assert dead == 1
    assert value(samples, "budget_webhook_deliveries_dead", webhook_id=hook.webhook_id) == dead
    assert value(samples, "budget_webhook_deliveries_pending", webhook_id=hook.webhook_id) == (
        written - 1
    )


def test_price_source_status_and_age(db_url, pinned_clock):
    pytest.importorskip("genai_prices", reason="the 'catalog' extra is not installed")
    svc = budget.open(db_url, price_network=False, metrics_cache_seconds=0, pool_size=5)
    try:
        svc.update_prices(source="genai-prices")
        pinned_clock.advance(seconds=90)
        samples = scrape(svc)
    finally:
        svc.close()
    assert value(samples, "budget_price_source_up", source="genai-prices") == 1
    assert value(samples, "budget_price_source_status", source="genai-prices", status="ok") == 1
    assert value(samples, "budget_price_source_age_seconds", source="genai-prices") == 90
    ran = value(
        samples, "budget_price_source_last_success_timestamp_seconds", source="genai-prices"
    )
    assert ran == pinned_clock.now.timestamp() - 90


def test_the_snapshot_changes_only_after_its_ttl(service):
    now = [100.0]
    cache = SnapshotCache(lambda: take_snapshot(service._ctx), ttl=5, clock=lambda: now[0])

    def records() -> int:
        return sum(m.records for m in cache.get().models if not m.correction)

    service.record_usage(provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1)
    assert records() == 1
    service.record_usage(provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1)
    now[0] += 4.9
    assert records() == 1  # still the cached snapshot
    now[0] += 0.1
    assert records() == 2


def test_the_multiprocess_directory_is_cleared_or_made_and_removed(tmp_path, monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with multiprocess_metrics(1) as none:
        assert none is None and MULTIPROC_ENV not in os.environ
    with multiprocess_metrics(2) as made:
        assert made is not None and os.path.isdir(made) and os.environ[MULTIPROC_ENV] == made
    assert not os.path.exists(made) and MULTIPROC_ENV not in os.environ
    given = tmp_path / "prom"
    given.mkdir()
    (given / "histogram_123.db").write_bytes(b"stale")
    (given / "notes.txt").write_text("kept")
    monkeypatch.setenv(MULTIPROC_ENV, str(given))
    with multiprocess_metrics(1) as used:
        assert used == str(given)
    assert sorted(p.name for p in given.iterdir()) == ["notes.txt"]  # ours cleared, left in place


def test_a_database_that_cannot_be_read_answers_503_to_a_scrape(tmp_path, sqlite_template):
    path = tmp_path / "gone.db"
    shutil.copyfile(sqlite_template, path)
    svc = budget.open(f"sqlite:///{path}", metrics_cache_seconds=0)
    try:
        assert value(scrape(svc), "budget_metrics_database_up") == 1
        svc._ctx.db.engine.dispose()
        path.unlink()  # the next connection finds an empty file: no tables
        with TestClient(create_app(service=svc), base_url="http://127.0.0.1") as client:
            response = client.get("/metrics")
    finally:
        svc.close()
    # whether the caller may scrape cannot be checked: refused, never served blind
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")


def test_every_concurrent_refusal_is_counted_once(service):
    team = service.create_budget("team")
    hard = service.add_policy(team.budget_id, type="hard_limit", period="total", token_limit=1_000)

    def attempt(i: int) -> bool:
        try:
            service.allocate(context_id=f"c{i}", provider="openai", model="gpt-4o", tokens=100)
        except budget.BudgetExceeded:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        granted = list(pool.map(attempt, range(40)))
    assert granted.count(True) == 10
    samples = scrape(service)
    labels = dict(budget="team", policy=hard.name, policy_id=hard.policy_id, limit_kind="tokens")
    assert value(samples, "budget_denials_total", **labels) == granted.count(False) == 30


def test_once_keys_exist_a_scrape_needs_an_admin_key(service):
    _, admin = service.create_api_key("prometheus", role="admin")
    _, client_key = service.create_api_key("app", role="client")
    with TestClient(create_app(service=service), base_url="http://127.0.0.1") as client:
        assert client.get("/metrics").status_code == 401
        as_client = {"Authorization": f"Bearer {client_key}"}
        assert client.get("/metrics", headers=as_client).status_code == 403
    assert value(scrape(service, admin), "budget_metrics_database_up") == 1
