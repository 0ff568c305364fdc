"""The hot-row limit of this machine's PostgreSQL, measured in the same run.

A single-row conditional UPDATE and its COMMIT, from 8 connections at once,
straight through psycopg (no Budget code): how many such transactions one row
takes per second. Budget's PostgreSQL cycle is printed beside it, since every
allocation of one budget must pass through its windows' rows.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
from sqlalchemy.engine import make_url


def hot_row_commits_per_second(url: str, threads: int = 8, seconds: float = 3.0) -> dict[str, Any]:
    """Commits per second of ``UPDATE … WHERE id = 1 AND v + 1 <= limit`` on one row."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute("DROP TABLE IF EXISTS bench_hot_row")
        setup.execute("CREATE TABLE bench_hot_row (id int PRIMARY KEY, v bigint NOT NULL)")
        setup.execute("INSERT INTO bench_hot_row VALUES (1, 0)")
    counts = [0] * threads
    barrier = threading.Barrier(threads + 1)
    stop = [0.0]

    def work(index: int) -> None:
        with psycopg.connect(dsn) as conn:
            barrier.wait()
            while time.perf_counter() < stop[0]:
                conn.execute(
                    "UPDATE bench_hot_row SET v = v + 1 WHERE id = 1 AND v + 1 <= %s", (10**15,)
                )
                conn.commit()
                counts[index] += 1

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    start = time.perf_counter()
    stop[0] = start + seconds
    barrier.wait()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute("DROP TABLE bench_hot_row")
    return {"threads": threads, "commits_per_s": sum(counts) / elapsed, "seconds": elapsed}
