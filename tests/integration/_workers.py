"""Worker functions for the multi-process concurrency tests.

They live in an importable module (not in a test file) because processes are
started with the "spawn" method: a child imports this module afresh and calls
the function by name. Each child opens its own BudgetService on the shared
database URL, reports "ready", waits for the start signal, hammers the service
from several threads and puts one result dict on the queue.
"""

from __future__ import annotations

import random
import threading
import traceback
from typing import Any

import budget


def _run_threads(n_threads: int, target, *args: Any) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = [{} for _ in range(n_threads)]
    barrier = threading.Barrier(n_threads)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = target(index, *args)
        except BaseException:
            results[index] = {"errors": [traceback.format_exc()]}

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, list):
                merged.setdefault(key, []).extend(value)
            else:
                merged[key] = merged.get(key, 0) + value
    merged.setdefault("errors", [])
    return merged


def _serve(name: str, url: str, n_threads: int, ready, start, out, target, *args: Any) -> None:
    """Common frame: open, signal ready, wait for the start, run, report."""
    try:
        svc = budget.open(settings=budget.Settings(database_url=url, pool_size=n_threads + 2))
    except BaseException:
        ready.put(name)
        out.put({"worker": name, "errors": [traceback.format_exc()]})
        return
    try:
        ready.put(name)
        if not start.wait(timeout=60):
            out.put({"worker": name, "errors": ["start signal never came"]})
            return
        result = _merge(_run_threads(n_threads, target, svc, name, *args))
        result["worker"] = name
        out.put(result)
    finally:
        svc.close()


# --- allocate only ------------------------------------------------------------


def _allocate_loop(
    index: int, svc: budget.BudgetService, name: str, attempts: int, request: dict[str, Any]
) -> dict[str, Any]:
    granted: list[str] = []
    denied = 0
    errors: list[str] = []
    for attempt in range(attempts):
        try:
            alloc = svc.allocate(context_id=f"{name}-{index}-{attempt}", **request)
            granted.append(alloc.allocation_id)
        except budget.BudgetExceeded:
            denied += 1
        except Exception:
            errors.append(traceback.format_exc())
    return {"granted": granted, "denied": denied, "errors": errors}


def allocate_worker(
    name: str,
    url: str,
    n_threads: int,
    attempts: int,
    request: dict[str, Any],
    ready,
    start,
    out,
) -> None:
    """Each thread tries ``attempts`` allocations of ``request``."""
    _serve(name, url, n_threads, ready, start, out, _allocate_loop, attempts, request)


# --- allocate, record, release --------------------------------------------------


def _mixed_loop(
    index: int,
    svc: budget.BudgetService,
    name: str,
    cycles: int,
    size: int,
    seed: int,
) -> dict[str, Any]:
    rng = random.Random(seed * 1000 + index)
    out: dict[str, Any] = {
        "granted": 0,
        "denied": 0,
        "records": 0,
        "tokens_recorded": 0,
        "released": 0,
        "errors": [],
    }
    for cycle in range(cycles):
        try:
            alloc = svc.allocate(
                context_id=f"{name}-{index}",
                provider="openai",
                model="gpt-4o-mini",
                input_tokens=size // 2,
                max_output_tokens=size - size // 2,
            )
        except budget.BudgetExceeded:
            out["denied"] += 1
            continue
        except Exception:
            out["errors"].append(traceback.format_exc())
            continue
        out["granted"] += 1
        try:
            # 0, 1 or 2 usage reports per allocation, always less than reserved;
            # the last one releases the allocation itself half of the time.
            left = size - 1
            parts = rng.choice((0, 1, 1, 2))
            fused = parts > 0 and rng.random() < 0.5
            for part in range(parts):
                inputs = rng.randint(1, left // 4)
                outputs = rng.randint(0, left // 4)
                left -= inputs + outputs
                svc.record_usage(
                    allocation_id=alloc.allocation_id,
                    input_tokens=inputs,
                    output_tokens=outputs,
                    request_id=f"{name}-{index}-{cycle}-{part}",
                    release=fused and part == parts - 1,
                )
                out["records"] += 1
                out["tokens_recorded"] += inputs + outputs
            if fused:
                out["released"] += 1
                continue
            released = svc.release(alloc.allocation_id)
            if released.status is budget.AllocationStatus.RELEASED:
                out["released"] += 1
        except Exception:
            out["errors"].append(traceback.format_exc())
    return out


def mixed_worker(
    name: str,
    url: str,
    n_threads: int,
    cycles: int,
    size: int,
    seed: int,
    ready,
    start,
    out,
) -> None:
    """Each thread runs ``cycles`` of allocate / record usage (less than
    reserved) / release (or usage with ``release=True``)."""
    _serve(name, url, n_threads, ready, start, out, _mixed_loop, cycles, size, seed)


# --- the same request id, everywhere at once --------------------------------------


def _record_same(
    index: int, svc: budget.BudgetService, name: str, usage: dict[str, Any]
) -> dict[str, Any]:
    try:
        record = svc.record_usage(**usage)
    except Exception:
        return {"usage_ids": [], "errors": [traceback.format_exc()]}
    return {"usage_ids": [record.usage_id], "errors": []}


def record_same_worker(
    name: str,
    url: str,
    n_threads: int,
    usage: dict[str, Any],
    ready,
    start,
    out,
) -> None:
    """Every thread records ``usage`` (with its request id) once."""
    _serve(name, url, n_threads, ready, start, out, _record_same, usage)


# --- usage recorded while policies appear -------------------------------------------

#: The attributes usage is recorded with, so that policies of many scopes match some.
SEED_ATTRIBUTES = [
    {"project": project, "user": user, "tags": tags}
    for project in ("alpha", "beta")
    for user in ("ann", "bob", "cy")
    for tags in ([], ["batch"], ["batch", "eu"])
]


def _record_loop(
    index: int, svc: budget.BudgetService, name: str, records: int, seed: int
) -> dict[str, Any]:
    rng = random.Random(f"{seed}-{name}-{index}")
    errors: list[str] = []
    done = 0
    for _ in range(records):
        attrs = rng.choice(SEED_ATTRIBUTES)
        model = rng.choice(["gpt-4o-mini", "unpriced-model-x"])
        try:
            svc.record_usage(
                provider="openai",
                model=model,
                input_tokens=rng.randint(1, 2000),
                output_tokens=rng.randint(0, 500),
                **attrs,
            )
            done += 1
        except Exception:
            errors.append(traceback.format_exc())
    return {"records": done, "errors": errors}


def record_worker(
    name: str, url: str, n_threads: int, records: int, seed: int, ready, start, out
) -> None:
    """Each thread records ``records`` usage reports of random attributes."""
    _serve(name, url, n_threads, ready, start, out, _record_loop, records, seed)
