"""The workload: a realistic policy mix, the requests, one cycle, and counting.

Every benchmark request comes from the same caller: project ``alpha``,
component ``chat``, ``openai/gpt-4o-mini`` (a priced model), tags ``bench``
and ``prod``. Policies are spread over budgets of up to four policies (one
scope per budget, periods daily / monthly / hourly / total, types mostly
hard_limit and warn, some soft_limit and ignore); their limits are far too
high ever to be reached, so nothing is denied and no threshold alert fires.
With more than ten policies a quarter of them are scoped to somebody else
(another project, model, provider, component, user or tag) and never match.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

import budget
from budget.storage.batch import set_trace

PROVIDER = "openai"
MODEL = "gpt-4o-mini"
INPUT_TOKENS = 1_200
MAX_OUTPUT_TOKENS = 800
USED_OUTPUT_TOKENS = 350

#: Far above anything a run can use (tokens at most 10**15; USD as nano-USD in BIGINT).
TOKEN_LIMIT = 10**14
COST_LIMIT_USD = "1000000"

#: Scopes that cover the benchmark's requests ...
MATCHING_SCOPES: list[dict[str, Any]] = [
    {},
    {"project": "alpha"},
    {"provider": PROVIDER},
    {"model": MODEL},
    {"component": "chat"},
    {"tags": ["bench"]},
    {"project": "alpha", "provider": PROVIDER},
]
#: ... and scopes that do not (each differs in one attribute).
OTHER_SCOPES: list[dict[str, Any]] = [
    {"project": "beta"},
    {"model": "gpt-4o"},
    {"provider": "anthropic"},
    {"component": "batch"},
    {"user": "nobody"},
    {"tags": ["other"]},
    {"project": "alpha", "model": "o3"},
]
PERIODS = ["daily", "monthly", "hourly", "total"]
TYPES = ["hard_limit", "warn", "soft_limit", "hard_limit", "warn", "ignore"]
POLICIES_PER_BUDGET = 4


@dataclass(frozen=True)
class PolicySpec:
    budget: str
    fields: dict[str, Any]
    matches: bool


def policy_mix(count: int) -> list[PolicySpec]:
    """``count`` policies; all match up to 10, three quarters match beyond."""
    matching = count if count <= 10 else round(count * 0.75)
    specs: list[PolicySpec] = []
    budget_sizes: list[tuple[bool, int]] = []
    for matches, total in ((True, matching), (False, count - matching)):
        left = total
        while left > 0:
            size = min(POLICIES_PER_BUDGET, left)
            budget_sizes.append((matches, size))
            left -= size
    # Interleave matching and non-matching budgets, as created over time.
    yes = [b for b in budget_sizes if b[0]]
    no = [b for b in budget_sizes if not b[0]]
    order: list[tuple[bool, int]] = []
    while yes or no:
        for group in (yes, no):
            if group:
                order.append(group.pop(0))
    counters = {True: 0, False: 0}
    index = 0
    for matches, size in order:
        scopes = MATCHING_SCOPES if matches else OTHER_SCOPES
        scope = scopes[counters[matches] % len(scopes)]
        name = f"{'team' if matches else 'other'}-{counters[matches]:03d}"
        counters[matches] += 1
        for j in range(size):
            fields: dict[str, Any] = {
                "type": TYPES[index % len(TYPES)],
                "period": PERIODS[j % len(PERIODS)],
                "name": f"{name}-{PERIODS[j % len(PERIODS)]}",
                **scope,
            }
            # Token limits, USD limits and both, in turn.
            if index % 3 != 1:
                fields["token_limit"] = TOKEN_LIMIT
            if index % 3 != 0:
                fields["cost_limit"] = COST_LIMIT_USD
            specs.append(PolicySpec(name, fields, matches))
            index += 1
    return specs


def create_policies(svc: budget.BudgetService, count: int) -> int:
    """Create the mix on a fresh service; returns how many policies match."""
    budgets: dict[str, str] = {}
    for spec in policy_mix(count):
        if spec.budget not in budgets:
            budgets[spec.budget] = svc.create_budget(spec.budget, owner="bench").budget_id
        svc.add_policy(budgets[spec.budget], **spec.fields)
    return sum(spec.matches for spec in policy_mix(count))


class Requests:
    """Distinct request ids across threads, configurations and runs."""

    def __init__(self) -> None:
        self._run = uuid.uuid4().hex[:10]
        self._ids = itertools.count()  # next() on a count is atomic in CPython

    def request_id(self) -> str:
        return f"bench-{self._run}-{next(self._ids)}"


def cycle(svc: budget.BudgetService, requests: Requests, user: str, fused: bool = False) -> None:
    """allocate -> record_usage (drawing the allocation down) -> release; with
    ``fused``, the same call in two operations: the usage releases the allocation."""
    allocation = svc.allocate(
        context_id=f"ctx-{user}",
        provider=PROVIDER,
        model=MODEL,
        input_tokens=INPUT_TOKENS,
        max_output_tokens=MAX_OUTPUT_TOKENS,
        project="alpha",
        component="chat",
        user=user,
        tags=["bench", "prod"],
    )
    svc.record_usage(
        allocation_id=allocation.allocation_id,
        request_id=requests.request_id(),
        input_tokens=INPUT_TOKENS,
        output_tokens=USED_OUTPUT_TOKENS,
        latency_ms=420,
        release=fused,
    )
    if not fused:
        svc.release(allocation.allocation_id)


def fused_cycle(svc: budget.BudgetService, requests: Requests, user: str) -> None:
    """allocate -> record_usage(release=True)."""
    cycle(svc, requests, user, fused=True)


CYCLES = {"3 ops": cycle, "2 ops": fused_cycle}


def usage_item(requests: Requests) -> dict[str, Any]:
    """One usage report without an allocation (what a batch upload carries)."""
    return {
        "provider": PROVIDER,
        "model": MODEL,
        "request_id": requests.request_id(),
        "context_id": "ctx-batch",
        "input_tokens": INPUT_TOKENS,
        "output_tokens": USED_OUTPUT_TOKENS,
        "project": "alpha",
        "component": "chat",
        "user": "batch",
        "tags": ["bench", "prod"],
        "latency_ms": 420,
    }


# --- measuring -----------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation; values must be sorted."""
    if not sorted_values:
        return float("nan")
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = q * (len(sorted_values) - 1)
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


@dataclass
class Timing:
    count: int
    seconds: float
    latencies: list[float]  # seconds, one per operation

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.latencies)
        return {
            "p50_ms": percentile(ordered, 0.50) * 1000,
            "p90_ms": percentile(ordered, 0.90) * 1000,
            "p99_ms": percentile(ordered, 0.99) * 1000,
            "p999_ms": percentile(ordered, 0.999) * 1000,
            "mean_ms": (sum(ordered) / len(ordered) * 1000) if ordered else float("nan"),
            "max_ms": (ordered[-1] * 1000) if ordered else float("nan"),
        }


def run_threads(
    operation: Callable[[int, int], None],
    threads: int,
    count: int,
    max_seconds: float,
) -> Timing:
    """Run ``operation(thread, n)`` ``count`` times over ``threads`` threads,
    stopping early at ``max_seconds``; times each call and the whole run."""
    per_thread = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)
    deadline = [0.0]
    clock = time.perf_counter

    def work(index: int) -> None:
        mine = latencies[index]
        barrier.wait()
        try:
            for n in range(per_thread[index]):
                if errors or clock() > deadline[0]:
                    return
                start = clock()
                operation(index, n)
                mine.append(clock() - start)
        except BaseException as exc:
            errors.append(exc)

    workers = [
        threading.Thread(target=work, args=(i,), name=f"bench-{i}", daemon=True)
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    start = clock()
    deadline[0] = start + max_seconds
    barrier.wait()
    for worker in workers:
        worker.join()
    elapsed = clock() - start
    if errors:
        raise errors[0]
    merged = [x for per in latencies for x in per]
    return Timing(len(merged), elapsed, merged)


class StatementLog:
    """Every statement the engine sends, with transactions, pool checkouts and
    round trips.

    ``before_cursor_execute`` sees every statement SQLAlchemy executes
    (SQLite's ``BEGIN [IMMEDIATE]`` included), the storage layer's trace
    (``budget.storage.batch.set_trace``) every driver statement of the write
    path; COMMIT is the DBAPI's ``commit()``, counted through the ``commit``
    event. Round trips (PostgreSQL): each SQLAlchemy statement and each
    driver statement outside a pipeline is one, a pipeline is one however
    many statements it carries, and each COMMIT is one (it carries the
    statements deferred to it).
    """

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.commits = 0
        self.rollbacks = 0
        self.checkouts = 0
        self.round_trips = 0

    def clear(self) -> None:
        self.statements.clear()
        self.commits = self.rollbacks = self.checkouts = self.round_trips = 0

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)
        self.round_trips += 1

    def _on_trace(self, sql: str, how: str) -> None:
        if how == "sync":
            self.round_trips += 1
            return
        self.statements.append(sql)
        if how == "alone":
            self.round_trips += 1

    def _on_commit(self, conn) -> None:
        self.commits += 1
        self.round_trips += 1

    def _on_rollback(self, conn) -> None:
        self.rollbacks += 1

    def _on_checkout(self, dbapi_conn, record, proxy) -> None:
        self.checkouts += 1

    @contextmanager
    def attached(
        self, svc: budget.BudgetService, *, rollbacks_only: bool = False
    ) -> Iterator[StatementLog]:
        """Listen while inside; ``rollbacks_only`` costs nothing on the hot path
        (it counts transactions rolled back, e.g. deadlock victims retried)."""
        engine = svc._ctx.db.engine  # the benchmark's one look inside the service
        hooks = [(engine, "rollback", self._on_rollback)]
        if not rollbacks_only:
            hooks += [
                (engine, "before_cursor_execute", self._on_execute),
                (engine, "commit", self._on_commit),
                (engine.pool, "checkout", self._on_checkout),
            ]
        for target, name, fn in hooks:
            event.listen(target, name, fn)
        if not rollbacks_only:
            set_trace(engine, self._on_trace)
        try:
            yield self
        finally:
            set_trace(engine, None)
            for target, name, fn in hooks:
                event.remove(target, name, fn)


def normalize(statement: str, width: int = 110) -> str:
    """One line, trimmed: how a statement is listed."""
    line = " ".join(statement.split())
    return line if len(line) <= width else line[: width - 1] + "…"
