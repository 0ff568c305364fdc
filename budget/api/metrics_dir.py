"""The directory of prometheus_client's multiprocess mode, for ``budget serve``.

prometheus_client picks its storage when it is first imported: with
``PROMETHEUS_MULTIPROC_DIR`` set, every process writes its metric values to
files there, and a scrape sums the files of all processes. So the directory
must be set up before the worker processes start, and emptied first (files of
an earlier run would be summed in). This module imports no prometheus_client.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def multiprocess_metrics(workers: int) -> Iterator[str | None]:
    """Around a server run: with ``PROMETHEUS_MULTIPROC_DIR`` given, empty that
    directory of metric files; else, for more than one worker, make a fresh
    temporary directory (removed afterwards). Yields the directory, or None
    (one process: plain in-memory metrics)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        yield str(path)
        return
    if workers <= 1:
        yield None
        return
    path = tempfile.mkdtemp(prefix="budget-metrics-")
    os.environ[MULTIPROC_ENV] = path
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)
