"""What a price refresh reports: per source, per change, per run; and the
state of each source. Plain frozen dataclasses with ``to_dict`` for the
entry points (REST, CLI, MCP), and a rate as a change record words it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from budget.domain.prices import Rate, TierRate

#: Actions a change record can have.
ADDED = "added"
CHANGED = "changed"
CONFLICT = "conflict"
DISPUTED = "disputed"
OVERRIDE_SET = "override_set"
OVERRIDE_CLEARED = "override_cleared"


@dataclass(frozen=True)
class PriceChange:
    """One model touched by a run (or by an override): what, by how much, from where.

    ``kinds`` maps a token kind to ``{"old", "new", "change_pct"}`` (decimal
    strings; for a conflict, ``{"<source>": "<value>", ...}`` per field path,
    e.g. ``input`` or ``input.tiers[0].rate``). ``evidence`` maps a field path
    to what each source said: ``{"status", "value", "lineages", "claims",
    "claim_lineages"}`` (see :mod:`budget.ingest.evidence`).
    """

    provider: str
    model: str
    action: str
    verification: str | None
    sources: tuple[str, ...] = ()
    kinds: dict[str, dict[str, str | None]] = field(default_factory=dict)
    cause: str | None = None
    old_price_id: int | None = None
    new_price_id: int | None = None
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sources": list(self.sources)}


@dataclass(frozen=True)
class SourceReport:
    """How one source did in one run.

    ``status``: ok, not_modified (the server said so; the kept copy was used),
    error (the source failed: its last good prices stay), unavailable (an
    offline source whose package is not installed) or inactive.
    """

    source: str
    status: str
    version: str | None = None
    records: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    unmapped: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    conflicts: int = 0
    disputed: int = 0
    error: str | None = None
    duration_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UpdateReport:
    """One refresh run: totals, each source's report and the changes made."""

    update_id: str
    trigger: str
    started_at: datetime
    finished_at: datetime
    status: str
    sources: tuple[SourceReport, ...] = ()
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    conflicts: int = 0
    verified: int = 0
    unverified: int = 0
    changes: tuple[PriceChange, ...] = ()

    @property
    def errors(self) -> dict[str, str]:
        """Source name -> error, for the sources that failed or were unavailable."""
        return {s.source: s.error for s in self.sources if s.error}

    def source(self, name: str) -> SourceReport:
        """The report of one source (KeyError if it did not take part)."""
        for report in self.sources:
            if report.source == name:
                return report
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        out["finished_at"] = self.finished_at.isoformat()
        out["sources"] = [s.to_dict() for s in self.sources]
        out["changes"] = [c.to_dict() for c in self.changes]
        return out


@dataclass(frozen=True)
class PriceSourceStatus:
    """A source as configured and as it last ran."""

    name: str
    kind: str
    lineage: str
    trust: Decimal
    refresh_interval_seconds: int
    active: bool
    network: bool
    url: str | None = None
    last_run_at: datetime | None = None
    next_run_at: datetime | None = None
    last_success_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    last_version: str | None = None
    last_records: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["trust"] = str(self.trust)
        for key in ("last_run_at", "next_run_at", "last_success_at"):
            value = out[key]
            out[key] = value.isoformat() if value is not None else None
        return out


@dataclass(frozen=True)
class PriceConflict:
    """A model whose sources disagree; its current price (if any) was kept."""

    provider: str
    model: str
    kinds: dict[str, dict[str, str | None]]
    cause: str | None
    sources: tuple[str, ...]
    detected_at: datetime
    update_id: str
    current_price_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sources"] = list(self.sources)
        out["detected_at"] = self.detected_at.isoformat()
        return out


def describe_rate(rate: Rate | None) -> str | None:
    """A rate as text: ``"3"``, or ``"3; >200000: 6"`` with tiers."""
    if rate is None:
        return None
    tiers = "".join(f"; >{t.start}: {t.rate}" for t in sorted(rate.tiers, key=_start))
    return f"{rate.base}{tiers}"


def _start(tier: TierRate) -> int:
    return tier.start
