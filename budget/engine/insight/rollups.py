"""Rollups: the ledger summed per cube, per hour and per UTC day, kept by the write path.

A *cube* is a set of dimensions; every usage record adds one row to each cube
(the ``tag`` cube: one per tag, or one '' row when untagged) at two grains,
the hour and the UTC day it occurred in:

==========  ==============================================================
cube        dimensions
==========  ==============================================================
``model``   provider, model, tier
``user``    user
``work``    component, project, task_type, api_key
``tag``     tag (one row per tag of the record)
``full``    all of the above and the record's tag set (``tags``, JSON)
==========  ==============================================================

A report picks the smallest cube that holds its dimensions, so "by model"
reads hours x models rows, not records. Priced and unpriced usage are rows
apart (``priced``): unpriced rows count records and tokens, never cost.
Corrections of the ledger (void, adjust) are rows apart too (``correction``,
and a ``dims_key`` of their own), so a report can show the ledger with or
without them; a void counts -1 record, an adjust none (docs/corrections.md).

:func:`apply_usages` runs inside the ledger's write transaction, right after
the ledger insert: one ``INSERT … ON CONFLICT DO UPDATE`` that adds to the
counters, so concurrent writers cannot lose an update and a rolled-back
usage record leaves no trace in the rollups either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from budget.domain.rollups import (
    ATTRIBUTES,
    COLUMNS,
    COUNTERS,
    CUBES,
    DIM_COLUMNS,
    EPOCH,
    KEY,
    RECORDS_OF_KIND,
    ROW_COLUMNS,
    SPANS,
    epoch_hour,
    tags_text,
)

if TYPE_CHECKING:
    from budget.storage.unit import Unit

__all__ = [
    "ATTRIBUTES",
    "COLUMNS",
    "COUNTERS",
    "CUBES",
    "DIM_COLUMNS",
    "EPOCH",
    "KEY",
    "RECORDS_OF_KIND",
    "ROW_COLUMNS",
    "SPANS",
    "Accumulator",
    "apply_usages",
    "cube_rows",
    "epoch_hour",
    "rollup_rows",
    "tags_text",
    "usage_rows",
]
_BLANK = dict.fromkeys(DIM_COLUMNS, "")


def _digest(parts: Iterable[str]) -> str:
    text = "\x1f".join(parts)
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def cube_rows(
    dims: Mapping[str, str], tags: list[str], correction: bool = False
) -> list[dict[str, Any]]:
    """The dimension part of every cube row one record (with these values) adds to.

    ``dims`` maps each attribute (``user``, ``model`` …) to its value, '' when
    absent; ``tags`` is the record's sorted tag list; ``correction``: the
    record corrects another (its rows have a key of their own).
    """
    out = []
    mark = ("\x1ecorrection",) if correction else ()
    for cube, names in CUBES.items():
        if cube == "tag":
            for tag in tags or [""]:
                key = _digest((tag, *mark))
                out.append({**_BLANK, "cube": cube, "tag": tag, "dims_key": key})
                out[-1]["correction"] = correction
            continue
        row = dict(_BLANK)
        values = []
        for name in names:
            value = tags_text(tags) if name == "tags" else dims[name]
            row["tags" if name == "tags" else COLUMNS[name]] = value
            values.append(value)
        row["cube"] = cube
        row["dims_key"] = _digest((*values, *mark))
        row["correction"] = correction
        out.append(row)
    return out


def record_dims(values: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The dimensions of one ledger row (its column values) and its sorted tags."""
    dims = {name: values[column] or "" for name, column in COLUMNS.items()}
    return dims, sorted(values["tags"] or ())


def is_correction(values: Mapping[str, Any]) -> bool:
    """Whether a ledger row corrects another (void or adjust)."""
    return (values.get("kind") or "usage") != "usage"


def record_counters(values: Mapping[str, Any]) -> tuple[bool, tuple[int, ...]]:
    """(priced, the counters) one ledger row adds."""
    priced = bool(values["priced"])
    return priced, (
        RECORDS_OF_KIND[values.get("kind") or "usage"],
        values["input_tokens"],
        values["output_tokens"],
        values["cached_input_tokens"],
        values["cache_write_tokens"],
        values["reasoning_tokens"],
        (values["cost_nanos"] or 0) if priced else 0,
    )


def usage_rows(values: Mapping[str, Any]) -> list[tuple]:
    """Every rollup row (both grains, all cubes) one ledger row adds to, as tuples of
    :data:`ROW_COLUMNS`, in key order (cube, dimensions, grain)."""
    dims, tags = record_dims(values)
    priced, counters = record_counters(values)
    correction = is_correction(values)
    hour = epoch_hour(values["occurred_at"])
    starts = [(span, hour - hour % span) for span in SPANS]
    return [
        (cube, span, start, priced, key, *dim_values, *counters)
        for cube, key, dim_values in _templates(tuple(dims.values()), tuple(tags), correction)
        for span, start in starts
    ]


@lru_cache(maxsize=8192)
def _templates(
    dims: tuple[str, ...], tags: tuple[str, ...], correction: bool = False
) -> tuple[tuple, ...]:
    """(cube, dims_key, dimension columns and the correction flag) of each
    cube row, sorted; cached per caller."""
    rows = cube_rows(dict(zip(ATTRIBUTES, dims, strict=True)), list(tags), correction)
    out = [(r["cube"], r["dims_key"], (*(r[c] for c in DIM_COLUMNS), correction)) for r in rows]
    return tuple(sorted(out))


def rollup_rows(many: Iterable[Mapping[str, Any]]) -> list[tuple]:
    """The rollup rows many ledger rows add to, as tuples of :data:`ROW_COLUMNS`
    in key order: records with the same dimensions in the same hour are summed
    first, so a batch adds to each rollup row once."""
    groups: dict[tuple, list[int]] = {}
    for values in many:
        dims, tags = record_dims(values)
        priced, counters = record_counters(values)
        hour = epoch_hour(values["occurred_at"])
        key = (tuple(dims.values()), tuple(tags), priced, hour, is_correction(values))
        found = groups.get(key)
        if found is None:
            groups[key] = list(counters)
        else:
            for i, value in enumerate(counters):
                found[i] += value
    width = len(KEY)
    summed: dict[tuple, list] = {}
    for (dims, tags, priced, hour, correction), counters in groups.items():
        for span in SPANS:
            start = hour - hour % span
            for cube, dims_key, dim_values in _templates(dims, tags, correction):
                row = [cube, span, start, priced, dims_key, *dim_values, *counters]
                found = summed.get(tuple(row[:width]))
                if found is None:
                    summed[tuple(row[:width])] = row
                    continue
                for i in range(len(row) - len(COUNTERS), len(row)):
                    found[i] += row[i]
    return [tuple(summed[key]) for key in sorted(summed)]


def apply_usages(tx: Unit, many: Iterable[Mapping[str, Any]]) -> None:
    """Add many ledger rows to the rollups, in the transaction that inserts them."""
    tx.rollups.add(rollup_rows(many))


class Accumulator:
    """Rollup rows summed in memory, for writing many records' worth at once.

    The rebuild (and the benchmark's generator) feed it ledger rows, or groups
    of identical records, through the same derivation as the write path.
    """

    def __init__(self) -> None:
        self.rows: dict[tuple, dict[str, Any]] = {}
        self._dims: dict[tuple, list[dict[str, Any]]] = {}

    def add(self, values: Mapping[str, Any]) -> None:
        """One ledger row (a mapping of its columns)."""
        dims, tags = record_dims(values)
        priced, counters = record_counters(values)
        hour = epoch_hour(values["occurred_at"])
        self.add_group(dims, tags, priced, hour, counters, correction=is_correction(values))

    def add_group(
        self,
        dims: Mapping[str, str],
        tags: list[str],
        priced: bool,
        hour: int,
        counters: tuple[int, ...],
        *,
        correction: bool = False,
    ) -> None:
        """Records with the same dimensions in the same hour, already summed
        (``correction``: corrections of the ledger, summed apart)."""
        signature = (*dims.values(), *tags, correction)
        templates = self._dims.get(signature)
        if templates is None:
            templates = self._dims[signature] = cube_rows(dims, tags, correction)
        for span in SPANS:
            start = hour - hour % span
            for template in templates:
                key = (template["cube"], span, start, priced, template["dims_key"])
                row = self.rows.get(key)
                if row is None:
                    row = self.rows[key] = {
                        **template,
                        **dict.fromkeys(COUNTERS, 0),
                        "span_hours": span,
                        "start_hour": start,
                        "priced": priced,
                    }
                for name, value in zip(COUNTERS, counters, strict=True):
                    row[name] += value

    def sorted_rows(self) -> list[dict[str, Any]]:
        """The rows (mappings of every column), in key order."""
        return [self.rows[k] for k in sorted(self.rows)]
