"""What the figures were measured on: printed as the header and kept in the JSON."""

from __future__ import annotations

import os
import platform
import sqlite3
import time
from typing import Any


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def nproc() -> int:
    """CPUs this process may run on (what ``nproc`` prints)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def describe(postgres_version: str | None) -> dict[str, Any]:
    import sqlalchemy

    import budget

    try:
        import psycopg

        psycopg_version = psycopg.__version__
    except ImportError:  # pragma: no cover - psycopg is a dependency
        psycopg_version = None
    return {
        "nproc": nproc(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version,
        "sqlalchemy": sqlalchemy.__version__,
        "psycopg": psycopg_version,
        "budget": budget.__version__,
        "loadavg_at_start": loadavg(),
        "budget_source_sha256": source_fingerprint(),
    }


def source_fingerprint() -> str:
    """A hash of budget/'s Python sources: which code the figures belong to
    (and whether it changed while the benchmark ran)."""
    import hashlib
    from pathlib import Path

    import budget

    root = Path(budget.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def loadavg() -> list[float] | None:
    """1, 5 and 15 minute load averages: other work on the machine skews figures."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def header_lines(info: dict[str, Any]) -> list[str]:
    return [
        f"machine:    {info['nproc']} CPUs (nproc), {info['cpu_model']}",
        f"platform:   {info['platform']}",
        f"python:     {info['python']} ({info['python_implementation']}), "
        f"SQLAlchemy {info['sqlalchemy']}, psycopg {info['psycopg']}, budget {info['budget']}",
        f"sqlite:     {info['sqlite']}",
        f"postgresql: {info['postgresql'] or 'not used'}",
        f"load avg:   {info['loadavg_at_start']} (1/5/15 min, at start); "
        f"budget/ sources {info['budget_source_sha256']}",
    ]


def _proc_stat() -> tuple[int, int] | None:
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


class CpuMeter:
    """CPU used while measuring: by this process (in cores: CPU seconds per
    wall second) and by the whole machine (share of all CPUs busy, which
    includes the database server and anything else running)."""

    def __enter__(self) -> CpuMeter:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        self._stat = _proc_stat()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._wall
        self.process_cores = (time.process_time() - self._cpu) / wall if wall else 0.0
        end = _proc_stat()
        self.machine_busy: float | None = None
        if self._stat and end and end[1] > self._stat[1]:
            self.machine_busy = (end[0] - self._stat[0]) / (end[1] - self._stat[1])

    def as_dict(self) -> dict[str, float | None]:
        return {
            "process_cpu_cores": round(self.process_cores, 2),
            "machine_cpu_busy": None if self.machine_busy is None else round(self.machine_busy, 2),
        }
