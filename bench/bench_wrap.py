"""What ``budget.wrap()`` adds to one model call, in process, on SQLite.

    python -m bench.bench_wrap [--quick]

The same OpenAI SDK client calls a fake OpenAI-compatible server on
127.0.0.1 (the one the tests use, in a process of its own) bare and
wrapped, alternately, so both see the same machine; the overhead is the
difference of the medians. The wrapped call reserves (10 policies, as in
the cycle benchmark), records the fake's usage and releases, in two
operations; the same two operations are also timed alone. Aim: at most 1 ms at p50.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as ``python bench/bench_wrap.py``
    sys.path.insert(0, str(ROOT))

import budget  # noqa: E402
from bench.workload import MODEL, PROVIDER, create_policies  # noqa: E402

AIM_MS = 1.0
ASK = [{"role": "user", "content": "Say hello in one word."}]


def run(quick: bool = False) -> dict[str, Any]:
    """Median latency of bare and wrapped calls, and the overhead."""
    try:
        import openai
    except ImportError as exc:
        return {"skipped": f"needs the openai SDK: {exc}"}
    calls = 150 if quick else 1500
    with tempfile.TemporaryDirectory(prefix="budget-bench-") as root, _fake_server() as url:
        svc = budget.open(f"sqlite:///{root}/wrap.db")
        try:
            matching = create_policies(svc, 10)
            bare = openai.OpenAI(base_url=url + "/v1", api_key="bench", max_retries=0)
            wrapped = budget.wrap(bare, svc, project="alpha", user="u0")
            bare_ms, wrapped_ms = _alternate(bare, wrapped, calls)
            ops_ms = _two_operations(svc, calls)
        finally:
            svc.close()
    p50_bare, p50_wrapped = statistics.median(bare_ms), statistics.median(wrapped_ms)
    overhead = p50_wrapped - p50_bare
    p50_ops = statistics.median(ops_ms)
    return {
        "calls": calls,
        "policies": 10,
        "matching": matching,
        "bare_p50_ms": round(p50_bare, 3),
        "wrapped_p50_ms": round(p50_wrapped, 3),
        "wrapped_p99_ms": round(_p99(wrapped_ms), 3),
        "overhead_p50_ms": round(overhead, 3),
        # the same two operations called directly, in this run: what the
        # database path costs; the rest is wrap()'s own (estimate, proxy, usage)
        "allocate_record_release_p50_ms": round(p50_ops, 3),
        "wrap_own_p50_ms": round(overhead - p50_ops, 3),
        "aim_overhead_p50_ms": AIM_MS,
        "met": overhead <= AIM_MS,
    }


@contextmanager
def _fake_server() -> Iterator[str]:
    """The fake provider in a process of its own, so that its work does not
    share this process's interpreter with the calls being timed."""
    script = ROOT / "tests" / "fake_llm.py"
    server = subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield server.stdout.readline().strip()
    finally:
        server.stdin.close()
        server.wait(timeout=10)


def _alternate(bare, wrapped, calls: int) -> tuple[list[float], list[float]]:
    for client in (bare, wrapped) * 20:  # warm connections, caches and windows
        client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=50)
    bare_ms: list[float] = []
    wrapped_ms: list[float] = []
    for _ in range(calls):
        for client, out in ((bare, bare_ms), (wrapped, wrapped_ms)):
            start = time.perf_counter()
            client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=50)
            out.append((time.perf_counter() - start) * 1000)
    return bare_ms, wrapped_ms


def _two_operations(svc, calls: int) -> list[float]:
    """allocate, then record_usage(release=True): what wrap() does around a call."""
    out = []
    for i in range(calls):
        start = time.perf_counter()
        held = svc.allocate(
            context_id="bench-wrap",
            provider=PROVIDER,
            model=MODEL,
            input_tokens=60,
            max_output_tokens=50,
            project="alpha",
            user="u0",
        )
        svc.record_usage(
            allocation_id=held.allocation_id,
            release=True,
            input_tokens=40,
            output_tokens=20,
            request_id=f"bench-wrap-{i}-{start}",
        )
        out.append((time.perf_counter() - start) * 1000)
    return out


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_wrap", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    result = run(parser.parse_args(argv).quick)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
