"""Schema changes go through Alembic: from empty to head, and back, on both backends."""

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, BigInteger, Boolean, DateTime, String, create_engine, inspect, text
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table

import budget
from budget.settings import Settings
from budget.storage.migrate import current_revision, downgrade, head_revision, upgrade
from budget.storage.schema import metadata


@pytest.fixture
def empty_url(request, tmp_path):
    """An empty database (no tables at all)."""
    if "postgres" not in request.node.callspec.params.get("backend", "sqlite"):
        return f"sqlite:///{tmp_path / 'empty.db'}"
    url = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS migration_test"))
        conn.execute(text("DROP SCHEMA migration_test CASCADE"))
        conn.execute(text("CREATE SCHEMA migration_test"))
    engine.dispose()
    return url + "?options=-csearch_path%3Dmigration_test"


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_upgrade_from_empty_matches_the_models(backend, empty_url):
    engine = create_engine(empty_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    assert diff == []
    upgrade(engine)  # idempotent
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert "usage_records" in inspect(engine).get_table_names()
    engine.dispose()


def _old_ledger_row(i: int, at: datetime, **values) -> dict:
    """A usage record as the ledger held it before the rollups (revision 0003)."""
    row = {
        "id": f"use_{i}",
        "content_hash": "h",
        "provider": "openai",
        "model": "gpt-4o",
        "tier": None,
        "component": None,
        "project": None,
        "user_id": None,
        "api_key": None,
        "task_type": None,
        "tags": [],
        "input_tokens": 100 + i,
        "output_tokens": 10 + i,
        "cached_input_tokens": i % 3,
        "cache_write_tokens": i % 2,
        "reasoning_tokens": i % 5,
        "total_tokens": 110 + 2 * i,
        "priced": True,
        "cost_nanos": 350_000 + i,
        "metadata": {},
        "occurred_at": at,
        "recorded_at": at,
    }
    return {**row, **values}


OLD_LEDGER = sa_table(
    "usage_records",
    *(
        sa_column(name, kind)
        for name, kind in {
            **dict.fromkeys(
                ["id", "content_hash", "provider", "model", "tier", "component", "project"],
                String(),
            ),
            **dict.fromkeys(["user_id", "api_key", "task_type"], String()),
            **dict.fromkeys(["tags", "metadata"], JSON()),
            **dict.fromkeys(
                [
                    "input_tokens",
                    "output_tokens",
                    "cached_input_tokens",
                    "cache_write_tokens",
                    "reasoning_tokens",
                    "total_tokens",
                    "cost_nanos",
                ],
                BigInteger(),
            ),
            "priced": Boolean(),
            "occurred_at": DateTime(timezone=True),
            "recorded_at": DateTime(timezone=True),
        }.items()
    ),
)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_ledger_from_before_the_rollups_gets_them_when_they_are_added(backend, empty_url):
    from budget.engine.insight.rollups import Accumulator

    engine = create_engine(empty_url)
    upgrade(engine, "0003")
    first = datetime(2026, 3, 28, 22, 40, tzinfo=UTC)  # across a UTC midnight
    ledger = [
        _old_ledger_row(0, first, tags=["x", "y"], user_id="ana", project="alpha"),
        _old_ledger_row(1, first + timedelta(minutes=5), tags=["y", "x"], user_id="ana"),
        _old_ledger_row(2, first + timedelta(minutes=50), priced=False, cost_nanos=None),
        _old_ledger_row(3, first + timedelta(hours=2), provider="azure", tags=["zé"]),
        _old_ledger_row(4, first + timedelta(days=1), tier="remote_heavyweight", task_type="chat"),
        _old_ledger_row(5, first + timedelta(days=1), api_key="k1", component="bot"),
        _old_ledger_row(6, first + timedelta(days=3, minutes=1), priced=True, cost_nanos=None),
    ]
    if backend == "sqlite":  # naive UTC, as the application stores it there
        stored = [{**r, "occurred_at": r["occurred_at"].replace(tzinfo=None)} for r in ledger]
        stored = [{**r, "recorded_at": r["occurred_at"]} for r in stored]
    else:
        stored = ledger
    with engine.begin() as conn:
        conn.execute(OLD_LEDGER.insert(), stored)
    upgrade(engine, "0004_insight")
    expected = Accumulator()
    for row in ledger:
        expected.add(row)
    wanted = sorted(
        tuple(sorted((k, v) for k, v in row.items() if k != "correction"))
        for row in expected.sorted_rows()
    )
    with engine.connect() as conn:
        got = sorted(
            tuple(sorted(row._mapping.items()))  # SQLite: priced 1 == True
            for row in conn.execute(text("SELECT * FROM usage_rollups"))
        )
    assert got == wanted and len(got) > 40
    upgrade(engine)
    engine.dispose()
    svc = budget.open(settings=Settings(database_url=empty_url, pool_size=2), price_network=False)
    try:
        check = svc.rebuild_rollups(check_only=True)
        assert check.agreed and check.ledger_records == len(ledger) and check.days == 3
        report = svc.usage_report(
            since=first - timedelta(hours=1), until=first + timedelta(days=4), group_by=["tag"]
        )
        by_tag = {r.group["tag"]: r.usage.records for r in report.rows}
        assert by_tag == {"x": 2, "y": 2, "zé": 1, None: 4}
        assert report.total.records == len(ledger)
    finally:
        svc.close()
