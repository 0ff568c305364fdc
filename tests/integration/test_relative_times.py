"""Relative times (``24h``, ``yesterday``, ...) through the library and the REST API,
read by the one parser in budget.domain.when."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from budget.clock import utcnow
from budget.server.app import create_app

V1 = "/api/v1"


@pytest.fixture
def client(svc):
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as c:
        yield c


def _ledger(svc):
    """One record now, one two days ago, one ten days ago."""
    now = utcnow()
    for age in (timedelta(0), timedelta(days=2), timedelta(days=10)):
        svc.record_usage(provider="openai", model="gpt-4o", input_tokens=100, occurred_at=now - age)


def test_the_library_reads_relative_times(svc):
    _ledger(svc)
    assert svc.list_usage(since="24h").total == 1
    assert svc.list_usage(since="7d").total == 2
    assert svc.list_usage(since="2w").total == 3
    assert svc.list_usage(until="yesterday").total == 2
    assert svc.usage_totals(since="today", until="+1h")["records"] == 1


def test_rest_query_parameters_read_relative_times(client, svc):
    _ledger(svc)
    assert client.get(f"{V1}/usage", params={"since": "24h"}).json()["total"] == 1
    assert client.get(f"{V1}/usage", params={"since": "7d", "until": "now"}).json()["total"] == 2
    assert client.get(f"{V1}/usage/totals", params={"since": "24h"}).json()["records"] == 1
    assert client.get(f"{V1}/alerts", params={"since": "yesterday"}).status_code == 200
    priced = client.get(f"{V1}/prices/current", params={"provider": "openai", "model": "gpt-4o",
                                                        "at": "1h"})  # fmt: skip
    assert priced.status_code == 200, priced.text
    report = client.get(
        f"{V1}/reports/usage",
        params={"since": "7d", "until": "now", "timezone": "Europe/Berlin"},
    )
    assert report.status_code == 200, report.text
    assert report.json()["total"]["records"] == 2


def test_rest_body_fields_read_relative_times(client):
    made = client.post(
        f"{V1}/usage",
        json={"provider": "openai", "model": "gpt-4o", "input_tokens": 5, "occurred_at": "3d"},
    )
    assert made.status_code == 201, made.text
    assert client.get(f"{V1}/usage", params={"since": "4d", "until": "2d"}).json()["total"] == 1


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/usage", {"since": "last week"}, "since"),
        ("/usage/totals", {"until": "24x"}, "until"),
        ("/alerts", {"since": "1700000000"}, "since"),
        ("/reports/usage", {"since": "soon", "until": "now"}, "since"),
    ],
)
def test_a_bad_time_is_a_422_naming_the_field_and_the_value(client, path, params, field):
    response = client.get(V1 + path, params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == field
    assert body["value"] == params[field]
    assert "24h" in body["detail"]


def test_yesterday_in_a_report_is_midnight_in_its_timezone(client):
    body = client.get(
        f"{V1}/reports/usage",
        params={"since": "yesterday", "until": "now", "timezone": "Pacific/Kiritimati"},
    ).json()
    since = datetime.fromisoformat(body["since"])
    local = since.astimezone(ZoneInfo("Pacific/Kiritimati"))  # +14:00
    assert (local.hour, local.minute) == (0, 0)
    assert local.date() == utcnow().astimezone(local.tzinfo).date() - timedelta(days=1)
