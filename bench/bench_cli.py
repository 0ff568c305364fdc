"""How long a CLI command takes to start and answer, as a user runs it.

    python -m bench.bench_cli [--quick]

Each figure is the median wall time of a fresh process (``python -m budget``,
bytecode cached after a first, untimed run): ``budget status`` on a local
SQLite database (the REST routes in process), the same command pointed at a
server URL where nothing listens (the network client alone: start-up and the
error path), and ``import budget``. Aim for a local command: 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AIM_S = 0.5


def run(quick: bool = False) -> dict[str, Any]:
    """Median seconds per command, beside the aim."""
    runs = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="budget-bench-") as root:
        env = {**os.environ, "BUDGET_DATABASE_URL": f"sqlite:///{root}/cli.db"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        _command(["init"], env)
        commands = {
            "budget status (local SQLite)": ["status"],
            "budget status --url (nothing listening)": [
                "status",
                "--url",
                "http://127.0.0.1:9",
                "--timeout",
                "1",
            ],
        }
        figures: dict[str, float] = {}
        for name, args in commands.items():
            figures[name] = _median(lambda args=args: _command(args, env), runs)
        figures["import budget"] = _median(lambda: _python("import budget", env), runs)
    return {"runs": runs, "aim_s": AIM_S, "median_s": figures}


def _median(call, runs: int) -> float:
    call()  # bytecode written, caches warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def _command(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "budget", *args], env=env, cwd=ROOT, capture_output=True, check=False
    )


def _python(code: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    result = run(parser.parse_args().quick)
    for name, seconds in result["median_s"].items():
        print(f"{name:45} {seconds:6.3f} s   (aim for a local command: {AIM_S} s)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
