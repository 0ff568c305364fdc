"""The local database as the commands open it: with its errors as Budget's.

``open_service`` is :func:`budget.bootstrap.open` with a database that cannot
be opened as a Budget error; ``require_existing_sqlite`` keeps a command that
only reads from leaving an empty file behind a typo; ``doctor_report`` is
``budget doctor`` on the database as it stands (not migrated first).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from budget.errors import BudgetError, NotFound, StorageError, ValidationError

if TYPE_CHECKING:
    from budget.engine.service import BudgetService


def open_service(url: str | None, **settings: Any) -> BudgetService:
    """The service on ``url`` (default: the embedded SQLite file)."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    from budget.bootstrap import open as open_budget

    try:
        return open_budget(url, **settings)
    except BudgetError:
        raise
    except (ArgumentError, NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ValidationError("database_url", url, f"not a usable database URL ({exc})") from None
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(f"cannot open the database: {short_error(exc)}") from None


def require_existing_sqlite(url: str | None) -> None:
    """Refuse a SQLite file that does not exist (a command that only reads must
    not leave an empty database behind a typo)."""
    from sqlalchemy.engine import make_url

    from budget.settings import Settings

    target = make_url(url or Settings().database_url)
    path = target.database
    if not target.drivername.startswith("sqlite") or not path or path == ":memory:":
        return
    if path.startswith("file:"):
        return
    if not os.path.exists(path):
        raise NotFound("database", "path", path).explain(
            "`budget init` creates it, or give --database-url / BUDGET_DATABASE_URL"
        )


def short_error(exc: BaseException) -> str:
    """The first line of a driver's message, without SQLAlchemy's background link."""
    text = str(getattr(exc, "orig", None) or exc)
    return text.split("(Background on this error")[0].strip().splitlines()[0]


class LocalDatabase:
    """The service on a database URL, opened on first use (``serve``, ``mcp``)."""

    def __init__(self, database_url: str | None = None, *, must_exist: bool = False) -> None:
        self._url = database_url
        self._must_exist = must_exist
        self._svc: BudgetService | None = None

    @property
    def svc(self) -> BudgetService:
        if self._svc is None:
            if self._must_exist:
                require_existing_sqlite(self._url)
            self._svc = open_service(self._url)
        return self._svc

    def close(self) -> None:
        if self._svc is not None:
            self._svc.close()
            self._svc = None


def doctor_report(database_url: str | None, *, must_exist: bool) -> dict[str, Any]:
    """The doctor report (GET /admin/doctor's body) on this database as it
    stands: opened without migrating or seeding it, so pending migrations show
    instead of being run."""
    from budget.api.schemas_operator import DoctorOut

    if must_exist:
        require_existing_sqlite(database_url)
    svc = open_service(
        database_url,
        auto_migrate=False,
        seed_default_prices=False,
        refresh_prices=False,
        deliver_events=False,
    )
    try:
        return DoctorOut.of(svc.doctor()).model_dump(mode="json")
    finally:
        svc.close()
