"""The parts of a refresh run that need no database: fetching every source
(in parallel, each behind its own timeout, a failure kept to that source),
assembling the run's report and wording a conflict alert."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from budget.ingest.errors import SourceError, SourceUnavailable
from budget.ingest.http import HttpFetcher
from budget.ingest.source import PriceSource
from budget.pricing.refresh import Fetched, Plan
from budget.pricing.refresh_report import PriceChange, SourceReport, UpdateReport

log = logging.getLogger("budget.prices")
MAX_WORKERS = 4

OK = "ok"
NOT_MODIFIED = "not_modified"
ERROR = "error"
UNAVAILABLE = "unavailable"


def fetch_all(sources: list[PriceSource], http: HttpFetcher, now: datetime) -> list[Fetched]:
    """Fetch every source; a failing source is reported, never raised."""
    if not sources:
        return []
    workers = min(MAX_WORKERS, len(sources))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="price-fetch") as pool:
        return list(pool.map(lambda s: fetch_one(s, http, now), sources))


def fetch_one(source: PriceSource, http: HttpFetcher, now: datetime) -> Fetched:
    """One source's fetch, timed, with every failure caught and described."""
    started = time.perf_counter()
    try:
        result = source.fetch(http, now)
    except SourceUnavailable as exc:
        return Fetched(source.spec, None, UNAVAILABLE, str(exc), _ms(started))
    except SourceError as exc:
        log.warning("price source %s failed: %s", source.name, exc)
        return Fetched(source.spec, None, ERROR, str(exc), _ms(started))
    except Exception as exc:  # an adapter bug must not stop the other sources
        log.exception("price source %s crashed", source.name)
        message = f"{type(exc).__name__}: {exc}"
        return Fetched(source.spec, None, ERROR, message, _ms(started))
    status = NOT_MODIFIED if result.not_modified else OK
    return Fetched(source.spec, result, status, None, _ms(started))


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def run_status(fetched: list[Fetched]) -> str:
    """ok when every source delivered, failed when none did, partial otherwise."""
    delivered = sum(1 for f in fetched if f.succeeded)
    if fetched and delivered == 0:
        return "failed"
    return "ok" if delivered == len(fetched) else "partial"


def build_report(
    *,
    update_id: str,
    trigger: str,
    started_at: datetime,
    finished_at: datetime,
    fetched: list[Fetched],
    plan: Plan,
    changes: list[PriceChange],
) -> UpdateReport:
    """The run's report: totals, one report per source, the changes."""
    totals = plan.totals
    return UpdateReport(
        update_id=update_id,
        trigger=trigger,
        started_at=started_at,
        finished_at=finished_at,
        status=run_status(fetched),
        sources=tuple(_source_report(f, plan) for f in fetched),
        added=totals["added"],
        changed=totals["changed"],
        unchanged=totals["unchanged"],
        conflicts=totals["conflicts"],
        verified=totals["verified"],
        unverified=totals["unverified"],
        changes=tuple(changes),
    )


def _source_report(fetched: Fetched, plan: Plan) -> SourceReport:
    counts = plan.per_source.get(fetched.spec.name, {})
    result = fetched.result
    return SourceReport(
        source=fetched.spec.name,
        status=fetched.status,
        version=None if result is None else result.version,
        records=0 if result is None else len(result.records),
        skipped=0 if result is None else result.skipped_rows,
        skipped_reasons={} if result is None else dict(result.skipped.most_common()),
        unmapped=0 if result is None else len(result.unmapped),
        added=counts.get("added", 0),
        changed=counts.get("changed", 0),
        unchanged=counts.get("unchanged", 0),
        conflicts=counts.get("conflicts", 0),
        disputed=counts.get("disputed", 0),
        error=fetched.error,
        duration_ms=fetched.duration_ms,
    )


def conflict_alert(change: PriceChange) -> dict[str, Any]:
    """Dedup key, message and details of the alert for one conflict.

    The key includes a digest of the disputed values, so the same conflict
    alerts once, and a conflict over new values alerts again.
    """
    digest = hashlib.sha256(json.dumps(change.kinds, sort_keys=True).encode()).hexdigest()[:16]
    parts = [
        f"{kind} " + " vs ".join(f"{value} ({source})" for source, value in claims.items())
        for kind, claims in change.kinds.items()
    ]
    cause = f"; likely cause: {change.cause}" if change.cause else ""
    kept = "current price kept" if change.old_price_id is not None else "model left unpriced"
    return {
        "dedup_key": f"price_conflict:{change.provider}:{change.model}:{digest}",
        "message": (
            f"price conflict for {change.provider}/{change.model}: {'; '.join(parts)}"
            f"{cause}; {kept}"
        ),
        "details": {
            "provider": change.provider,
            "model": change.model,
            "kinds": change.kinds,
            "cause": change.cause,
            "sources": list(change.sources),
            "current_price_id": change.old_price_id,
        },
    }
