"""The dashboard in a real headless Chromium against a real ``budget serve``.

The browser is the system's Chromium (Debian's ``chromium`` package, or
``BUDGET_TEST_CHROMIUM``) driven by Playwright; Playwright's own browser
downloads are never used. Without it these tests skip on a developer's
machine and fail in CI (``CI`` set), so a CI run cannot pass without them.
Screenshots of every page land in tests/artifacts/ (git-ignored); before each one
the test checks that every form control on the page has an accessible name.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = os.environ.get("BUDGET_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
V1 = "/api/v1"
LIVE_TIMEOUT_MS = 10_000  # generous for a loaded CI machine; live updates take about a second


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"the dashboard's browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


UNLABELLED = """() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button'))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map(el => el.outerHTML.slice(0, 120))"""


class Page:
    """A browser page that records console errors and takes named screenshots."""

    def __init__(self, browser, base: str, width: int = 1280) -> None:
        self.context = browser.new_context(
            viewport={"width": width, "height": 900}, accept_downloads=True
        )
        self.page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def go(self, path: str) -> Any:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("domcontentloaded")
        return self.page

    def unlabelled(self) -> list[str]:
        """Form controls a screen reader could not name (no label, no aria-label)."""
        return self.page.evaluate(UNLABELLED)

    def shot(self, name: str) -> Path:
        assert self.unlabelled() == [], name
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"dashboard-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def login(self, key: str) -> None:
        self.page.goto(self.base + "/")
        assert self.page.url.startswith(self.base + "/login")
        self.page.get_by_label("API key").fill(key)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(self.base + "/")


CHANGED = """([selector, name, before]) => {
    const el = document.querySelector(selector);
    return el !== null && el.getAttribute(name) !== null && el.getAttribute(name) !== before;
}"""


def changed(page, selector: str, name: str, before: str | None) -> str:
    """Wait until ``selector``'s attribute ``name`` differs from ``before``; its value."""
    page.wait_for_function(CHANGED, arg=[selector, name, before], timeout=LIVE_TIMEOUT_MS)
    return page.locator(selector).get_attribute(name)


def listening(page) -> None:
    """Wait until the page's event stream is open."""
    page.wait_for_function("() => document.getElementById('live-status').textContent === 'live'")


def _wait_closed(server) -> None:
    """Wait until the server asks for a key (it rechecks for keys every 2 s)."""
    deadline = time.monotonic() + 10
    while httpx.get(server.url + "/", follow_redirects=False).status_code != 303:
        assert time.monotonic() < deadline, "the dashboard still answers without a key"
        time.sleep(0.2)


def _api(server, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url + V1, headers={"Authorization": f"Bearer {key}"})


def _seed(api: httpx.Client) -> dict[str, str]:
    ids = {}
    for name, policy in (
        (
            "team-alpha",
            {
                "type": "hard_limit",
                "period": "daily",
                "cost_limit": "0.10",
                "warning_thresholds": ["0.5", "0.8"],
                "timezone": "Europe/Berlin",
            },
        ),
        (
            "research",
            {
                "type": "soft_limit",
                "period": "monthly",
                "token_limit": 200000,
                "project": "research",
            },
        ),
    ):
        budget = api.post("/budgets", json={"name": name, "owner": "platform"}).json()
        assert api.post(f"/budgets/{budget['budget_id']}/policies", json=policy).status_code == 201
        ids[name] = budget["budget_id"]
    for i, (provider, model, tokens_in, tokens_out) in enumerate(
        [
            ("openai", "gpt-4o", 1200, 640),
            ("anthropic", "claude-3-5-sonnet-20241022", 3000, 900),
            ("openai", "gpt-4o-mini", 8000, 2000),
            ("acme", "house-model", 500, 100),
            ("openai", "gpt-4o", 2500, 1200),
        ]
    ):
        _record(api, provider, model, tokens_in, tokens_out, "research" if i % 2 else "alpha")
    now = datetime.now(UTC)
    for hours, model in (
        (3, "gpt-4o"),
        (7, "gpt-4o-mini"),
        (26, "gpt-4o"),
        (30, "gpt-4o-mini"),
        (200, "gpt-4o"),
        (24 * 35, "gpt-4o"),
    ):  # earlier periods to compare with
        at = (now - timedelta(hours=hours)).isoformat()
        _record(api, "openai", model, 3000, 800, "alpha", occurred_at=at)
    return ids


def _record(api, provider, model, tokens_in, tokens_out, project="alpha", **more) -> None:
    body = {
        "provider": provider,
        "model": model,
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "project": project,
        **more,
    }
    assert api.post("/usage", json=body).status_code == 201


def _new_key(server, name: str, role: str, admin: str | None = None, **binding: Any) -> str:
    """A key made through the API (the first one while the server is still open)."""
    headers = {"Authorization": f"Bearer {admin}"} if admin else {}
    answer = httpx.post(
        f"{server.url}{V1}/keys", json={"name": name, "role": role, **binding}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["secret"]


def test_dashboard_in_a_browser(start_server, browser):
    server = start_server()
    admin = _new_key(server, "ops", "admin")
    api = _api(server, admin)
    _seed(api)
    _wait_closed(server)
    tab = Page(browser, server.url)
    tab.page.goto(server.url + "/")
    tab.shot("login")
    tab.login(admin)

    # overview: today's total equals the API's report over the same range
    today = tab.page.locator('[data-period="today"]')
    since, until = today.get_attribute("data-since"), today.get_attribute("data-until")
    report = api.get("/reports/usage", params={"since": since, "until": until}).json()
    assert today.get_attribute("data-cost") == report["total"]["cost"]
    assert "house-model" in tab.page.content()  # unpriced usage shown apart
    tab.shot("overview")

    # budgets: the bar moves when usage is recorded through the API, without reload
    tab.go("/budgets")
    bar = tab.page.locator('[data-policy="daily-hard_limit"] [data-dimension="cost"]')
    before = bar.get_attribute("data-used")
    listening(tab.page)
    _record(api, "openai", "gpt-4o", 2000, 1000)
    cost_bar = '[data-policy="daily-hard_limit"] [data-dimension="cost"]'
    changed(tab.page, cost_bar, "data-used", before)
    summary_used = _window(api, "team-alpha")["cost_used"]
    assert bar.get_attribute("data-used") == summary_used
    tab.shot("budgets")

    # spend: the chart and the table change live; the CSV is the API's CSV
    tab.go("/spend?by=model&bucket=hour&days=1")
    chart_before = changed(tab.page, "#spend-chart", "data-total", None)
    listening(tab.page)
    table = tab.page.locator("#live-spend")
    table_before = table.get_attribute("data-total-cost")
    _record(api, "anthropic", "claude-3-5-sonnet-20241022", 4000, 1500)
    changed(tab.page, "#spend-chart", "data-total", chart_before)
    changed(tab.page, "#live-spend", "data-total-cost", table_before)
    api_query = table.get_attribute("data-api-query")
    with tab.page.expect_download() as download:
        tab.page.get_by_role("link", name="Download CSV").click()
    csv = Path(download.value.path()).read_text()
    assert csv == api.get(f"/reports/usage?{api_query}&format=csv").text
    assert "claude-3-5-sonnet-20241022" in csv
    tab.shot("spend")

    # alerts: acknowledge one from its row, then the rest ticked
    tab.go("/alerts")
    open_before = api.get("/alerts", params={"acknowledged": "false"}).json()["total"]
    assert open_before >= 2
    tab.shot("alerts")
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Acknowledge", exact=True).first.click()
    acked = api.get("/alerts", params={"acknowledged": "true"}).json()
    assert acked["total"] == 1 and acked["items"][0]["acknowledged_by"] == "ops"
    boxes = tab.page.get_by_role("checkbox").all()
    for box in boxes:
        box.check()
    listening(tab.page)
    _record(api, "openai", "gpt-4o-mini", 100, 10)  # an event while alerts are ticked
    tab.page.wait_for_timeout(2000)
    assert all(box.is_checked() for box in boxes)  # the live refresh waited
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Acknowledge selected").click()
    assert api.get("/alerts", params={"acknowledged": "false"}).json()["total"] == 0

    tab.go("/prices?q=gpt-4o")
    assert tab.page.locator('[data-model="gpt-4o"]').count() >= 1
    tab.shot("prices")
    assert tab.errors == []

    phone = Page(browser, server.url, width=390)
    phone.login(admin)
    for path, name in (("/", "overview-phone"), ("/budgets", "budgets-phone")):
        phone.go(path)
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width}px)"
        phone.shot(name)
    assert phone.errors == []


def _window(api: httpx.Client, name: str) -> dict[str, Any]:
    budget = next(b for b in api.get("/budgets").json()["items"] if b["name"] == name)
    return api.get(f"/budgets/{budget['budget_id']}/summary").json()["windows"][0]


def test_a_client_key_cannot_reach_an_admin_action(start_server, browser):
    server = start_server()
    admin = _new_key(server, "ops", "admin")
    api = _api(server, admin)
    ids = _seed(api)
    reader = _new_key(server, "reader", "client", admin, budgets=[ids["research"]])
    _wait_closed(server)
    tab = Page(browser, server.url)
    tab.login(reader)
    tab.go("/alerts?state=all")
    assert tab.page.get_by_role("button", name="Acknowledge").count() == 0
    assert tab.page.get_by_role("checkbox").count() == 0
    tab.shot("alerts-client")
    alert = api.get("/alerts", params={"acknowledged": "false"}).json()["items"][0]
    token = tab.page.locator('input[name="csrf"]').first.get_attribute("value")
    answer = tab.context.request.post(
        server.url + "/alerts/acknowledge", form={"csrf": token, "only": alert["alert_id"]}
    )
    assert answer.status == 403 and "needs an admin key" in answer.text()
    assert api.get("/alerts?acknowledged=true").json()["total"] == 0
    tab.go("/budgets")
    assert tab.page.locator('[data-budget="research"]').count() == 1
    assert tab.page.locator('[data-budget="team-alpha"]').count() == 0
    assert tab.errors == []
