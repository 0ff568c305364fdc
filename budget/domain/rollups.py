"""The shape of the usage rollups, shared by the engine that derives them and
the storage that reads and writes them: cubes, grains, counters, the hour
arithmetic, and the plain descriptions of what a report reads.

A *cube* is a set of dimensions; every usage record adds one row to each cube
at two grains (the hour and the UTC day it occurred in). Buckets are integer
hours since 1970-01-01T00:00Z. See ``budget/engine/insight/rollups.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Report dimension -> column (of the rollups and of the ledger).
COLUMNS = {
    "provider": "provider",
    "model": "model",
    "tier": "tier",
    "component": "component",
    "project": "project",
    "user": "user_id",
    "api_key": "api_key",
    "task_type": "task_type",
}
ATTRIBUTES = tuple(COLUMNS)
CUBES: dict[str, tuple[str, ...]] = {
    "model": ("provider", "model", "tier"),
    "user": ("user",),
    "work": ("component", "project", "task_type", "api_key"),
    "tag": ("tag",),
    "full": (*ATTRIBUTES, "tags"),
}
#: Grains: an hour, and a whole UTC day (long ranges read 24 times fewer rows).
SPANS = (1, 24)
COUNTERS = (
    "records",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_nanos",
)
KEY = ("cube", "span_hours", "start_hour", "priced", "dims_key")
DIM_COLUMNS = (*COLUMNS.values(), "tag", "tags")
#: The columns of a rollup row, in the order the derivation gives them.
ROW_COLUMNS = (*KEY, *DIM_COLUMNS, "correction", *COUNTERS)
#: What one ledger row of each kind adds to ``records``: a void takes its
#: record back, an adjust changes amounts only.
RECORDS_OF_KIND = {"usage": 1, "void": -1, "adjust": 0}


def epoch_hour(at: datetime) -> int:
    """Whole hours since 1970-01-01T00:00Z (floored; negative before 1970)."""
    return int((at - EPOCH).total_seconds() // 3600)


def tags_text(tags: Iterable[str] | None) -> str:
    """A record's tag set as stored in the ``full`` cube: sorted JSON."""
    return json.dumps(sorted(tags or ()), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Selection:
    """Which usage a report sums, and by what, as storage reads it.

    ``attrs``: the attributes to group by (report dimension names, in
    :data:`ATTRIBUTES` order); ``with_tags``: group by the tag set too (the
    ``tag`` cube groups by its single tag); ``filters``: attribute -> the
    value it must equal; ``priced``: only priced (True) or unpriced (False)
    usage, None for both; ``corrections``: ``include``, ``exclude`` or
    ``only``; ``scopes``: when not None, only rows some scope (attribute ->
    value, all must match) may cover.
    """

    attrs: tuple[str, ...] = ()
    with_tags: bool = False
    filters: dict[str, str] = field(default_factory=dict)
    priced: bool | None = None
    corrections: str = "include"
    scopes: tuple[dict[str, str], ...] | None = None


@dataclass(frozen=True)
class Linear:
    """A bucket label computed from a start hour ``h``: ``(h * 60 + add) // unit - sub``
    (``add`` keeps the dividend positive, so integer division floors)."""

    add: int
    unit: int
    sub: int


#: How a label follows from the start hour: a constant, :class:`Linear`, or
#: None for the hour itself.
Formula = int | Linear | None


@dataclass(frozen=True)
class LabelRule:
    """The bucket label of a rollup row, as a function of its start hour:
    the first ``(below, formula)`` case whose ``below`` exceeds the hour
    applies, else ``otherwise``."""

    otherwise: Formula
    cases: tuple[tuple[int, Formula], ...] = ()

    @property
    def constant(self) -> int | None:
        """The label of every row, when it is the same for all (else None)."""
        if self.cases or not isinstance(self.otherwise, int):
            return None
        return self.otherwise


#: One summed row of a report source: (label, dimension values by attribute,
#: the tags (None when not grouped by them), priced, the :data:`COUNTERS`).
SumRow = tuple[int, dict[str, str], list[str] | None, bool, tuple[int, ...]]
