"""The ledger export (engine and REST) and the doctor report, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

import budget
from budget.api.usage_export import CSV_COLUMNS
from budget.clock import utcnow
from budget.engine import doctor
from budget.errors import ValidationError
from budget.server.app import create_app
from budget.settings import Settings

V1 = "/api/v1"


@pytest.fixture
def client(svc):
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as c:
        yield c


def _ledger(svc, n: int = 23) -> None:
    """``n`` records, many sharing one occurred_at (the keyset's tie-break), one
    unpriced, one voided and one adjusted."""
    same = utcnow() - timedelta(hours=1)
    items = [
        {
            "provider": "openai",
            "model": "gpt-4o",
            "input_tokens": 100 + i,
            "output_tokens": 7 * i,
            "occurred_at": same if i % 3 else same - timedelta(minutes=i),
            "tags": ["x", "y"],
            "metadata": {"line": i, "note": 'comma, "quote"\nnewline'},
        }
        for i in range(n - 1)
    ]
    items.append({"provider": "acme", "model": "mystery", "input_tokens": 5})
    records = svc.record_usage_batch(items)
    svc.void_usage(records[0].usage_id, reason="billed twice")
    svc.adjust_usage(records[1].usage_id, cost=Decimal("0.123456789"), reason="invoice")


def _all_listed(svc, **filters) -> list:
    out, offset = [], 0
    while True:
        page = svc.list_usage(limit=1000, offset=offset, **filters)
        out += page
        offset += len(page)
        if offset >= page.total:
            return out


def test_export_pages_through_the_whole_ledger_oldest_first(svc):
    _ledger(svc)
    exported = list(svc.export_usage(page_size=4))
    listed = _all_listed(svc)
    assert len(exported) == len(listed) == 25
    assert sorted(u.usage_id for u in exported) == sorted(u.usage_id for u in listed)
    keys = [(u.occurred_at, u.usage_id) for u in exported]
    assert keys == sorted(keys)
    total = svc.usage_totals()["cost"]
    assert sum((u.cost or Decimal(0)) for u in exported) == total


def test_export_takes_the_filters_of_list(svc):
    _ledger(svc)
    for filters in ({"provider": "openai"}, {"kind": "void"}, {"priced": False}, {"since": "2h"}):
        exported = {u.usage_id for u in svc.export_usage(page_size=3, **filters)}
        assert exported == {u.usage_id for u in _all_listed(svc, **filters)}, filters


def test_export_checks_its_filters_before_reading(svc):
    with pytest.raises(ValidationError) as err:
        svc.export_usage(since="last week")  # not iterated: the error comes at once
    assert err.value.field == "since"
    with pytest.raises(ValidationError) as err:
        svc.export_usage(colour="red")
    assert err.value.field == "colour"
    for size in (0, 10_001, 2.5, True):
        with pytest.raises(ValidationError) as err:
            svc.export_usage(page_size=size)
        assert err.value.field == "page_size"


def test_rest_export_streams_csv_and_jsonl_equal_to_the_ledger(client, svc):
    _ledger(svc)
    total = svc.usage_totals()["cost"]

    lines = client.get(f"{V1}/usage/export", params={"format": "jsonl"})
    assert lines.status_code == 200
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in lines.text.splitlines()]
    assert len(records) == 25
    assert records[0].keys() == client.get(f"{V1}/usage").json()["items"][0].keys()
    assert sum(Decimal(r["cost"] or "0") for r in records) == total

    table = client.get(f"{V1}/usage/export", params={"format": "csv"})
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert len(rows) == 25
    assert sum(Decimal(r["cost"] or "0") for r in rows) == total
    assert {r["usage_id"] for r in rows} == {r["usage_id"] for r in records}
    adjusted = next(r for r in rows if r["kind"] == "adjust")
    assert Decimal(adjusted["cost"]) + Decimal(
        next(r["cost"] for r in rows if r["usage_id"] == adjusted["corrects_id"])
    ) == Decimal("0.123456789")
    noted = next(r for r in rows if r["metadata"])
    assert json.loads(noted["metadata"])["note"] == 'comma, "quote"\nnewline'
    assert noted["tags"] == "x;y"

    only = client.get(f"{V1}/usage/export", params={"format": "csv", "provider": "acme"})
    assert len(list(csv.DictReader(io.StringIO(only.text)))) == 1


def test_rest_export_refuses_a_bad_filter_before_streaming(client):
    response = client.get(f"{V1}/usage/export", params={"since": "soon"})
    assert response.status_code == 422
    assert response.json()["field"] == "since"
    assert client.get(f"{V1}/usage/export", params={"format": "xml"}).status_code == 422


def test_doctor_on_a_healthy_database(svc, client, db_url):
    svc.create_api_key("ops", "admin")
    svc.create_api_key("app", "client")
    report = svc.doctor()
    checks = {c.name: c for c in report.checks}
    assert list(checks) == ["database", "schema", "extras", "api_keys", "price_sources", "clock"]
    assert checks["database"].status == "ok"
    assert checks["schema"].status == "ok"
    assert checks["schema"].details["current"] == checks["schema"].details["head"]
    assert checks["api_keys"].details == {"admin": 1, "client": 1}
    assert set(checks["extras"].details["packages"]) == {d for d, _ in doctor.EXTRAS}
    assert checks["price_sources"].status in ("ok", "warn")  # none failed; some never ran
    if db_url.startswith("sqlite"):
        assert "embedded" in checks["clock"].summary
    else:
        assert abs(checks["clock"].details["skew_seconds"]) < doctor.SKEW_FAIL.total_seconds()
    assert report.status != "fail"


def test_doctor_masks_the_password():
    url = "postgresql+psycopg://budget:s3cret@127.0.0.1:1/nowhere"
    with budget.open(url, auto_migrate=False, seed_default_prices=False) as svc:
        report = svc.doctor()
    text_of = json.dumps(report.to_dict())
    assert "s3cret" not in text_of and "budget:***@" in text_of
    checks = {c.name: c.status for c in report.checks}
    assert checks["database"] == "fail" and report.status == "fail"
    assert checks["schema"] == checks["clock"] == "fail"  # not checked


@pytest.mark.parametrize(
    ("revision", "finding"),
    [("0009", "migrations pending: at 0009"), ("9999", "at 9999, newer than this version")],
)
def test_doctor_finds_a_schema_not_at_head(db_url, revision, finding):
    engine = create_engine(db_url)
    with engine.begin() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    try:
        with budget.open(db_url, auto_migrate=False, seed_default_prices=False) as svc:
            schema = next(c for c in svc.doctor().checks if c.name == "schema")
        assert schema.status == "fail"
        assert finding in schema.summary
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})
        engine.dispose()


def test_doctor_fails_on_a_failing_price_source(db_url):
    off = {"active": False}
    settings = Settings(
        database_url=db_url,
        price_http_retries=0,
        price_sources={
            "genai-prices": off,
            "litellm-offline": off,
            "llm-prices": off,
            "openrouter": off,
            "litellm": {"url": "http://127.0.0.1:9/litellm.json"},  # nothing listens there
        },
    )
    with budget.open(settings=settings) as svc:
        svc.update_prices("litellm")
        sources = next(c for c in svc.doctor().checks if c.name == "price_sources")
    assert sources.status == "fail" and "litellm" in sources.summary
    row = next(s for s in sources.details["sources"] if s["name"] == "litellm")
    assert row["last_status"] == "error" and row["last_error"] and row["health"] == "fail"


def test_rest_doctor_needs_an_admin_and_returns_the_report(svc, client):
    body = client.get(f"{V1}/admin/doctor").json()  # keyless loopback: open
    assert body["checks"][0]["name"] == "database"
    assert body["status"] in ("ok", "warn")
    _, secret = svc.create_api_key("app", "client")
    client.app.state.keys_checked_at = -1e9  # the key count is cached for a moment
    refused = client.get(f"{V1}/admin/doctor", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 403
