"""``budget doctor``: what an operator checks first, in one report.

Each check says ok, warn or fail, in one line, with its details. A failed
check is something to fix now (the database does not answer, migrations are
pending, a price source errs, the clocks disagree by a lot); a warning is worth
a look (a source that never ran or is stale, a skew of seconds). The same
function answers ``budget doctor`` locally and ``GET /api/v1/admin/doctor`` on
a server (whose ``budget doctor --url`` prints it).
"""

from __future__ import annotations

import importlib.metadata
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from budget.clock import utcnow
from budget.distribution import installed_version
from budget.domain import redact
from budget.engine import keys
from budget.engine.catalog_admin import list_sources
from budget.engine.context import EngineContext
from budget.storage.health import database_clock, dialect_name, server_version
from budget.storage.migrate import current_revision, head_revision, is_known_revision

OK, WARN, FAIL = "ok", "warn", "fail"
#: Optional packages Budget uses when installed: (distribution, what for).
EXTRAS = (
    ("genai-prices", "offline price source (extra: catalog)"),
    ("litellm", "offline price source and callback (extra: litellm)"),
    ("openai", "budget.wrap on OpenAI clients (extra: openai)"),
    ("anthropic", "budget.wrap on Anthropic clients (extra: anthropic)"),
    ("langchain-core", "LangChain callback (extra: langchain)"),
    ("opentelemetry-sdk", "OpenTelemetry span processor (extra: otel)"),
)
#: Clock skew between this process and the database: warn from, fail from.
SKEW_WARN = timedelta(seconds=1)
SKEW_FAIL = timedelta(seconds=30)
#: A source whose last success is older than this many intervals is stale.
STALE_INTERVALS = 2
FAILED_SOURCE = frozenset({"error", "failed"})


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    status: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "summary": self.summary,
            "details": self.details,
        }


@dataclass(frozen=True)
class DoctorReport:
    """Every check, in a fixed order: database, schema, extras, api_keys,
    price_sources, clock."""

    version: str
    checked_at: datetime
    checks: list[Check]

    @property
    def status(self) -> str:
        """fail if any check failed, else warn if any warned, else ok."""
        found = {c.status for c in self.checks}
        return FAIL if FAIL in found else WARN if WARN in found else OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "version": self.version,
            "checked_at": self.checked_at.isoformat(),
            "checks": [c.to_dict() for c in self.checks],
        }


def run_doctor(ctx: EngineContext) -> DoctorReport:
    """Every check against this engine's database and this process."""
    database = check_database(ctx)
    answers = database.status != FAIL

    def after_database(check: Callable[[EngineContext], Check]) -> Check:
        return _guarded(check, ctx) if answers else _unchecked(_name(check))

    checks = [
        database,
        after_database(check_schema),
        check_extras(),
        after_database(check_keys),
        after_database(check_sources),
        after_database(check_clock),
    ]
    return DoctorReport(version=installed_version(), checked_at=utcnow(), checks=checks)


def check_database(ctx: EngineContext) -> Check:
    engine = ctx.db.engine
    details = {"url": redact.url(ctx.settings.database_url), "dialect": dialect_name(engine)}
    try:
        details["server_version"] = server_version(engine)
    except Exception as exc:  # any driver failure is the finding itself
        return Check("database", FAIL, f"does not answer: {_short(exc)}", details)
    return Check("database", OK, f"{details['dialect']} at {details['url']}", details)


def check_schema(ctx: EngineContext) -> Check:
    current, head = current_revision(ctx.db.engine), head_revision()
    details = {"current": current, "head": head}
    if current == head:
        return Check("schema", OK, f"at head ({head})", details)
    if current is None:
        return Check("schema", FAIL, "not created: run `budget init`", details)
    if not is_known_revision(current):
        return Check(
            "schema", FAIL,
            f"at {current}, newer than this version knows (head {head}): upgrade budget-gate",
            details,
        )  # fmt: skip
    return Check(
        "schema", FAIL, f"migrations pending: at {current}, head is {head}; run `budget init`",
        details,
    )  # fmt: skip


def check_extras() -> Check:
    found: dict[str, str | None] = {}
    for dist, _ in EXTRAS:
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = None
    missing = [d for d, v in found.items() if v is None]
    summary = f"{len(found) - len(missing)} of {len(found)} installed"
    if missing:
        summary += "; not installed: " + ", ".join(missing)
    return Check("extras", OK, summary, {"packages": found})


def check_keys(ctx: EngineContext) -> Check:
    live = Counter(k.role for k in keys.list_keys(ctx) if k.revoked_at is None)
    details = {"admin": live.get("admin", 0), "client": live.get("client", 0)}
    summary = f"{details['admin']} admin, {details['client']} client"
    if not sum(details.values()):
        summary += " (a server without keys answers on loopback only)"
    return Check("api_keys", OK, summary, details)


def check_sources(ctx: EngineContext) -> Check:
    now = utcnow()
    rows, failing, warnings = [], [], []
    for s in list_sources(ctx):
        state = _source_state(s, now)
        rows.append({**_source_row(s), "health": state})
        if state == FAIL:
            failing.append(s.name)
        elif state == WARN:
            warnings.append(s.name)
    details = {"sources": rows}
    if failing:
        return Check("price_sources", FAIL, "failing: " + ", ".join(failing), details)
    if warnings:
        return Check("price_sources", WARN, "never ran or stale: " + ", ".join(warnings), details)
    return Check("price_sources", OK, f"{len(rows)} sources healthy", details)


def _source_state(s, now: datetime) -> str:
    if not s.active:
        return OK
    if s.last_status in FAILED_SOURCE:
        return FAIL
    if s.last_success_at is None:
        return WARN
    if now - s.last_success_at > timedelta(seconds=STALE_INTERVALS * s.refresh_interval_seconds):
        return WARN
    return OK


def _source_row(s) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "name": s.name,
        "active": s.active,
        "last_run_at": iso(s.last_run_at),
        "last_success_at": iso(s.last_success_at),
        "last_status": s.last_status,
        "last_error": s.last_error,
    }


def check_clock(ctx: EngineContext) -> Check:
    before = time.time()
    theirs = database_clock(ctx.db.engine)
    after = time.time()
    if theirs is None:
        return Check("clock", OK, "embedded SQLite: one clock, no skew", {"skew_seconds": 0})
    ours = datetime.fromtimestamp((before + after) / 2, UTC)
    skew = theirs - ours
    details = {
        "skew_seconds": round(skew.total_seconds(), 3),
        "round_trip_ms": round((after - before) * 1000, 1),
        "database_now": theirs.isoformat(),
    }
    status = FAIL if abs(skew) >= SKEW_FAIL else WARN if abs(skew) >= SKEW_WARN else OK
    return Check("clock", status, f"database clock {_seconds(skew)} this host", details)


def _seconds(skew: timedelta) -> str:
    value = skew.total_seconds()
    return f"{abs(value):.3f} s {'ahead of' if value >= 0 else 'behind'}"


def _guarded(check: Callable[[EngineContext], Check], ctx: EngineContext) -> Check:
    """The check, or a failed one saying why it could not run (an old schema
    lacks a table, the connection dropped)."""
    try:
        return check(ctx)
    except Exception as exc:  # the report must come back whatever broke
        return Check(_name(check), FAIL, f"could not check: {_short(exc)}")


def _unchecked(name: str) -> Check:
    return Check(name, FAIL, "not checked: the database does not answer")


def _name(check: Callable[..., Check]) -> str:
    name = check.__name__.removeprefix("check_")
    return {"keys": "api_keys", "sources": "price_sources"}.get(name, name)


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc) or type(exc).__name__
    line = text.split("(Background on this error")[0].strip().splitlines()
    return redact.text(line[0] if line else type(exc).__name__)
