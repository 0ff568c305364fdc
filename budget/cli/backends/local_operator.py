"""The local backend's ``doctor`` and ``export_usage`` (kept apart from local.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from budget.cli.backends.base import USAGE_FILTERS, Json

EXPORT_FILTERS = ("since", "until", "budget_id", "priced", "kind", "corrects_id", *USAGE_FILTERS)


class LocalOperator:
    """Mixed into LocalBackend: its ``svc``, ``_url`` and ``_must_exist``."""

    svc: Any
    _url: str | None
    _must_exist: bool

    def doctor(self) -> Json:
        """The report on this database as it stands: opened without migrating
        or seeding it, so pending migrations show instead of being run."""
        from budget.api.schemas_operator import DoctorOut
        from budget.cli.backends.local import open_service, require_existing_sqlite

        if self._must_exist:
            require_existing_sqlite(self._url)
        svc = open_service(
            self._url,
            auto_migrate=False,
            seed_default_prices=False,
            refresh_prices=False,
            deliver_events=False,
        )
        try:
            return DoctorOut.of(svc.doctor()).model_dump(mode="json")
        finally:
            svc.close()

    def export_usage(self, query: Json, fmt: str) -> Iterator[str]:
        """The export as text chunks, read from the ledger a page at a time."""
        from budget.api.usage_export import export_chunks

        filters = {k: query[k] for k in EXPORT_FILTERS if query.get(k) is not None}
        return export_chunks(self.svc.export_usage(**filters), fmt)
