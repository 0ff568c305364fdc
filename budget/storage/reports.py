"""The read side's SQL: usage summed from the rollups and the ledger, and what
reports and forecasts look up beside it.

A report sums the smallest cube that holds its dimensions, per bucket and per
those dimensions (:meth:`Reports.rollup_sums`); the sub-hour pieces of its
range come from the ledger, summed the same way (:meth:`Reports.ledger_sums`).
Both give rows of the same shape (:data:`~budget.domain.rollups.SumRow`), so
the engine folds them together. See ``budget/engine/insight/aggregate.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)

from budget.domain.models import WindowCounters
from budget.domain.rollups import COLUMNS, COUNTERS, LabelRule, Linear, Selection, SumRow
from budget.storage import tables as t
from budget.storage.retention import ledger_pruned_before
from budget.storage.rollups import records_weight
from budget.storage.tables_insight import usage_rollups

if TYPE_CHECKING:
    from budget.storage.unit import Unit

R = usage_rollups.c
U = t.usage_records.c
W = t.windows.c


class Reports:
    """Sums of usage for reports, forecasts and the token mix."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def rollup_sums(
        self,
        cube: str,
        span: int,
        ranges: Sequence[tuple[int, int]],
        label: LabelRule,
        selection: Selection,
        tag_equals: str | None = None,
    ) -> list[SumRow]:
        """The rows of ``cube`` at grain ``span`` (hours) whose start hour is in
        one of ``ranges`` ([first, last) pairs), summed per bucket ``label``, per
        the selection's dimensions and per priced flag (``tag_equals``: the
        ``tag`` cube's rows of that tag only)."""
        text = label_sql(label, "start_hour")
        labelled = literal_column(text)
        grouped = [] if text.lstrip("-").isdigit() else [labelled]  # never GROUP BY a constant
        dims = [R[COLUMNS[a]] for a in selection.attrs]
        if selection.with_tags:
            dims.append(R.tag if cube == "tag" else R.tags)
        where = [
            R.cube == cube,
            R.span_hours == span,
            or_(*(and_(R.start_hour >= a, R.start_hour < b) for a, b in ranges)),
            *_filters(selection, R.priced, _rollup_corrections, lambda a: R[COLUMNS[a]]),
        ]
        if tag_equals is not None:
            where.append(R.tag == tag_equals)
        stmt = (
            select(labelled, *dims, R.priced, *(_sum(R[c]) for c in COUNTERS))
            .where(*where)
            .group_by(*grouped, *dims, R.priced)
        )
        rows = self.tx.execute(stmt).all()
        return list(_sum_rows(rows, selection, single_tag=cube == "tag"))

    def ledger_sums(
        self, pieces: Sequence[tuple[datetime, datetime, int]], selection: Selection
    ) -> list[SumRow]:
        """The ledger rows inside the ``pieces`` ((start, end, label), in time
        order) summed per piece label, per the selection's dimensions and per
        priced flag, as rollup rows would sum them."""
        if len({label for _, _, label in pieces}) == 1:
            labelled, grouped = literal_column(str(pieces[0][2])), []
        else:
            whens = [(U.occurred_at < end, label) for _, end, label in pieces[:-1]]
            labelled = case(*whens, else_=pieces[-1][2])
            grouped = [labelled]
        dims = [U[COLUMNS[a]] for a in selection.attrs]
        if selection.with_tags:
            dims.append(cast(U.tags, Text))
        cost = _sum(case((U.priced.is_(True), func.coalesce(U.cost_nanos, 0)), else_=0))
        stmt = (
            select(
                labelled,
                *dims,
                U.priced,
                _sum(records_weight()),
                _sum(U.input_tokens),
                _sum(U.output_tokens),
                _sum(U.cached_input_tokens),
                _sum(U.cache_write_tokens),
                _sum(U.reasoning_tokens),
                cost,
            )
            .where(
                or_(*(and_(U.occurred_at >= a, U.occurred_at < b) for a, b, _ in pieces)),
                *_filters(selection, U.priced, _ledger_corrections, lambda a: U[COLUMNS[a]]),
            )
            .group_by(*grouped, *dims, U.priced)
        )
        rows = self.tx.execute(stmt).all()
        return list(_sum_rows(rows, selection, single_tag=False))

    def ledger_pruned_before(self) -> int | None:
        """The hour (since the epoch) before which the ledger was pruned, if it was."""
        return ledger_pruned_before(self.tx)

    def budget_names(self, ids: Iterable[str]) -> dict[str, str]:
        """Budget id -> name, for the ids that exist."""
        stmt = select(t.budgets.c.id, t.budgets.c.name).where(t.budgets.c.id.in_(set(ids)))
        return {r.id: r.name for r in self.tx.execute(stmt)}

    def window_counters(self, windows: Iterable[tuple[str, str]]) -> dict[str, WindowCounters]:
        """The counters of the windows named by (policy id, window key), by policy id."""
        pairs = [and_(W.policy_id == policy, W.window_key == key) for policy, key in windows]
        if not pairs:
            return {}
        stmt = select(
            W.policy_id, W.used_tokens, W.reserved_tokens, W.used_nanos, W.reserved_nanos
        ).where(or_(*pairs))
        return {r.policy_id: WindowCounters(r[1], r[2], r[3], r[4]) for r in self.tx.execute(stmt)}


def label_sql(rule: LabelRule, column: str) -> str:
    """SQL (integer literals only) computing a bucket label from ``column``, a start hour."""
    if not rule.cases:
        return _formula_sql(rule.otherwise, column)
    whens = " ".join(
        f"WHEN {column} < {below} THEN {_formula_sql(formula, column)}"
        for below, formula in rule.cases
    )
    return f"(CASE {whens} ELSE {_formula_sql(rule.otherwise, column)} END)"


def _formula_sql(formula: int | Linear | None, column: str) -> str:
    if formula is None:
        return column
    if isinstance(formula, int):
        return str(formula)
    return f"(({column} * 60 + {formula.add}) / {formula.unit} - {formula.sub})"


def _rollup_corrections(wanted: bool):
    return R.correction.is_(wanted)


def _ledger_corrections(wanted: bool):
    return U.kind != "usage" if wanted else U.kind == "usage"


def _filters(
    selection: Selection, priced: Any, corrections: Callable[[bool], Any], column: Callable
) -> list:
    clauses = [column(name) == value for name, value in selection.filters.items()]
    if selection.priced is not None:
        clauses.append(priced.is_(selection.priced))
    if selection.corrections != "include":
        clauses.append(corrections(selection.corrections == "only"))
    if selection.scopes is not None:
        clauses.append(_scope_prefilter(selection.scopes, column))
    return clauses


def _scope_prefilter(scopes: tuple[dict[str, str], ...], column: Callable):
    """Rows some scope may cover (tags are checked afterwards, by the engine)."""
    if not scopes:
        return false()
    ors = []
    for values in scopes:
        conds = [column(name) == value for name, value in values.items()]
        ors.append(and_(*conds) if conds else true())
    return or_(*ors)


def _sum(column):
    """SUM as a BIGINT (PostgreSQL's SUM of BIGINT is NUMERIC: Decimal in Python)."""
    return cast(func.sum(column), BigInteger)


def _sum_rows(rows, selection: Selection, single_tag: bool) -> Iterable[SumRow]:
    """(label, dims, tags or None, priced, counters) of each result row."""
    attrs = selection.attrs
    end = 1 + len(attrs)
    for row in rows:
        dims = {a: v or "" for a, v in zip(attrs, row[1:end], strict=True)}
        index = end
        tags = None
        if selection.with_tags:
            raw = row[index] or ""
            tags = ([raw] if raw else []) if single_tag else (json.loads(raw) if raw else [])
            index += 1
        yield row[0], dims, tags, bool(row[index]), tuple(row[index + 1 :])
