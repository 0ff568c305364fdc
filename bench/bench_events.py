"""Benchmark: allocate+record with webhooks (``python -m bench.bench_events [--quick]``).

On SQLite, one thread runs allocate -> record_usage (drawing on the
allocation) for a fixed time, with the webhook dispatcher running in the same
process at its default settings, in two configurations:

* **none**: no webhook registered;
* **webhooks**: three webhooks receiving every event: two healthy receivers and
  one dead one that accepts connections and never answers (each attempt waits
  for the timeout). The receivers run in a separate process.

The two alternate in short segments on one database (webhooks registered at
the start of a segment, removed at its end), so that other load on the
machine weighs on both alike; the figures are the medians of the segments.
It reports both throughputs and their ratio (the aim: within 10 %), how many
deliveries were made during the run, and the outbox's own cost per call:
allocate+record with and without the event inserts (the emit calls patched
out). ``run(quick)`` returns the figures as a dict; run alone, the module
prints them and their JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python bench/bench_events.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import budget
from budget.events import emit as emit_module

RECEIVERS = r"""
import sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/hang":
            time.sleep(3600)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print(s.server_port, flush=True)
s.serve_forever()
"""
EMITTERS = (
    "allocation_created",
    "allocation_closed",
    "usage_recorded",
    "threshold_crossed",
    "allocation_denied",
    "unpriced_model",
)
#: The defaults otherwise: a pass every 0.5 s, 50 deliveries per webhook per pass,
#: 4 workers, a 5 s timeout. The receivers listen on loopback, so it is allowed.
SETTINGS = {"deliver_events": True, "webhook_allow_private": True}


@contextmanager
def receivers():
    """A process serving /ok (204) and /hang (never answers); yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-c", RECEIVERS], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def prepare(template: Path) -> None:
    """A seeded database with one budget and two policies (hard and warn)."""
    svc = budget.open(f"sqlite:///{template}")
    try:
        b = svc.create_budget("bench")
        svc.add_policy(b.budget_id, type="hard_limit", period="daily", token_limit=10**12)
        svc.add_policy(
            b.budget_id, type="warn", period="monthly", token_limit=10**12, provider="openai"
        )
    finally:
        svc.close()


def measure(svc: budget.BudgetService, seconds: float) -> float:
    """allocate + record pairs per second over ``seconds`` (after a short warm-up)."""
    for _ in range(50):
        pair(svc)
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        pair(svc)
        done += 1
    return done / elapsed


def pair(svc: budget.BudgetService) -> None:
    a = svc.allocate(
        context_id="bench",
        provider="openai",
        model="gpt-4o",
        input_tokens=500,
        max_output_tokens=200,
    )
    svc.record_usage(allocation_id=a.allocation_id, input_tokens=500, output_tokens=150)


def alternate(template: Path, tmp: Path, hooks: list[str], rounds: int, seconds: float) -> dict:
    """On one database with the dispatcher running, alternate a segment without
    webhooks and one with them (registered at its start, removed at its end), so
    load elsewhere on the machine weighs on both alike; per-segment rates."""
    path = tmp / "events.db"
    shutil.copyfile(template, path)
    none: list[float] = []
    hooked: list[float] = []
    delivered = 0
    with budget.open(f"sqlite:///{path}", **SETTINGS) as svc:
        measure(svc, 0.5)
        for _ in range(rounds):
            none.append(measure(svc, seconds))
            ids = [svc.create_webhook(url)[0].webhook_id for url in hooks]
            hooked.append(measure(svc, seconds))
            for webhook_id in ids:
                done = svc.list_webhook_deliveries(webhook_id, status="delivered", limit=1)
                delivered += done.total
                svc.delete_webhook(webhook_id)
        events = svc.last_event_sequence()
    return {"none": none, "hooked": hooked, "delivered": delivered, "events": events}


def outbox_cost(template: Path, tmp: Path, rounds: int) -> dict[str, float]:
    """Microseconds per allocate+record pair with and without the event inserts,
    measured in alternating blocks on one database (so load elsewhere on the
    machine affects both alike); medians of the blocks."""
    path = tmp / "cost.db"
    shutil.copyfile(template, path)
    saved = {n: getattr(emit_module, n) for n in EMITTERS}
    times: dict[bool, list[float]] = {False: [], True: []}
    with budget.open(f"sqlite:///{path}") as svc:
        for _ in range(50):
            pair(svc)
        for i in range(rounds * 2):
            patched = i % 2 == 1
            for n in EMITTERS:
                setattr(emit_module, n, (lambda *a, **k: None) if patched else saved[n])
            try:
                started = time.perf_counter()
                for _ in range(100):
                    pair(svc)
                times[patched].append((time.perf_counter() - started) / 100 * 1e6)
            finally:
                for n, fn in saved.items():
                    setattr(emit_module, n, fn)
    with_us, without_us = statistics.median(times[False]), statistics.median(times[True])
    return {
        "pair_us_with_outbox": round(with_us, 1),
        "pair_us_without_outbox": round(without_us, 1),
        "outbox_us_per_pair": round(with_us - without_us, 1),
    }


def run(quick: bool) -> dict[str, Any]:
    """Alternate both configurations; medians, ratio, deliveries and outbox cost."""
    seconds, rounds = (2.0, 3) if quick else (3.0, 8)
    with tempfile.TemporaryDirectory(prefix="budget-bench-events-") as name, receivers() as url:
        tmp = Path(name)
        template = tmp / "template.db"
        prepare(template)
        hooks = [f"{url}/ok", f"{url}/ok?second", f"{url}/hang"]
        runs = alternate(template, tmp, hooks, rounds, seconds)
        cost = outbox_cost(template, tmp, 10 if quick else 30)
    none_ops = statistics.median(runs["none"])
    hooks_ops = statistics.median(runs["hooked"])
    return {
        "benchmark": "events_allocate_record",
        "backend": "sqlite",
        "mode": "quick" if quick else "full",
        "rounds": rounds,
        "seconds_each": seconds,
        "pairs_per_s_no_webhooks": round(none_ops, 1),
        "pairs_per_s_3_webhooks_1_dead": round(hooks_ops, 1),
        "ratio": round(hooks_ops / none_ops, 3),
        "within_10_percent": hooks_ops >= 0.9 * none_ops,
        "events": runs["events"],
        "deliveries_made": runs["delivered"],
        **cost,
    }


def main(argv: list[str] | None = None) -> int:
    """Print the figures, then their JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_events", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="three short rounds instead of eight")
    result = run(parser.parse_args(argv).quick)
    print(
        f"allocate+record on sqlite ({result['mode']}): "
        f"{result['pairs_per_s_no_webhooks']}/s without webhooks, "
        f"{result['pairs_per_s_3_webhooks_1_dead']}/s with 3 (1 dead): "
        f"ratio {result['ratio']}"
    )
    print(
        f"outbox cost: {result['outbox_us_per_pair']} us per allocate+record pair "
        f"({result['pair_us_with_outbox']} vs {result['pair_us_without_outbox']} us)"
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
