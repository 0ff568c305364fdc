"""Tables of the reporting rollups (defined with the insight capability).

``usage_rollups`` holds the ledger summed per *cube* (a set of dimensions),
per bucket (an hour, or a whole UTC day) and per priced / unpriced usage. The
write path adds to it in the same transaction as the ledger insert, so a
report reads a number of rows that grows with its buckets and groups, never
with the number of usage records. See ``budget/engine/insight/rollups.py``.

Buckets are integer hours since 1970-01-01T00:00Z (``start_hour``), with a
length (``span_hours``) of 1 or 24. Dimensions a cube does not keep are ''
(never NULL, so that they can take part in the key); ``dims_key`` is a hash
of the cube's dimension values, which keeps the primary key short however
long the values are.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, SmallInteger, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from budget.storage.tables import Base


class UsageRollupRow(Base):
    """Usage summed over one bucket for one combination of a cube's dimensions."""

    __tablename__ = "usage_rollups"

    cube: Mapped[str] = mapped_column(String(16), primary_key=True)
    span_hours: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    start_hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    priced: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    dims_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    tier: Mapped[str] = mapped_column(String(40), default="")
    component: Mapped[str] = mapped_column(String(200), default="")
    project: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[str] = mapped_column(String(200), default="")
    api_key: Mapped[str] = mapped_column(String(200), default="")
    task_type: Mapped[str] = mapped_column(String(100), default="")
    tag: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(Text, default="")
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cached_input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    reasoning_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Corrections of the ledger (void / adjust) are summed apart from usage.
    correction: Mapped[bool] = mapped_column(Boolean, server_default=false())

    # SQLite: clustered by the key, so a range of buckets of one cube is contiguous.
    __table_args__ = {"sqlite_with_rowid": False}


usage_rollups = UsageRollupRow.__table__
