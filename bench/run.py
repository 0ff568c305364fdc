"""Run the benchmark suite: ``.venv/bin/python -m bench.run [--quick] [--backend ...]``.

1. cycle: in-process allocate -> record_usage -> release, timed as a whole,
   with 1, 10 and 100 policies, from 1 and from 8 threads;
2. usage_batch: ``record_usage_batch`` of 500 usage reports (no allocation)
   with 10 policies: ledger records per second.

Each configuration gets a fresh database (a copied SQLite file in a temporary
directory; an emptied throwaway PostgreSQL database), a warm-up, then the
measurement. A table is printed as results come in and everything, with the
machine, goes to ``bench/results/latest.json`` (or ``--json PATH``; ``-`` for
standard output). See BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python bench/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import budget
from bench import databases, machine
from bench.hot_row import hot_row_commits_per_second
from bench.workload import (
    CYCLES,
    Requests,
    StatementLog,
    create_policies,
    run_threads,
    usage_item,
)

RESULTS = Path(__file__).resolve().parent / "results"
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Plan:
    """How much to run; --quick is a smoke run, the default gives the figures."""

    policies: tuple[int, ...] = (1, 10, 100)
    threads: tuple[int, ...] = (1, 8)
    cycles: int = 4000  # per configuration, at most ...
    seconds: float = 10.0  # ... and for at most this long
    warmup_cycles: int = 100
    warmup_seconds: float = 2.0
    counted_cycles: int = 20  # cycles run with the statement log attached
    batch_policies: int = 10
    batch_size: int = 500
    batches: int = 10
    batch_seconds: float = 20.0
    warmup_batches: int = 1


FULL = Plan()
QUICK = Plan(
    cycles=150,
    seconds=1.0,
    warmup_cycles=16,
    warmup_seconds=0.5,
    counted_cycles=5,
    batches=2,
    batch_seconds=3.0,
)

CYCLE_COLUMNS = [
    ("backend", 10, "{}"),
    ("policies", 8, "{}"),
    ("matching", 8, "{}"),
    ("threads", 7, "{}"),
    ("ops", 5, "{}"),
    ("cycles", 7, "{}"),
    ("cycles/s", 9, "{:,.0f}"),
    ("p50 ms", 8, "{:.2f}"),
    ("p99 ms", 8, "{:.2f}"),
    ("stmts/cycle", 11, "{:.1f}"),
    ("trips/cycle", 11, "{:.1f}"),
    ("tx/cycle", 8, "{:.1f}"),
    ("rollbacks", 9, "{}"),
    ("cpu proc", 8, "{:.2f}"),
    ("cpu host", 8, "{:.0%}"),
]
BATCH_COLUMNS = [
    ("backend", 10, "{}"),
    ("policies", 8, "{}"),
    ("batch", 5, "{}"),
    ("batches", 7, "{}"),
    ("records/s", 9, "{:,.0f}"),
    ("p50 ms/batch", 12, "{:.1f}"),
    ("p99 ms/batch", 12, "{:.1f}"),
    ("stmts/record", 12, "{:.1f}"),
    ("cpu proc", 8, "{:.2f}"),
    ("cpu host", 8, "{:.0%}"),
]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.policies:
        plan = Plan(**{**plan.__dict__, "policies": tuple(args.policies)})
    if args.threads:
        plan = Plan(**{**plan.__dict__, "threads": tuple(args.threads)})
    wanted = BACKENDS if args.backend == "all" else (args.backend,)
    out = sys.stderr if args.json == "-" else sys.stdout

    pg_version = databases.postgres_server_version() if "postgresql" in wanted else None
    if pg_version is None and "postgresql" in wanted:
        pg_version = "unreachable"
    info = machine.describe(pg_version)
    started = datetime.now(UTC)
    report: dict[str, Any] = {
        "schema": 1,
        "started_at": started.isoformat(timespec="seconds"),
        "command": " ".join(["python", "-m", "bench.run", *(argv or sys.argv[1:])]),
        "mode": "quick" if args.quick else "full",
        "plan": plan.__dict__,
        "machine": info,
        "skipped": [],
        "results": [],
    }
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731
    say(f"budget benchmarks ({report['mode']}), {report['started_at']}")
    for line in machine.header_lines(info):
        say(line)
    say()

    failed = False
    with ExitStack() as stack:
        providers = {}
        for name in wanted:
            try:
                if name == "sqlite":
                    providers[name] = stack.enter_context(databases.sqlite_databases())
                else:
                    providers[name] = stack.enter_context(databases.postgres_databases())
            except databases.PostgresUnavailable as exc:
                if args.backend != "all":
                    print(f"error: {exc}", file=sys.stderr)
                    return 2
                say(f"skipping postgresql: {exc}")
                report["skipped"].append({"backend": name, "reason": str(exc)})

        say("allocate -> record_usage -> release cycles (latency of a whole cycle)")
        say(table_header(CYCLE_COLUMNS))
        for provider in providers.values():
            for policies in plan.policies:
                for row in cycle_benchmarks(provider, policies, plan):
                    report["results"].append(row)
                    failed |= "error" in row
                    say(table_row(CYCLE_COLUMNS, row, cycle_cells(row)))
        if "postgresql" in providers:
            hot = hot_row_limit(providers["postgresql"], report["results"])
            report["hot_row_limit"] = hot
            say()
            say(describe_hot_row(hot))
        say()
        say(f"record_usage_batch, {plan.batch_size} usage reports per batch, no allocations")
        say(table_header(BATCH_COLUMNS))
        for provider in providers.values():
            row = batch_benchmark(provider, plan)
            report["results"].append(row)
            failed |= "error" in row
            say(table_row(BATCH_COLUMNS, row, batch_cells(row)))

    for suite in args.suites:
        say()
        say(f"{suite}: {SUITES[suite][0]}")
        try:
            result = SUITES[suite][1](args.quick, wanted)
        except Exception as exc:  # a suite that fails is reported, the others still run
            failed = True
            result = {"error": repr(exc)}
        report.setdefault("suites", {})[suite] = result
        say(json.dumps(result, indent=2, default=str))

    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["loadavg_at_end"] = machine.loadavg()
    report["aims"] = aims(report["results"])
    report["warnings"] = warnings(report["results"])
    report["budget_source_sha256_at_end"] = machine.source_fingerprint()
    if report["budget_source_sha256_at_end"] != info["budget_source_sha256"]:
        report["warnings"].append(
            "budget/ sources changed while the benchmark ran: rows may mix two versions"
        )
    say()
    for warning in report["warnings"]:
        say(f"warning: {warning}")
    for aim in report["aims"]:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[aim["met"]]
        measured = "n/a" if aim["measured"] is None else f"{aim['measured']:,.2f}"
        say(f"aim: {aim['aim']}: measured {measured} -> {verdict}")

    text = json.dumps(report, indent=2, default=str)
    if args.json == "-":
        print(text)
    else:
        path = Path(args.json) if args.json else RESULTS / "latest.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
        say(f"results written to {path}")
    return 1 if failed else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run (< 60 s)")
    parser.add_argument("--backend", choices=[*BACKENDS, "all"], default="all")
    parser.add_argument(
        "--json",
        metavar="PATH",
        help="where to write the results (default bench/results/latest.json; - for stdout)",
    )
    parser.add_argument("--policies", type=int, nargs="+", help="policy counts (default 1 10 100)")
    parser.add_argument("--threads", type=int, nargs="+", help="thread counts (default 1 8)")
    parser.add_argument(
        "--suites",
        nargs="*",
        choices=sorted(SUITES),
        default=sorted(SUITES),
        help="further suites after the cycle and batch benchmarks (default: all; none: --suites)",
    )
    return parser.parse_args(argv)


def _prices(quick: bool, backends: tuple[str, ...]) -> dict[str, Any]:
    from bench import bench_prices

    return bench_prices.run(quick)


def _estimate(quick: bool, backends: tuple[str, ...]) -> dict[str, Any]:
    from bench import bench_estimate

    return bench_estimate.run(quick)


def _http(quick: bool, backends: tuple[str, ...]) -> dict[str, Any]:
    from bench import bench_http

    return bench_http.run(quick, backends)


def _events(quick: bool, backends: tuple[str, ...]) -> dict[str, Any]:
    from bench import bench_events

    return bench_events.run(quick)


def _wrap(quick: bool, backends: tuple[str, ...]) -> dict[str, Any]:
    from bench import bench_wrap

    return bench_wrap.run(quick)


def _cli(quick: bool, backends: tuple[str, ...]) -> dict[str, Any]:
    from bench import bench_cli

    return bench_cli.run(quick)


def _reports(quick: bool, backends: tuple[str, ...]) -> dict[str, Any]:
    from bench import bench_reports

    return bench_reports.run(quick, backends=backends)


#: Suite name -> (what it measures, its runner).
SUITES = {
    "prices": ("a full offline price refresh; verified / unverified / conflicts", _prices),
    "estimate": ("estimate_cost per call beside genai-prices and LiteLLM", _estimate),
    "http": (
        "allocate + record(release) round trips over HTTP, 1 and 2 workers; 1/2/4 replicas",
        _http,
    ),
    "events": ("allocate + record with 3 webhooks (one dead) vs none", _events),
    "reports": ("reports and forecasts over 1M and 10M usage records", _reports),
    "wrap": ("what budget.wrap() adds to an OpenAI SDK call against a fake server", _wrap),
    "cli": ("a CLI command's start-up and answer, local and remote", _cli),
}


# --- the benchmarks ---------------------------------------------------------------


def open_service(url: str) -> budget.BudgetService:
    # Pool of 10 (the default) covers 8 threads; the price catalog is already seeded.
    return budget.open(settings=budget.Settings(database_url=url))


def cycle_benchmarks(provider, policies: int, plan: Plan) -> list[dict[str, Any]]:
    """One fresh database with ``policies`` policies; a row per thread count."""
    base = {"benchmark": "cycle", "backend": provider.name, "policies": policies}
    rows = []
    try:
        svc = open_service(provider.fresh())
    except Exception as exc:
        return [
            {**base, "threads": n, "ops": ops, "error": repr(exc)}
            for n in plan.threads
            for ops in CYCLES
        ]
    try:
        matching = create_policies(svc, policies)
        requests = Requests()
        runs = [(threads, ops) for threads in plan.threads for ops in CYCLES]
        for threads, ops in runs:

            def operation(thread: int, _n: int, cycle=CYCLES[ops]) -> None:
                cycle(svc, requests, f"u{thread}")

            row = {**base, "matching_policies": matching, "threads": threads, "ops": ops}
            try:
                run_threads(
                    operation,
                    threads,
                    max(plan.warmup_cycles, 2 * threads),
                    plan.warmup_seconds,
                )
                aborted = StatementLog()
                before = interference(provider)
                with aborted.attached(svc, rollbacks_only=True), machine.CpuMeter() as cpu:
                    timing = run_threads(operation, threads, plan.cycles, plan.seconds)
                row["environment"] = {**cpu.as_dict(), **merge(before, interference(provider))}
                log = StatementLog()
                with log.attached(svc):
                    for _ in range(plan.counted_cycles):
                        operation(0, 0)
                per = plan.counted_cycles
                row.update(
                    cycles=timing.count,
                    seconds=round(timing.seconds, 3),
                    cycles_per_s=timing.count / timing.seconds,
                    **timing.summary(),
                    statements_per_cycle=len(log.statements) / per,
                    round_trips_per_cycle=log.round_trips / per,
                    transactions_per_cycle=log.commits / per,
                    checkouts_per_cycle=log.checkouts / per,
                    rollbacks=aborted.rollbacks,
                )
            except Exception as exc:
                row["error"] = repr(exc)
            rows.append(row)
    finally:
        svc.close()
    after_configuration(provider, rows)
    return rows


def hot_row_limit(provider, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The raw single-row UPDATE+COMMIT rate from 8 connections, beside the cycles."""
    try:
        hot = hot_row_commits_per_second(provider.url)
    except Exception as exc:
        return {"error": repr(exc)}
    for ops in ("3 ops", "2 ops"):
        row = _find_cycle(results, backend="postgresql", policies=10, threads=8, ops=ops)
        if row is not None:
            operations = row["cycles_per_s"] * int(ops.split()[0])
            hot[f"cycle_{ops.split()[0]}_ops_operations_per_s"] = operations
            hot[f"cycle_{ops.split()[0]}_ops_ratio"] = operations / hot["commits_per_s"]
    return hot


def describe_hot_row(hot: dict[str, Any]) -> str:
    if "error" in hot:
        return f"raw hot-row limit: ERROR {hot['error']}"
    lines = [
        "raw hot-row limit (one row, conditional UPDATE + COMMIT, 8 connections, psycopg): "
        f"{hot['commits_per_s']:,.0f} commits/s"
    ]
    for ops in ("3", "2"):
        if f"cycle_{ops}_ops_ratio" in hot:
            lines.append(
                f"  PostgreSQL 10 policies 8 threads, {ops} ops a cycle: "
                f"{hot[f'cycle_{ops}_ops_operations_per_s']:,.0f} write transactions/s = "
                f"{hot[f'cycle_{ops}_ops_ratio']:.2f} x the raw limit"
            )
    return "\n".join(lines)


def _find_cycle(results: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    for row in results:
        if (
            row["benchmark"] == "cycle"
            and "error" not in row
            and all(row.get(k, "3 ops" if k == "ops" else None) == v for k, v in match.items())
        ):
            return row
    return None


def batch_benchmark(provider, plan: Plan) -> dict[str, Any]:
    """Ledger inserts through record_usage_batch, one thread."""
    row: dict[str, Any] = {
        "benchmark": "usage_batch",
        "backend": provider.name,
        "policies": plan.batch_policies,
        "threads": 1,
        "batch_size": plan.batch_size,
    }
    try:
        svc = open_service(provider.fresh())
    except Exception as exc:
        return {**row, "error": repr(exc)}
    try:
        row["matching_policies"] = create_policies(svc, plan.batch_policies)
        requests = Requests()

        def operation(_thread: int, _n: int) -> None:
            svc.record_usage_batch([usage_item(requests) for _ in range(plan.batch_size)])

        run_threads(operation, 1, plan.warmup_batches, plan.batch_seconds)
        before = interference(provider)
        with machine.CpuMeter() as cpu:
            timing = run_threads(operation, 1, plan.batches, plan.batch_seconds)
        row["environment"] = {**cpu.as_dict(), **merge(before, interference(provider))}
        log = StatementLog()
        with log.attached(svc):
            operation(0, 0)
        summary = timing.summary()
        records = timing.count * plan.batch_size
        row.update(
            batches=timing.count,
            records=records,
            seconds=round(timing.seconds, 3),
            records_per_s=records / timing.seconds,
            p50_ms=summary["p50_ms"],
            p99_ms=summary["p99_ms"],
            mean_ms=summary["mean_ms"],
            max_ms=summary["max_ms"],
            statements_per_record=len(log.statements) / plan.batch_size,
            statements_per_batch=len(log.statements),
            transactions_per_batch=log.commits,
        )
    except Exception as exc:
        row["error"] = repr(exc)
    finally:
        svc.close()
    return row


def interference(provider) -> dict[str, Any]:
    """Other sessions on the PostgreSQL server (nothing for SQLite)."""
    return provider.others() if hasattr(provider, "others") else {}


def merge(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The worse of two samples, per key."""
    return {key: max(before.get(key, 0), after.get(key, 0)) for key in {*before, *after}}


def after_configuration(provider, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: how bloated the counters table got (dead row versions)."""
    if hasattr(provider, "windows_bloat"):
        bloat = provider.windows_bloat()
        for row in rows:
            row["windows_after"] = bloat


# --- reporting ---------------------------------------------------------------------


def aims(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The project's aims (BENCHMARKS.md), checked against this run."""

    def cycle(**match: Any) -> dict[str, Any] | None:
        return _find_cycle(results, **match)

    def batch(backend: str) -> dict[str, Any] | None:
        for row in results:
            if row["benchmark"] == "usage_batch" and row["backend"] == backend:
                return None if "error" in row else row
        return None

    def aim(text: str, row, value, ok) -> dict[str, Any]:
        measured = None if row is None else value(row)
        return {"aim": text, "measured": measured, "met": None if row is None else ok(measured)}

    out = [
        aim(
            "SQLite, 10 policies, 1 thread: cycle p50 <= 0.8 ms",
            cycle(backend="sqlite", policies=10, threads=1, ops="3 ops"),
            lambda r: r["p50_ms"],
            lambda m: m <= 0.8,
        ),
        aim(
            "SQLite, 10 policies, 1 thread: allocate + record(release=True) p50 <= 0.5 ms",
            cycle(backend="sqlite", policies=10, threads=1, ops="2 ops"),
            lambda r: r["p50_ms"],
            lambda m: m <= 0.5,
        ),
        aim(
            "PostgreSQL, 10 policies, 8 threads: >= 600 cycles/s",
            cycle(backend="postgresql", policies=10, threads=8, ops="3 ops"),
            lambda r: r["cycles_per_s"],
            lambda m: m >= 600,
        ),
        aim(
            "PostgreSQL, 10 policies, 1 thread: cycle p50 <= 3 ms",
            cycle(backend="postgresql", policies=10, threads=1, ops="3 ops"),
            lambda r: r["p50_ms"],
            lambda m: m <= 3.0,
        ),
    ]
    for backend in ("sqlite", "postgresql"):
        small = cycle(backend=backend, policies=10, threads=1, ops="3 ops")
        large = cycle(backend=backend, policies=100, threads=1, ops="3 ops")
        both = None if small is None or large is None else (small, large)
        out.append(
            aim(
                f"{backend}, 1 thread: 100 policies (75 matching) cost <= 2x 10 policies (p50)",
                both,
                lambda r: r[1]["p50_ms"] / r[0]["p50_ms"],
                lambda m: m <= 2.0,
            )
        )
    for backend, floor in (("sqlite", 20_000), ("postgresql", 10_000)):
        out.append(
            aim(
                f"{backend}: record_usage_batch >= {floor:,} records/s",
                batch(backend),
                lambda r: r["records_per_s"],
                lambda m, floor=floor: m >= floor,
            )
        )
    return out


def table_header(columns) -> str:
    head = "  ".join(f"{name:>{width}}" for name, width, _ in columns)
    return head + "\n" + "  ".join("-" * width for _, width, _ in columns)


def table_row(columns, row: dict[str, Any], cells: list[Any]) -> str:
    if "error" in row:
        lead = "  ".join(f"{c!s:>{w}}" for c, (_, w, _f) in zip(cells[:4], columns, strict=False))
        return f"{lead}  ERROR {row['error']}"
    return "  ".join(
        f"{fmt.format(cell):>{width}}" for cell, (_, width, fmt) in zip(cells, columns, strict=True)
    )


def cycle_cells(row: dict[str, Any]) -> list[Any]:
    return [
        row["backend"],
        row["policies"],
        row.get("matching_policies", "?"),
        row["threads"],
        row.get("ops", "3 ops").split()[0],
        row.get("cycles"),
        row.get("cycles_per_s"),
        row.get("p50_ms"),
        row.get("p99_ms"),
        row.get("statements_per_cycle"),
        row.get("round_trips_per_cycle") if row["backend"] == "postgresql" else float("nan"),
        row.get("transactions_per_cycle"),
        row.get("rollbacks"),
        *cpu_cells(row),
    ]


def batch_cells(row: dict[str, Any]) -> list[Any]:
    return [
        row["backend"],
        row["policies"],
        row["batch_size"],
        row.get("batches"),
        row.get("records_per_s"),
        row.get("p50_ms"),
        row.get("p99_ms"),
        row.get("statements_per_record"),
        *cpu_cells(row),
    ]


def cpu_cells(row: dict[str, Any]) -> list[Any]:
    env = row.get("environment", {})
    busy = env.get("machine_cpu_busy")
    return [env.get("process_cpu_cores"), float("nan") if busy is None else busy]


def warnings(results: list[dict[str, Any]]) -> list[str]:
    """Signs that something else on the machine skewed a figure."""
    out = []
    for row in results:
        env = row.get("environment", {})
        where = f"{row['benchmark']} {row['backend']} {row['policies']} policies"
        where += f" {row.get('threads', 1)} threads"
        if env.get("oldest_other_xact_s", 0) > 5:
            out.append(
                f"{where}: a transaction in another database had been open "
                f"{env['oldest_other_xact_s']:.0f} s (holds back vacuum of the windows rows)"
            )
        if env.get("other_active_sessions", 0) > 0:
            out.append(f"{where}: {env['other_active_sessions']} other busy sessions on the server")
    return out


if __name__ == "__main__":
    sys.exit(main())
