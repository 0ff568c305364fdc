"""The dashboard's pages through the app, on both backends: every figure equals
what the REST API answers for the same question, with the same key."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from budget.server.app import create_app

V1 = "/api/v1"


@pytest.fixture
def client(svc):
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as c:
        yield c


def attrs(html: str, marker: str) -> list[dict[str, str]]:
    """The attributes of every tag carrying ``marker`` (an attribute name)."""
    out = []
    for tag in re.findall(r"<[a-z]+\s[^>]*" + re.escape(marker) + r"=[^>]*>", html):
        out.append(dict(re.findall(r'([a-z-]+)="([^"]*)"', tag)))
    return out


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def seed(client, headers=None) -> dict[str, str]:
    """Two budgets, priced and unpriced usage, and the alerts it raises."""
    ids = {}
    for name, policy in (
        (
            "alpha",
            {
                "type": "hard_limit",
                "period": "daily",
                "cost_limit": "0.05",
                "warning_thresholds": ["0.5", "0.8"],
                "timezone": "Europe/Berlin",
            },
        ),
        (
            "beta",
            {"type": "soft_limit", "period": "monthly", "token_limit": 50000, "project": "beta"},
        ),
    ):
        b = client.post(f"{V1}/budgets", json={"name": name}, headers=headers).json()
        r = client.post(f"{V1}/budgets/{b['budget_id']}/policies", json=policy, headers=headers)
        assert r.status_code == 201, r.text
        ids[name] = b["budget_id"]
    for i, (provider, model, tokens_in, tokens_out) in enumerate(
        [
            ("openai", "gpt-4o", 1200, 640),
            ("anthropic", "claude-3-5-sonnet-20241022", 3000, 900),
            ("openai", "gpt-4o-mini", 8000, 2000),
            ("acme", "house-model", 500, 100),
        ]
    ):
        body = {
            "provider": provider,
            "model": model,
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "project": "beta" if i % 2 else "alpha",
        }
        assert client.post(f"{V1}/usage", json=body, headers=headers).status_code == 201
    return ids


def test_overview_totals_equal_the_api(client):
    seed(client)
    page = client.get("/")
    assert page.status_code == 200, page.text
    assert "text/html" in page.headers["content-type"]
    periods = attrs(page.text, "data-period")
    assert [p["data-period"] for p in periods] == ["today", "week", "month"]
    for p in periods:
        report = client.get(
            f"{V1}/reports/usage",
            params={"since": p["data-since"], "until": p["data-until"]},
        ).json()
        assert p["data-cost"] == report["total"]["cost"]
        assert Decimal(p["data-cost"]) > 0
    (top,) = attrs(page.text, "data-top-models")
    month = periods[-1]
    models = client.get(
        f"{V1}/reports/usage",
        params={
            "since": month["data-since"],
            "until": month["data-until"],
            "group_by": ["provider", "model"],
            "top": 5,
        },
    ).json()
    assert top["data-top-models"] == models["total"]["cost"] == month["data-cost"]
    assert "claude-3-5-sonnet-20241022" in page.text and models["others"] is None
    (unpriced,) = {a["data-unpriced"] for a in attrs(page.text, "data-unpriced")}
    assert unpriced == "1" and "house-model" in page.text  # shown apart, never hidden
    (alerts,) = attrs(page.text, "data-open-alerts")
    api = client.get(f"{V1}/alerts", params={"acknowledged": "false"}).json()
    assert int(alerts["data-open-alerts"]) == api["total"] > 0


def test_budget_bars_equal_the_summary_and_forecast(client):
    ids = seed(client)
    page = client.get("/budgets")
    assert page.status_code == 200
    bars = attrs(page.text, "data-dimension")
    summary = client.get(f"{V1}/budgets/{ids['alpha']}/summary").json()
    (window,) = summary["windows"]
    cost = [b for b in bars if b["data-dimension"] == "cost"]
    assert len(cost) == 1
    assert Decimal(cost[0]["data-used"]) == Decimal(window["cost_used"])
    assert Decimal(cost[0]["data-limit"]) == Decimal(window["cost_limit"])
    shown = [a["data-utilization"] for a in attrs(page.text, "data-utilization")]
    assert window["utilization"] in shown  # the API's own figure, not recomputed
    tokens = [b for b in bars if b["data-dimension"] == "tokens"]
    beta = client.get(f"{V1}/budgets/{ids['beta']}/summary").json()["windows"][0]
    assert int(tokens[0]["data-used"]) == beta["tokens_used"]
    assert "(Europe/Berlin)" in page.text  # the reset in the policy's zone
    forecast = client.get(f"{V1}/forecast", params={"budget_id": ids["beta"]}).json()
    projected = Decimal(forecast[0]["tokens"]["projected"])
    assert f"Projected {int(projected):,} tokens" in page.text


def test_disabled_policy_is_shown_as_such(client):
    ids = seed(client)
    policy = client.get(f"{V1}/budgets/{ids['beta']}/policies").json()[0]
    client.post(f"{V1}/policies/{policy['policy_id']}/disable")
    page = client.get("/budgets", params={"budget": ids["beta"]})
    assert 'class="window state-disabled"' in page.text and ">disabled<" in page.text
    assert 'data-budget="alpha"' not in page.text  # only the budget chosen


def test_spend_table_and_csv_equal_the_api(client):
    seed(client)
    params = {"by": "provider", "bucket": "hour", "days": "1", "tz": "Europe/Berlin", "top": "2"}
    page = client.get("/spend", params=params)
    assert page.status_code == 200, page.text
    (table,) = attrs(page.text, "data-api-query")
    api_query = table["data-api-query"].replace("&amp;", "&")
    report = client.get(f"{V1}/reports/usage?{api_query}").json()
    assert table["data-total-cost"] == report["total"]["cost"]
    assert report["top"] == 2 and report["timezone"] == "Europe/Berlin"
    csv = client.get("/spend.csv", params=params)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text == client.get(f"{V1}/reports/usage?{api_query}&format=csv").text
    assert "(others)" in csv.text  # three providers, top 2
    chart = client.get("/spend/chart", params=params).json()
    assert len(chart["labels"]) == 24 and len(chart["datasets"]) == 2
    shown = sum(Decimal(str(v)) for d in chart["datasets"] for v in d["data"])
    rows = sum(Decimal(r["cost"]) for r in report["rows"])
    assert abs(shown - rows) < Decimal("0.000001")


def test_bad_choice_is_named_on_an_html_page(client):
    page = client.get("/spend", params={"by": "colour"})
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert "by" in page.text and "colour" in page.text


def test_alerts_filter_and_acknowledge(client):
    ids = seed(client)
    alpha = client.get("/alerts", params={"budget": ids["alpha"]})
    api = client.get(f"{V1}/alerts", params={"budget_id": ids["alpha"], "acknowledged": "false"})
    in_alpha = [a["data-alert"] for a in attrs(alpha.text, "data-alert")]
    assert in_alpha == [a["alert_id"] for a in api.json()["items"]] and in_alpha
    page = client.get("/alerts")
    api = client.get(f"{V1}/alerts", params={"acknowledged": "false"})
    listed = [a["data-alert"] for a in attrs(page.text, "data-alert")]
    assert listed == [a["alert_id"] for a in api.json()["items"]] and len(listed) >= 2
    token = csrf(page.text)
    missing = client.post("/alerts/acknowledge", data={"alert_id": listed[0]})
    assert missing.status_code == 403 and "CSRF" in missing.text
    one = client.post(
        "/alerts/acknowledge",
        data={"csrf": token, "only": listed[0], "alert_id": listed[1]},
        follow_redirects=False,
    )
    assert one.status_code == 303
    acked = client.get(f"{V1}/alerts", params={"acknowledged": "true"}).json()["items"]
    assert [a["alert_id"] for a in acked] == [listed[0]]
    assert acked[0]["acknowledged_by"] == "anonymous"
    many = client.post("/alerts/acknowledge", data={"csrf": token, "alert_id": listed[1:]})
    assert many.status_code == 200  # followed the redirect back to the list
    left = client.get(f"{V1}/alerts", params={"acknowledged": "false"})
    assert left.json()["total"] == 0


def test_prices_page_equals_the_catalog(client):
    page = client.get("/prices", params={"q": "gpt-4o"})
    api = client.get(f"{V1}/prices", params={"search": "gpt-4o", "limit": 50}).json()
    models = [a["data-model"] for a in attrs(page.text, "data-model")]
    assert models == [p["model"] for p in api["items"]] and models
    assert f"{api['total']} price" in page.text
    sources = [a["data-source"] for a in attrs(page.text, "data-source")]
    assert sources == [s["name"] for s in client.get(f"{V1}/prices/sources").json()]


def test_keys_require_login_and_a_client_key_sees_its_budget_only(client, svc):
    _, admin = svc.create_api_key("ops", role="admin")
    as_admin = {"Authorization": f"Bearer {admin}"}
    ids = seed(client, as_admin)
    _, reader = svc.create_api_key("reader", role="client", budgets=["beta"])
    first = client.get("/budgets", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/login?next=%2Fbudgets"
    login = client.get("/login")
    wrong = client.post("/login", data={"csrf": csrf(login.text), "key": "bgt_wrong"})
    assert wrong.status_code == 401 and "unknown or revoked API key" in wrong.text
    ok = client.post(
        "/login",
        data={"csrf": csrf(login.text), "key": reader, "next": "/budgets"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/budgets"
    (cookie,) = [c.lower() for c in ok.headers.get_list("set-cookie")]
    assert "httponly" in cookie and "samesite=strict" in cookie and reader.lower() not in cookie
    page = client.get("/budgets")
    assert 'data-budget="beta"' in page.text and 'data-budget="alpha"' not in page.text
    overview = client.get("/")
    as_reader = {"Authorization": f"Bearer {reader}"}
    for p in attrs(overview.text, "data-period"):
        report = client.get(
            f"{V1}/reports/usage",
            headers=as_reader,
            params={"since": p["data-since"], "until": p["data-until"]},
        ).json()
        assert report["budget_id"] == ids["beta"] and p["data-cost"] == report["total"]["cost"]
    hidden = client.get("/alerts", params={"budget": ids["alpha"]})
    assert hidden.status_code == 404  # as the API: a budget the key does not see
    alerts = client.get("/alerts", params={"state": "all"})
    assert "Acknowledge" not in alerts.text  # admin actions hidden
    refused = client.post("/alerts/acknowledge", data={"csrf": csrf(alerts.text), "alert_id": "x"})
    assert refused.status_code == 403 and "needs an admin key" in refused.text
    svc.revoke_api_key(_key_id(svc, "reader"))
    assert client.get("/", follow_redirects=False).status_code == 303  # revoked: logged out


def _key_id(svc, name: str) -> str:
    return next(k.key_id for k in svc.list_api_keys() if k.name == name)


def test_forged_session_and_foreign_origin_are_refused(client, svc):
    _, admin = svc.create_api_key("ops", role="admin")
    login = client.get("/login")
    client.post("/login", data={"csrf": csrf(login.text), "key": admin})
    assert client.get("/").status_code == 200
    value = client.cookies.get("budget_session")
    payload, mac = value.split(".")
    client.cookies.clear()
    client.cookies.set("budget_session", payload + "." + mac[::-1])
    assert client.get("/", follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set("budget_session", value)
    page = client.get("/alerts")
    foreign = client.post(
        "/logout", data={"csrf": csrf(page.text)}, headers={"Origin": "http://evil.example"}
    )
    assert foreign.status_code == 403
    out = client.post("/logout", data={"csrf": csrf(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and client.get("/", follow_redirects=False).status_code == 303


def test_live_stream_needs_the_session(client, svc):
    svc.create_api_key("ops", role="admin")
    refused = client.get("/live", follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")


def test_live_refresh_gets_the_fragment_only(client, svc):
    seed(client)
    fragment = client.get("/budgets", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="live-budgets"')
    assert "<html" not in fragment.text and 'data-dimension="cost"' in fragment.text
    svc.create_api_key("ops", role="admin")
    client.app.state.keys_checked_at = -1e9  # the key count is cached for 2 s
    out = client.get("/budgets", headers={"HX-Request": "true"}, follow_redirects=False)
    assert out.status_code == 204 and out.headers["HX-Redirect"] == "/login?next=%2Fbudgets"


def test_an_open_server_answers_loopback_names_only(svc):
    """Without keys, as the API: a page reached through another host name (DNS
    rebinding) is refused."""
    with TestClient(create_app(svc), base_url="http://rebound.example") as foreign:
        page = foreign.get("/")
        assert page.status_code == 403 and "not a loopback name" in page.text
        assert foreign.get(f"{V1}/budgets").status_code == 403
