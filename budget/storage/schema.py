"""The whole schema: every table module, so Alembic and tests see all tables.

Tables live in several modules that share ``Base`` (``tables.py`` for the core,
one module per later capability); importing this module registers them all.
"""

from __future__ import annotations

from budget.storage import (  # noqa: F401  (register tables)
    tables_denials,
    tables_events,
    tables_insight,
    tables_prices,
)
from budget.storage.tables import Base

metadata = Base.metadata
