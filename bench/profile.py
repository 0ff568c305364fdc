"""Profile the cycle on one configuration and list the statements it sends.

    .venv/bin/python -m bench.profile                      # SQLite, 10 policies
    .venv/bin/python -m bench.profile --backend postgresql --policies 100
    .venv/bin/python -m bench.profile --counts --backend postgresql   # 1, 10, 100 policies

Prints, for one thread: the statements of one allocate -> record_usage ->
release cycle (after warm-up, so windows exist and caches are loaded), how
many transactions, pool checkouts and (PostgreSQL) round trips it takes, and
the top cProfile entries by cumulative time restricted to budget/ and
sqlalchemy/ (``--dump PATH`` keeps the raw profile for snakeviz or pstats).
``--counts`` prints only the statements and round trips of each operation
(allocate, record_usage, release, record_usage with release) for 1, 10 and
100 policies.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import sys
import time
from contextlib import ExitStack
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/profile.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import budget
from bench import databases
from bench.workload import (
    MODEL,
    PROVIDER,
    Requests,
    StatementLog,
    create_policies,
    cycle,
    normalize,
)

#: Where a cycle spends its time inside the DBAPI driver (and so the database).
DRIVER_CALLS = (
    "<method 'execute' of 'sqlite3.Cursor' objects>",
    "<method 'commit' of 'sqlite3.Connection' objects>",
    "<method 'rollback' of 'sqlite3.Connection' objects>",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--policies", type=int, default=10)
    parser.add_argument("--cycles", type=int, default=500, help="cycles under the profiler")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--dump", metavar="PATH", help="also write the raw cProfile stats here")
    parser.add_argument(
        "--counts", action="store_true", help="statements and round trips per operation only"
    )
    args = parser.parse_args(argv)
    if args.counts:
        return counts(args.backend)

    with ExitStack() as stack:
        if args.backend == "sqlite":
            provider = stack.enter_context(databases.sqlite_databases())
        else:
            provider = stack.enter_context(databases.postgres_databases())
        svc = budget.open(settings=budget.Settings(database_url=provider.fresh()))
        stack.callback(svc.close)
        matching = create_policies(svc, args.policies)
        requests = Requests()
        for _ in range(50):  # warm-up: windows created, caches and statement cache filled
            cycle(svc, requests, "u0")

        print(
            f"{args.backend}, {args.policies} policies ({matching} match the request), 1 thread\n"
        )
        list_statements(svc)

        start = time.perf_counter()
        for _ in range(args.cycles):
            cycle(svc, requests, "u0")
        plain = (time.perf_counter() - start) / args.cycles

        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        for _ in range(args.cycles):
            cycle(svc, requests, "u0")
        profiler.disable()
        profiled = (time.perf_counter() - start) / args.cycles
        print(
            f"\n{args.cycles} cycles: {plain * 1000:.2f} ms per cycle without the profiler, "
            f"{profiled * 1000:.2f} ms with it"
        )
        if args.dump:
            profiler.dump_stats(args.dump)
        report(profiler, args.cycles, args.top)
    return 0


def counts(backend: str) -> int:
    """Statements and round trips of each operation for 1, 10 and 100 policies."""
    print(f"{backend}: statements / round trips per operation (after warm-up, 1 thread)")
    print(f"{'policies':>8}  {'matching':>8}  {'operation':<28} {'statements':>10}  {'trips':>5}")
    with ExitStack() as stack:
        if backend == "sqlite":
            provider = stack.enter_context(databases.sqlite_databases())
        else:
            provider = stack.enter_context(databases.postgres_databases())
        for policies in (1, 10, 100):
            svc = budget.open(settings=budget.Settings(database_url=provider.fresh()))
            try:
                matching = create_policies(svc, policies)
                requests = Requests()
                for _ in range(20):
                    cycle(svc, requests, "u0")
                phases = measure_phases(svc, fused=False) + measure_phases(svc, fused=True)[1:]
            finally:
                svc.close()
            for name, count, _commits, _checkouts, trips in phases:
                shown = trips if backend == "postgresql" else "-"
                print(f"{policies:>8}  {matching:>8}  {name:<28} {count:>10}  {shown:>5}")
    return 0


def measure_phases(svc: budget.BudgetService, *, fused: bool, log=None) -> list[tuple]:
    """(operation, statements, commits, checkouts, round trips) of one cycle."""
    log = log or StatementLog()
    requests = Requests()
    phases: list[tuple] = []
    with log.attached(svc):
        mark = (0, 0, 0, 0)

        def phase(name: str) -> None:
            nonlocal mark
            now = (len(log.statements), log.commits, log.checkouts, log.round_trips)
            phases.append((name, *(a - b for a, b in zip(now, mark, strict=True))))
            mark = now

        allocation = svc.allocate(
            context_id="ctx-u0",
            provider=PROVIDER,
            model=MODEL,
            input_tokens=1200,
            max_output_tokens=800,
            project="alpha",
            component="chat",
            user="u0",
            tags=["bench", "prod"],
        )
        phase("allocate")
        svc.record_usage(
            allocation_id=allocation.allocation_id,
            request_id=requests.request_id(),
            input_tokens=1200,
            output_tokens=350,
            latency_ms=420,
            release=fused,
        )
        if fused:
            phase("record_usage(release=True)")
            return phases
        phase("record_usage")
        svc.release(allocation.allocation_id)
        phase("release")
    return phases


def list_statements(svc: budget.BudgetService) -> None:
    """One cycle, phase by phase, with every statement it sends."""
    log = StatementLog()
    phases = measure_phases(svc, fused=False, log=log)
    total = sum(p[1] for p in phases)
    print(
        f"statements per cycle: {total}; transactions (COMMIT): {log.commits}; "
        f"pool checkouts: {log.checkouts}; round trips (PostgreSQL): {log.round_trips}"
    )
    index = 0
    for name, count, commits, checkouts, trips in phases:
        print(
            f"\n  {name}: {count} statements, {commits} commits, {checkouts} checkouts, "
            f"{trips} round trips"
        )
        for statement in log.statements[index : index + count]:
            print(f"    {normalize(statement)}")
        index += count


def report(profiler: cProfile.Profile, cycles: int, top: int) -> None:
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    driver = 0.0
    statements = 0
    for (_file, _line, name), (_cc, nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if name in DRIVER_CALLS:
            driver += ct
        if name == "<method 'execute' of 'sqlite3.Cursor' objects>":
            statements += nc
    for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        # psycopg: time in Cursor.execute and Connection.commit includes the round trips.
        if (
            "psycopg" in file
            and name in ("execute", "commit")
            and file.endswith(("cursor.py", "connection.py"))
        ):
            driver += ct
    print(
        f"profiled time {total:.2f} s ({total / cycles * 1000:.2f} ms per cycle); "
        f"inside the DBAPI driver (SQL execution, commits, round trips): {driver:.2f} s "
        f"({driver / total:.0%}); the rest is Python in budget/, SQLAlchemy and the driver"
    )
    sections = [
        ("cumulative", r"budget/|sqlalchemy/", "by cumulative time, in budget/ and sqlalchemy/"),
        ("cumulative", r"budget/", "by cumulative time, in budget/ only"),
        ("tottime", None, "by own time, all code"),
    ]
    for order, where, title in sections:
        stream = io.StringIO()
        stats.stream = stream  # type: ignore[attr-defined]
        stats.sort_stats(order)
        if where:
            stats.print_stats(where, top)
        else:
            stats.print_stats(top)
        text = stream.getvalue()
        print(f"\ntop {top} {title}:")
        print(shorten(text[text.find("   ncalls") :].rstrip()))


def shorten(text: str) -> str:
    """Paths relative to the repository and to site-packages."""
    root = str(Path(__file__).resolve().parent.parent) + "/"
    text = text.replace(root, "")
    return re.sub(r"\S*/site-packages/", "", text)


if __name__ == "__main__":
    sys.exit(main())
