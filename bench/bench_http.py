"""The HTTP path: allocate + record round trips against a real ``budget serve``.

The server runs as its own process (uvicorn, 1 or 2 workers) on SQLite or
PostgreSQL; the load comes from a separate process (asyncio + httpx, a fixed
number of concurrent clients). One round trip is ``POST /allocations`` then
``POST /usage`` with ``"release": true`` for that allocation (recorded and
released in one transaction); its latency is the two together.

Replicas: 1, 2 and 4 ``budget serve`` processes (one worker each) on one
PostgreSQL database, 64 clients spread over them, all on one budget's
policies, so every request passes through the same window rows.

    python -m bench.bench_http [--quick] [--backend sqlite|postgresql|all]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any

import httpx

import budget
from bench import databases

V1 = "/api/v1"
CLIENTS = 16
REPLICA_CLIENTS = 64
BUDGET_BIN = Path(sys.executable).parent / "budget"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str) -> None:
    """Ten policies that match every request and never deny (as in the cycle bench)."""
    svc = budget.open(url)
    try:
        team = svc.create_budget(name=f"http-{time.time_ns()}")
        for i, (kind, period) in enumerate(
            [
                ("hard_limit", "daily"),
                ("warn", "monthly"),
                ("soft_limit", "hourly"),
                ("ignore", "total"),
            ]
            * 3
        ):
            if i == 10:
                break
            svc.add_policy(
                team.budget_id,
                type=kind,
                period=period,
                token_limit=10**14,
                cost_limit="1000000",
                name=f"p{i}",
            )
    finally:
        svc.close()


class Server:
    """``budget serve`` in a subprocess, ready when /ready answers."""

    def __init__(self, url: str, workers: int) -> None:
        self.port = free_port()
        env = {**os.environ, "BUDGET_DATABASE_URL": url}
        self.proc = subprocess.Popen(
            [str(BUDGET_BIN), "serve", "--port", str(self.port), "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("budget serve did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def _client(
    http: httpx.AsyncClient, name: int, stop_at: float, latencies: list[float], errors: list[int]
) -> None:
    """One client's loop; a dropped connection counts as an error (0) and the loop goes on."""
    while time.perf_counter() < stop_at:
        try:
            await _round_trip(http, name, latencies, errors)
        except httpx.TransportError:
            errors.append(0)


async def _round_trip(
    http: httpx.AsyncClient, name: int, latencies: list[float], errors: list[int]
) -> None:
    """POST /allocations then POST /usage with release; its latency, or its error status."""
    start = time.perf_counter()
    alloc = await http.post(
        f"{V1}/allocations",
        json={
            "context_id": f"c{name}",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "input_tokens": 1200,
            "max_output_tokens": 800,
            "user": f"u{name}",
        },
    )
    if alloc.status_code != 201:
        errors.append(alloc.status_code)
        return
    usage = await http.post(
        f"{V1}/usage",
        json={
            "allocation_id": alloc.json()["allocation_id"],
            "input_tokens": 1200,
            "output_tokens": 350,
            "request_id": f"{name}-{time.time_ns()}",
            "release": True,
        },
    )
    if usage.status_code != 201:
        errors.append(usage.status_code)
        return
    latencies.append(time.perf_counter() - start)


async def _load(
    bases: list[str], seconds: float, warmup: float, clients: int = CLIENTS
) -> dict[str, Any]:
    per = max(1, clients // len(bases))
    limits = httpx.Limits(max_connections=per, max_keepalive_connections=per)
    async with AsyncExitStack() as stack:
        https = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base, limits=limits, timeout=30)
            )
            for base in bases
        ]

        def client(i: int, stop_at: float, latencies, errors):
            return _client(https[i % len(https)], i, stop_at, latencies, errors)

        warm: list[float] = []
        await asyncio.gather(
            *(client(i, time.perf_counter() + warmup, warm, []) for i in range(clients))
        )
        latencies: list[float] = []
        errors: list[int] = []
        start = time.perf_counter()
        await asyncio.gather(
            *(client(i, start + seconds, latencies, errors) for i in range(clients))
        )
        wall = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "round_trips": len(latencies),
        "round_trips_per_s": round(len(latencies) / wall, 1),
        "requests_per_s": round(2 * len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2) if ordered else None,
        "errors": len(errors),
        "clients": clients,
    }


def _load_process(bases: list[str], seconds: float, warmup: float, clients: int, queue) -> None:
    queue.put(asyncio.run(_load(bases, seconds, warmup, clients)))


def _drive(bases: list[str], seconds: float, warmup: float, clients: int) -> dict[str, Any]:
    """The load, from a separate process, against these servers."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_load_process, args=(bases, seconds, warmup, clients, queue))
    proc.start()
    result = queue.get(timeout=seconds + warmup + 120)
    proc.join()
    return result


def measure(url: str, workers: int, seconds: float, warmup: float) -> dict[str, Any]:
    """One configuration: a server, then the load from a separate process."""
    prepare(url)
    server = Server(url, workers)
    try:
        result = _drive([server.base], seconds, warmup, CLIENTS)
    finally:
        server.stop()
    return {"workers": workers, **result}


def measure_replicas(url: str, replicas: int, seconds: float, warmup: float) -> dict[str, Any]:
    """``replicas`` servers of one worker on one database, 64 clients over them."""
    prepare(url)
    servers: list[Server] = []
    try:
        for _ in range(replicas):
            servers.append(Server(url, 1))
        result = _drive([s.base for s in servers], seconds, warmup, REPLICA_CLIENTS)
    finally:
        for server in servers:
            server.stop()
    return {"replicas": replicas, **result}


def run(quick: bool, backends: tuple[str, ...] = ("sqlite", "postgresql")) -> dict[str, Any]:
    """Every backend with 1 and 2 server workers."""
    seconds, warmup = (3.0, 1.0) if quick else (15.0, 3.0)
    rows: list[dict[str, Any]] = []
    replicas: list[dict[str, Any]] = []
    skipped: list[str] = []
    with ExitStack() as stack:
        for backend in backends:
            try:
                dbs = stack.enter_context(
                    databases.sqlite_databases()
                    if backend == "sqlite"
                    else databases.postgres_databases()
                )
            except databases.PostgresUnavailable as exc:
                skipped.append(f"{backend}: {exc}")
                continue
            for workers in (1, 2):
                rows.append({"backend": backend, **measure(dbs.fresh(), workers, seconds, warmup)})
            if backend == "postgresql":
                replicas = [
                    {"backend": backend, **measure_replicas(dbs.fresh(), n, seconds, warmup)}
                    for n in (1, 2, 4)
                ]
    return {"seconds": seconds, "rows": rows, "replicas": replicas, "skipped": skipped}


def table(result: dict[str, Any]) -> str:
    head = (
        f"{'backend':<11} {'workers':>7} {'trips/s':>8} {'req/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'errors':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in result["rows"]:
        lines.append(
            f"{r['backend']:<11} {r['workers']:>7} {r['round_trips_per_s']:>8} "
            f"{r['requests_per_s']:>8} {r['p50_ms']:>7} {r['p99_ms']:>7} "
            f"{r['errors']:>6}"
        )
    if result.get("replicas"):
        lines += ["", f"replicas on one PostgreSQL, {REPLICA_CLIENTS} clients, one budget", head]
        lines.append("-" * len(head))
        for r in result["replicas"]:
            lines.append(
                f"{'replicas':<11} {r['replicas']:>7} {r['round_trips_per_s']:>8} "
                f"{r['requests_per_s']:>8} {r['p50_ms']:>7} {r['p99_ms']:>7} {r['errors']:>6}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "all" else (args.backend,)
    result = run(args.quick, backends)
    print(table(result))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
