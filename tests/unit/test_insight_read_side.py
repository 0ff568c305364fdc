"""The read side's decisions on fake repositories: what a report asks storage
for and how it folds the answer, when a rebuild repairs a day, when a report
on a pruned ledger is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from budget.domain.enums import Period, PolicyType
from budget.domain.models import Policy, ScopeFilter
from budget.domain.rollups import COUNTERS, EPOCH, LabelRule, Selection, epoch_hour
from budget.engine.insight import aggregate as agg
from budget.engine.insight.buckets import Bucketing, plan
from budget.engine.insight.pruned import refuse_pruned_pieces
from budget.engine.insight.rebuild import RebuildReport, rebuild_day
from budget.engine.insight.rollups import Accumulator
from budget.errors import ValidationError

DAY = datetime(2026, 11, 29, tzinfo=UTC)
WHOLE = Bucketing.of(None, "UTC")


class FakeReports:
    """Answers every rollup query with ``rollup`` rows and every ledger query with ``ledger``."""

    def __init__(self, rollup=(), ledger=(), pruned=None) -> None:
        self.rollup, self.ledger, self.pruned = list(rollup), list(ledger), pruned
        self.asked: list[tuple] = []

    def rollup_sums(self, cube, span, ranges, label, selection, tag_equals=None):
        self.asked.append(("rollups", cube, span, label, selection, tag_equals))
        return self.rollup if span == 1 else []

    def ledger_sums(self, pieces, selection):
        self.asked.append(("ledger", pieces, selection))
        return self.ledger

    def ledger_pruned_before(self):
        return self.pruned


def counters(records: int, tokens: int = 10, nanos: int = 100) -> tuple[int, ...]:
    return (records, tokens, 0, 0, 0, 0, nanos)


def policy(**scope) -> Policy:
    return Policy(
        policy_id="pol_1",
        budget_id="bud_1",
        name="p",
        type=PolicyType.HARD_LIMIT,
        period=Period.DAILY,
        timezone="UTC",
        scope=ScopeFilter(**scope),
        token_limit=None,
        cost_limit_nanos=None,
        warning_thresholds=(),
        action_threshold=None,
        critical_headroom=Decimal(0),
        starts_at=None,
        ends_at=None,
        enabled=True,
        created_at=DAY,
        updated_at=DAY,
    )


def test_a_report_by_model_reads_the_model_cube_and_sums_per_group():
    reports = FakeReports(
        rollup=[
            (0, {"provider": "openai", "model": "gpt-4o"}, None, True, counters(2)),
            (0, {"provider": "openai", "model": "gpt-4o"}, None, False, counters(1, nanos=0)),
            (0, {"provider": "acme", "model": "m"}, None, True, counters(3)),
        ]
    )
    query = agg.Query(DAY, DAY + timedelta(hours=5), WHOLE, ("provider", "model"))
    result = agg.run(SimpleNamespace(reports=reports), query, plan(query.since, query.until, WHOLE))
    (_, cube, span, label, selection, tag) = reports.asked[0]
    assert (cube, span, label, tag) == ("model", 1, LabelRule(0), None)
    assert selection.attrs == ("provider", "model") and selection.scopes is None
    gpt = result.groups[(0, ("openai", "gpt-4o"))]
    assert (gpt.records, gpt.cost_nanos, gpt.unpriced_records) == (3, 100, 1)
    assert result.totals.records == 6 and result.rollup_rows == 3 and result.ledger_pieces == 0


def test_a_budget_filter_sends_its_scopes_and_keeps_only_covered_tagged_rows():
    reports = FakeReports(
        rollup=[
            (0, {"user": "ana"}, ["prod", "x"], True, counters(2)),
            (0, {"user": "ana"}, ["x"], True, counters(5)),  # lacks the scope's tag
        ]
    )
    budget_policy = policy(user="ana", tags=frozenset({"prod"}))
    query = agg.Query(DAY, DAY + timedelta(hours=1), WHOLE, budget_policies=(budget_policy,))
    result = agg.run(SimpleNamespace(reports=reports), query, plan(query.since, query.until, WHOLE))
    selection = reports.asked[0][4]
    assert reports.asked[0][1] == "full" and selection.with_tags
    assert selection.scopes == ({"user": "ana"},)
    assert result.totals.records == 2


def test_sub_hour_pieces_are_asked_of_the_ledger():
    reports = FakeReports(ledger=[(0, {}, None, True, counters(1))])
    since = DAY + timedelta(minutes=10)
    query = agg.Query(since, since + timedelta(minutes=20), WHOLE)
    result = agg.run(SimpleNamespace(reports=reports), query, plan(query.since, query.until, WHOLE))
    assert reports.asked == [
        (
            "ledger",
            [(since, since + timedelta(minutes=20), 0)],
            Selection(),  # no groups, no filters: everything in the pieces
        )
    ]
    assert result.totals.records == 1 and result.ledger_pieces == 1


class FakeRollups:
    def __init__(self, ledger, stored) -> None:
        self.ledger, self.stored = ledger, stored
        self.replaced: list[tuple[int, list]] = []
        self.locked = 0

    def lock_against_writers(self):
        self.locked += 1

    def ledger_day(self, day):
        return self.ledger

    def stored_day(self, day):
        return self.stored

    def replace_day(self, day, rows):
        self.replaced.append((day, list(rows)))


def _day_of(ledger) -> tuple[int, dict]:
    day = epoch_hour(DAY)
    acc = Accumulator()
    for hour, dims, tags, priced, correction, sums in ledger:
        acc.add_group(dims, tags, priced, hour, sums, correction=correction)
    return day, {k: tuple(r[c] for c in COUNTERS) for k, r in acc.rows.items()}


LEDGER = [
    (epoch_hour(DAY) + 3, dict.fromkeys(agg.ATTRIBUTES, ""), ["x"], True, False, counters(2)),
    (epoch_hour(DAY) + 4, dict.fromkeys(agg.ATTRIBUTES, ""), [], False, False, counters(1, 5, 0)),
]


def test_a_rebuild_leaves_a_day_that_agrees_alone():
    day, stored = _day_of(LEDGER)
    rollups = FakeRollups(LEDGER, stored)
    report = RebuildReport(check_only=False)
    rebuild_day(SimpleNamespace(rollups=rollups), day, False, report)
    assert report.agreed and not report.repaired and rollups.replaced == []
    assert (report.days, report.ledger_records, report.ledger_tokens) == (1, 3, 15)
    assert report.stored_rows == report.rollup_rows == len(stored) and rollups.locked == 1


def test_a_rebuild_replaces_a_day_that_differs_unless_only_checking():
    day, stored = _day_of(LEDGER)
    key = next(iter(stored))
    wrong = {**stored, key: (99, *stored[key][1:])}
    check = RebuildReport(check_only=True)
    rollups = FakeRollups(LEDGER, wrong)
    rebuild_day(SimpleNamespace(rollups=rollups), day, True, check)
    assert check.mismatched_rows == 1 and not check.repaired and rollups.replaced == []
    assert check.mismatched_days == ["2026-11-29"]
    repair = RebuildReport(check_only=False)
    rebuild_day(SimpleNamespace(rollups=rollups), day, False, repair)
    ((replaced_day, rows),) = rollups.replaced
    assert repair.repaired and replaced_day == day and len(rows) == len(stored)


def test_a_sub_hour_piece_where_the_ledger_was_pruned_is_refused():
    pruned_hour = epoch_hour(DAY)
    tx = SimpleNamespace(reports=FakeReports(pruned=pruned_hour))
    since = DAY - timedelta(minutes=30)
    time = plan(since, DAY + timedelta(hours=2), WHOLE)
    with pytest.raises(ValidationError) as err:
        refuse_pruned_pieces(tx, time, since, DAY + timedelta(hours=2), "UTC")
    assert err.value.field == "since"
    whole = plan(DAY - timedelta(hours=2), DAY, WHOLE)  # whole hours: the rollups answer
    refuse_pruned_pieces(tx, whole, DAY - timedelta(hours=2), DAY, "UTC")
    tx.reports.pruned = epoch_hour(EPOCH)  # pruned long before: the pieces are whole
    refuse_pruned_pieces(tx, time, since, DAY + timedelta(hours=2), "UTC")
