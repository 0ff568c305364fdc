"""Schema changes go through Alembic: from empty to head, and back, on both backends."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

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
