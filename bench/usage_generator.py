"""A fast generator of usage records for the report benchmarks: the ledger and its rollups.

Records come from ~1,500 *profiles* (a user's project, component, api key,
task type, tags and model) drawn with Zipf-like weights from 500 users, over
38 models of the shipped catalog (36 priced: openai, anthropic, google; two
unpriced house models), spread uniformly over the range, one UTC day at a
time. Token counts are random (input 200-6,000 with a share of cache reads
for caching profiles; output 50-1,500; a third of it reasoning for reasoning
models); costs use the catalog's input, cached-input and output rates (no
tiers, no per-request fees).

Writes bypass the engine: the ledger with PostgreSQL ``COPY`` or SQLite
``executemany`` (WAL, ``synchronous=OFF`` while loading), one transaction per
day. The rollups are *not* written per record: each day's records are summed
per (profile, hour) and those sums go through the write path's own cube
derivation (:class:`budget.engine.insight.rollups.Accumulator`), then are
written in bulk. ``rebuild_rollups(check_only=True)`` confirms they equal
what the write path would have produced.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import make_url

from budget.engine.insight.rollups import COUNTERS, EPOCH, Accumulator, epoch_hour, tags_text

USERS = 500
PROJECTS = 20
COMPONENTS = ("chat", "search", "agent", "summarizer", "batch", "eval", "support", "coder")
TASKS = ("chat", "coding", "analysis", "summarize", "extract")
TAGS = ("prod", "staging", "batch", "eval", "interactive", "ci")
PROVIDERS = ("openai", "anthropic", "google")
UNPRICED = (("acme", "house-model-1"), ("acme", "house-model-2"))
PRICED_MODELS = 36

LEDGER_COLUMNS = (
    "id",
    "content_hash",
    "provider",
    "model",
    "tier",
    "component",
    "project",
    "user_id",
    "api_key",
    "task_type",
    "tags",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "total_tokens",
    "priced",
    "cost_nanos",
    "metadata",
    "occurred_at",
    "recorded_at",
)
ROLLUP_COLUMNS = (
    "cube",
    "span_hours",
    "start_hour",
    "priced",
    "dims_key",
    "provider",
    "model",
    "tier",
    "component",
    "project",
    "user_id",
    "api_key",
    "task_type",
    "tag",
    "tags",
    *COUNTERS,
)


@dataclass(frozen=True)
class Profile:
    """One kind of caller: its attributes, tags and model, with the model's rates."""

    dims: dict[str, str]
    tags: list[str]
    rates: tuple[int, int, int] | None  # milli-nano-USD per input, cached, output token
    cache_share: float
    reasoning: bool

    @property
    def priced(self) -> bool:
        return self.rates is not None


def models(svc) -> list[tuple[str, str, tuple[int, int, int] | None]]:
    """(provider, model, rates) of the priced chat models picked, then the unpriced ones."""
    from budget.engine.insight.recommend import SPECIAL_FAMILIES

    now = datetime.now(UTC)
    found = []
    for provider in PROVIDERS:
        for price in sorted(svc._ctx.catalog.select(provider=provider, at=now), key=_name):
            rates = price.rates
            if rates.input is None or rates.output is None or "*" in price.model:
                continue
            if price.extra.get("deprecated") or any(s in price.model for s in SPECIAL_FAMILIES):
                continue
            cached = rates.cached_input.base if rates.cached_input else rates.input.base
            milli = (_milli(rates.input.base), _milli(cached), _milli(rates.output.base))
            found.append((price.provider, price.model, milli))
    picked = found[:: max(1, len(found) // PRICED_MODELS)][:PRICED_MODELS]
    return [*picked, *((p, m, None) for p, m in UNPRICED)]


def _name(price) -> str:
    return price.model


def _milli(rate_per_million: Decimal) -> int:
    """USD per million tokens -> milli-nano-USD per token."""
    return int(rate_per_million * 1_000_000)


def profiles(svc, seed: int = 7) -> tuple[list[Profile], list[float]]:
    """The profiles and their cumulative weights (Zipf-like over users)."""
    from budget.engine.pricing import resolve_tier

    rng = random.Random(seed)
    catalog = models(svc)
    out: list[Profile] = []
    weights: list[float] = []
    for user in range(USERS):
        project = f"project-{user % PROJECTS:02d}"
        component = COMPONENTS[(user * 7) % len(COMPONENTS)]
        key = f"key-{project}-{user % 3}"
        for _ in range(rng.randint(2, 4)):
            provider, model, rates = catalog[rng.randrange(len(catalog))]
            tier = resolve_tier(svc.settings, None, provider, model).value
            tags = sorted(rng.sample(TAGS, rng.choice((0, 1, 1, 2))))
            dims = {
                "provider": provider,
                "model": model,
                "tier": tier,
                "component": component,
                "project": project,
                "user": f"user-{user:03d}",
                "api_key": key,
                "task_type": TASKS[rng.randrange(len(TASKS))],
            }
            share = rng.choice((0.0, 0.0, 0.3, 0.6))
            reasoning = model.startswith(("o1", "o3", "o4")) or "thinking" in model
            out.append(Profile(dims, tags, rates, share, reasoning))
            weights.append(1.0 / (user + 1) ** 1.1)
    return out, list(itertools.accumulate(weights))


class Generator:
    """Records of one UTC day at a time, with their per-(profile, hour) sums."""

    def __init__(self, profiles: list[Profile], cum_weights: list[float], seed: int = 11) -> None:
        self.profiles = profiles
        self.cum = cum_weights
        self.rng = random.Random(seed)
        self.counter = 0
        self.tags_json = [tags_text(p.tags) for p in profiles]

    def day(self, start: datetime, end: datetime, n: int, sqlite: bool):
        """``n`` ledger rows in [start, end) (sorted by time) and their sums."""
        rng = self.rng.random
        span = (end - start).total_seconds()
        picks = self.rng.choices(range(len(self.profiles)), cum_weights=self.cum, k=n)
        seconds = sorted(int(rng() * span) for _ in range(n))
        day = start.strftime("%Y-%m-%d")
        base = start.hour * 3600
        sums: dict[tuple[int, int], list[int]] = {}
        rows = []
        for p, sec in zip(picks, seconds, strict=True):
            prof = self.profiles[p]
            inp = 200 + int(rng() * 5800)
            out = 50 + int(rng() * 1450)
            cached = int(inp * prof.cache_share * rng())
            reasoning = out // 3 if prof.reasoning else 0
            cost = None
            if prof.rates is not None:
                a, b, c = prof.rates
                cost = ((inp - cached) * a + cached * b + out * c + 500) // 1000
            clock = base + sec
            hour = clock // 3600
            stamp = f"{day} {hour:02d}:{clock % 3600 // 60:02d}:{clock % 60:02d}"
            stamp += ".000000" if sqlite else "+00"
            self.counter += 1
            d = prof.dims
            rows.append(
                (
                    f"use_{self.counter:014d}",
                    "bench",
                    d["provider"],
                    d["model"],
                    d["tier"],
                    d["component"],
                    d["project"],
                    d["user"],
                    d["api_key"],
                    d["task_type"],
                    self.tags_json[p],
                    inp,
                    out,
                    cached,
                    0,
                    reasoning,
                    inp + out,
                    prof.priced,
                    cost,
                    "{}",
                    stamp,
                    stamp,
                )
            )
            total = sums.get((p, hour))
            if total is None:
                total = sums[(p, hour)] = [0] * 7
            total[0] += 1
            total[1] += inp
            total[2] += out
            total[3] += cached
            total[5] += reasoning
            total[6] += cost or 0
        return rows, sums

    def rollups(self, day_hour: int, sums: dict[tuple[int, int], list[int]]) -> list[tuple]:
        """The rollup rows of one day, from its sums, through the write path's derivation."""
        acc = Accumulator()
        for (p, hour), counters in sums.items():
            prof = self.profiles[p]
            acc.add_group(prof.dims, prof.tags, prof.priced, day_hour + hour, tuple(counters))
        return [tuple(row[c] for c in ROLLUP_COLUMNS) for row in acc.sorted_rows()]


@dataclass
class LoadReport:
    records: int = 0
    rollup_rows: int = 0
    days: int = 0
    seconds: float = 0.0
    ledger_seconds: float = 0.0
    rollup_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "rollup_rows": self.rollup_rows,
            "days": self.days,
            "load_s": round(self.seconds, 1),
            "records_per_s": round(self.records / self.seconds) if self.seconds else None,
            "ledger_write_s": round(self.ledger_seconds, 1),
            "rollup_write_s": round(self.rollup_seconds, 1),
        }


def load(svc, url: str, records: int, days: int, end: datetime, progress=None) -> LoadReport:
    """Generate ``records`` over the ``days`` UTC days ending at ``end`` into ``url``."""
    started = time.perf_counter()
    gen = Generator(*profiles(svc))
    first = EPOCH + timedelta(hours=(epoch_hour(end) // 24 - days + 1) * 24)
    total_s = (end - first).total_seconds()
    writer = _writer(url)
    report = LoadReport()
    try:
        day = first
        while day < end:
            stop = min(day + timedelta(days=1), end)
            share = (stop - day).total_seconds() / total_s
            n = records - report.records if stop == end else round(records * share)
            rows, sums = gen.day(day, stop, n, writer.sqlite)
            t0 = time.perf_counter()
            writer.ledger(rows)
            t1 = time.perf_counter()
            rollups = gen.rollups(epoch_hour(day), sums)
            writer.rollups(rollups)
            writer.commit()
            report.ledger_seconds += t1 - t0
            report.rollup_seconds += time.perf_counter() - t1
            report.records += n
            report.rollup_rows += len(rollups)
            report.days += 1
            if progress is not None:
                progress(report)
            day = stop
        writer.finish()
    finally:
        writer.close()
    report.seconds = time.perf_counter() - started
    return report


def _writer(url: str):
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _SQLiteWriter(parsed.database)
    plain = parsed.set(drivername="postgresql")
    return _PostgresWriter(plain.render_as_string(hide_password=False))


class _SQLiteWriter:
    sqlite = True

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=OFF", "cache_size=-400000"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute("BEGIN")
        self._ledger = _insert("usage_records", LEDGER_COLUMNS)
        self._rollups = _insert("usage_rollups", ROLLUP_COLUMNS)

    def ledger(self, rows: list[tuple]) -> None:
        self.conn.executemany(self._ledger, rows)

    def rollups(self, rows: list[tuple]) -> None:
        self.conn.executemany(self._rollups, rows)

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN")

    def finish(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.conn.close()


def _insert(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


class _PostgresWriter:
    sqlite = False

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url)

    def _copy(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def ledger(self, rows: list[tuple]) -> None:
        self._copy("usage_records", LEDGER_COLUMNS, rows)

    def rollups(self, rows: list[tuple]) -> None:
        self._copy("usage_rollups", ROLLUP_COLUMNS, rows)

    def commit(self) -> None:
        self.conn.commit()

    def finish(self) -> None:
        self.conn.commit()
        self.conn.autocommit = True
        self.conn.execute("VACUUM ANALYZE usage_records")
        self.conn.execute("VACUUM ANALYZE usage_rollups")

    def close(self) -> None:
        self.conn.close()
