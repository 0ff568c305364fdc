"""What the rollups cost on the write path, per usage record.

``record_usage`` of one record per call (its own transaction; one matching
policy), in four interleaved rounds with the rollup upsert on and off
(``budget.engine.insight.rollups.apply_usages``, which the write path calls,
swapped for a no-op), plus the time spent inside it (on PostgreSQL the time to
queue the upsert in the pipeline; its server time shows in the difference).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import budget
from budget.engine.insight import rollups

ROUNDS = 4
WARMUP = 50
CALL = {
    "provider": "openai",
    "model": "gpt-4o-mini",
    "input_tokens": 1200,
    "cached_input_tokens": 200,
    "output_tokens": 350,
    "project": "alpha",
    "component": "chat",
    "task_type": "chat",
    "tags": ["bench", "prod"],
}


def measure(url: str, records: int) -> dict[str, Any]:
    """Median and mean microseconds per record, with and without rollups."""
    svc = budget.open(url, price_network=False)
    real = rollups.apply_usages
    inside: list[float] = []

    def timed_apply(conn, many) -> None:
        started = time.perf_counter()
        real(conn, many)
        inside.append(time.perf_counter() - started)

    def skip(conn, many) -> None:
        return None

    samples: dict[bool, list[float]] = {True: [], False: []}
    try:
        team = svc.create_budget("write-cost")
        svc.add_policy(team.budget_id, type="warn", period="daily", cost_limit="1000000")
        for i in range(WARMUP):
            svc.record_usage(**CALL, user=f"user-{i % 20}")
        per_round = max(records // (2 * ROUNDS), 1)
        for _ in range(ROUNDS):
            for on in (True, False):
                rollups.apply_usages = timed_apply if on else skip
                for i in range(per_round):
                    started = time.perf_counter()
                    svc.record_usage(**CALL, user=f"user-{i % 20}")
                    samples[on].append(time.perf_counter() - started)
    finally:
        rollups.apply_usages = real
        svc.close()
    with_, without = samples[True], samples[False]
    return {
        "records": len(with_) + len(without),
        "apply_usage_p50_us": _us(statistics.median(inside)),
        "apply_usage_mean_us": _us(statistics.fmean(inside)),
        "with_rollups_p50_us": _us(statistics.median(with_)),
        "without_rollups_p50_us": _us(statistics.median(without)),
        "with_rollups_mean_us": _us(statistics.fmean(with_)),
        "without_rollups_mean_us": _us(statistics.fmean(without)),
        "added_p50_us": _us(statistics.median(with_) - statistics.median(without)),
        "rows_per_record": 12,
    }


def _us(seconds: float) -> float:
    return round(seconds * 1e6, 1)
