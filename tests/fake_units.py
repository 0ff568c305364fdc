"""A stand-in for the database in engine unit tests: ``ctx.db.read()`` and
``ctx.db.write()`` hand out a unit whose repositories are the fakes given, so
an engine decision runs without SQL and the test sees what it asked storage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any


class FakeDb:
    """``read()``/``write()``/``run_write()`` over one set of fake repositories."""

    def __init__(self, **repositories: Any) -> None:
        self.unit = SimpleNamespace(**repositories)
        self.writes = 0

    @contextmanager
    def read(self) -> Iterator[Any]:
        yield self.unit

    @contextmanager
    def write(self) -> Iterator[Any]:
        self.writes += 1
        yield self.unit

    def run_write(self, work):
        with self.write() as tx:
            return work(tx)


def fake_context(settings: Any = None, **repositories: Any) -> Any:
    """An engine context with fake repositories and no caches."""
    return SimpleNamespace(db=FakeDb(**repositories), settings=settings)


class Recorder:
    """Records calls of functions it stands in for (``bump_version``, say)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)
