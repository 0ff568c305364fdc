"""Use cases of the price catalog: refresh from the sources (now, or on a
schedule), the registry of sources and its run records, listing prices and a
model's history, conflicts, and manual overrides.

A refresh fetches every chosen source outside any transaction (each behind its
timeout; a failing source only records its error, and the prices it gave
before stay), then verifies and writes everything in one transaction under
the price writers' lock, raises an alert per new conflict, stores the run
record and bumps the prices version, so every process reloads its catalog.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from datetime import datetime, timedelta
from typing import Any

from budget.clock import utcnow
from budget.domain import validation as v
from budget.domain.enums import AlertKind, Severity
from budget.domain.prices import Price
from budget.engine.alerts import raise_alert
from budget.engine.context import PRICES, EngineContext, bump_version
from budget.errors import NotFound, ValidationError
from budget.events import emit as events
from budget.ingest.collect import collect
from budget.ingest.http import HttpFetcher
from budget.ingest.plan import Context, plan
from budget.ingest.registry import build_sources, source_specs
from budget.ingest.runner import build_report, conflict_alert, fetch_all
from budget.ingest.scheduler import RefreshScheduler
from budget.ingest.verify import Tolerance
from budget.pricing.normalize import model_key, normalize_provider
from budget.pricing.overrides import price_model_override
from budget.pricing.refresh import Fetched, Insert, SourceSpec
from budget.pricing.refresh_report import (
    CHANGED,
    CONFLICT,
    OVERRIDE_CLEARED,
    OVERRIDE_SET,
    PriceConflict,
    PriceSourceStatus,
    UpdateReport,
)
from budget.storage.price_history import MANUAL, OVERRIDE
from budget.storage.unit import Unit

STATUSES = ("verified", "unverified", "corrected", CONFLICT, OVERRIDE)


class PriceRuntime:
    """Per-engine state of the price sources: configuration, HTTP, scheduler
    (built by :class:`budget.engine.runtime.Runtime`)."""

    def __init__(self, ctx: EngineContext) -> None:
        settings = ctx.settings
        self.specs = source_specs(settings.price_sources, network=settings.price_network)
        self.http = HttpFetcher(
            timeout=settings.price_http_timeout_seconds,
            retries=settings.price_http_retries,
            backoff=settings.price_http_backoff_seconds,
        )
        self.tolerance = Tolerance(
            settings.price_tolerance_relative, settings.price_tolerance_absolute
        )
        self.scheduler: RefreshScheduler | None = None
        self.run_lock = threading.Lock()


def runtime(ctx: EngineContext) -> PriceRuntime:
    """The price runtime of an engine: the one its runtime built (``ctx.prices``)."""
    return ctx.prices


# --- refresh ------------------------------------------------------------------


def update_prices(
    ctx: EngineContext, source: str | None = None, *, trigger: str = "manual"
) -> UpdateReport:
    """Run every active source now (or only ``source``, active or not)."""
    rt = runtime(ctx)
    if source is None:
        specs = [s for s in rt.specs if s.active]
    else:
        specs = [s for s in rt.specs if s.name == source]
        if not specs:
            raise NotFound("price source", "source", source)
    return _run(ctx, rt, specs, trigger)


def run_due(ctx: EngineContext) -> None:
    """Run the active sources whose next run is due (one process claims each)."""
    rt = runtime(ctx)
    now = utcnow()
    due = []
    with ctx.db.write() as tx:
        for spec in rt.specs:
            next_run = now + timedelta(seconds=spec.refresh_interval_seconds)
            if not spec.active:
                tx.price_runs.save_source(spec, now)
            elif tx.price_runs.claim_due(spec, now, next_run):
                due.append(spec)
    if due:
        _run(ctx, rt, due, "scheduled")


def start_scheduler(ctx: EngineContext) -> RefreshScheduler:
    """Start (once) the thread that runs each source at its interval."""
    rt = runtime(ctx)
    if rt.scheduler is None or not rt.scheduler.running:
        engine = weakref.ref(ctx)  # the thread must not keep a dropped engine alive

        def tick() -> None:
            alive = engine()
            if alive is None:
                scheduler.stop()
            else:
                run_due(alive)

        interval = ctx.settings.price_refresh_tick_seconds
        scheduler = RefreshScheduler(tick, interval=interval)
        rt.scheduler = scheduler
        scheduler.start()
    return rt.scheduler


def stop_scheduler(ctx: EngineContext) -> None:
    """Stop the refresh thread, if one runs."""
    rt = runtime(ctx)
    if rt.scheduler is not None:
        rt.scheduler.stop()
        rt.scheduler = None


def _run(
    ctx: EngineContext, rt: PriceRuntime, specs: list[SourceSpec], trigger: str
) -> UpdateReport:
    with rt.run_lock:
        started = utcnow()
        fetched = fetch_all(build_sources(specs), rt.http, started)
        with ctx.db.write() as tx:
            return _apply(ctx, rt, tx, fetched, started, trigger)


def _apply(
    ctx: EngineContext,
    rt: PriceRuntime,
    tx: Unit,
    fetched: list[Fetched],
    started: datetime,
    trigger: str,
) -> UpdateReport:
    tx.prices.lock()
    ctx.refresh(tx)
    now = utcnow()
    delivered = [(f.spec, f.result) for f in fetched if f.result is not None]
    groups = collect(delivered, ctx.catalog, now, ctx.settings.price_ceiling_per_million)
    context = Context(
        now=now,
        tolerance=rt.tolerance,
        specs={s.name: s for s in rt.specs},
        reported_lineages=frozenset(spec.lineage for spec, _ in delivered),
        versions={spec.name: result.version for spec, result in delivered},
        add_new=ctx.settings.price_add_new_models,
    )
    the_plan = plan(groups, tx.prices.in_effect(now), context)
    changes = tx.prices.apply_plan(the_plan, now)
    for change in changes:
        if change.action == CONFLICT:
            alert = conflict_alert(change)
            if raise_alert(
                tx, kind=AlertKind.PRICE_CONFLICT, severity=Severity.WARNING, now=now, **alert
            ):
                events.price_conflict(tx, alert["details"], now)
        elif change.action == CHANGED:
            events.price_changed(tx, change, now)
    report = build_report(
        update_id=tx.price_runs.new_update_id(),
        trigger=trigger,
        started_at=started,
        finished_at=utcnow(),
        fetched=fetched,
        plan=the_plan,
        changes=changes,
    )
    tx.price_runs.record(report)
    for item in fetched:
        tx.price_runs.save_run_state(item, now)
    if the_plan.writes:
        bump_version(tx, PRICES)
    return report


# --- sources and run records ------------------------------------------------------


def list_sources(ctx: EngineContext) -> list[PriceSourceStatus]:
    """Every configured source, with when it last ran, how, and when it runs next."""
    specs = runtime(ctx).specs
    with ctx.db.read() as tx:
        return tx.price_runs.statuses(specs)


def list_updates(ctx: EngineContext, *, limit: int = 20, offset: int = 0) -> list[UpdateReport]:
    """Refresh runs and override changes, newest first (without their changes)."""
    limit, offset = v.page(limit, offset)
    with ctx.db.read() as tx:
        return tx.price_runs.page(limit=limit, offset=offset)


def get_update(ctx: EngineContext, update_id: str) -> UpdateReport:
    """One run record with every change it made."""
    with ctx.db.read() as tx:
        report = tx.price_runs.get(update_id)
    if report is None:
        raise NotFound("price update", "update_id", update_id)
    return report


def list_conflicts(ctx: EngineContext) -> list[PriceConflict]:
    """Models whose sources disagreed at their last check and still do."""
    now = utcnow()
    with ctx.db.read() as tx:
        found = tx.price_runs.latest_conflicts()
        current = tx.prices.in_effect(now)
    out = []
    for detected_at, update_id, change in found:
        stored = current.get((normalize_provider(change.provider), model_key(change.model)))
        if stored is not None and stored.price.verification != CONFLICT:
            continue
        out.append(
            PriceConflict(
                provider=change.provider,
                model=change.model,
                kinds=change.kinds,
                cause=change.cause,
                sources=change.sources,
                detected_at=detected_at,
                update_id=update_id,
                current_price_id=None if stored is None else stored.price.price_id,
            )
        )
    return out


# --- overrides ----------------------------------------------------------------


def set_override(
    ctx: EngineContext,
    provider: str,
    model: str,
    *,
    note: str | None = None,
    **rates: Any,
) -> Price:
    """A manual price for a model; it wins over every source and no refresh touches it."""
    provider_id, model_id = _model_args(provider, model)
    price_rates, service_tiers = price_model_override(rates, ctx.settings.price_ceiling_per_million)
    note = v.text("note", note, max_len=500)

    with ctx.db.write() as tx:
        tx.prices.lock()
        ctx.refresh(tx)
        now = utcnow()
        found = ctx.catalog.lookup(provider_id, model_id, now)
        same = found is not None and model_key(found.model) == model_key(model_id)
        base = found if same else None
        held = tx.prices.active_override(provider_id, base.model if base else model_id, now)
        old_id = None if held is None else held.price_id
        if old_id is not None:
            tx.prices.end_date([old_id], now)
        price = Price(
            provider=provider_id,
            model=base.model if base else model_id,
            rates=price_rates,
            service_tiers=service_tiers,
            source=MANUAL,
            verification=OVERRIDE,
            is_override=True,
            effective_from=now,
            match=base.match if base else (),
            name=base.name if base else None,
            context_window=base.context_window if base else None,
            extra={"note": note} if note else {},
        )
        [price_id] = tx.prices.insert_rows([Insert(price, None)], now)
        tx.price_runs.record_override(price, OVERRIDE_SET, old_id, price_id, now)
        events.price_override(tx, price, OVERRIDE_SET, old_id, price_id, now)
        bump_version(tx, PRICES)
    return dataclasses.replace(price, price_id=price_id)


def clear_override(ctx: EngineContext, provider: str, model: str) -> Price:
    """End a model's override now; sources' prices apply again. Returns the ended row."""
    provider_id, model_id = _model_args(provider, model)
    with ctx.db.write() as tx:
        tx.prices.lock()
        ctx.refresh(tx)
        now = utcnow()
        base = ctx.catalog.lookup(provider_id, model_id, now)
        held = None
        for candidate in dict.fromkeys((model_id, base.model if base else model_id)):
            held = held or tx.prices.active_override(provider_id, candidate, now)
        if held is None:
            raise NotFound("price override", "model", model)
        tx.prices.end_date([held.price_id], now)
        ended = dataclasses.replace(held, effective_to=now)
        tx.price_runs.record_override(ended, OVERRIDE_CLEARED, held.price_id, None, now)
        events.price_override(tx, ended, OVERRIDE_CLEARED, held.price_id, None, now)
        bump_version(tx, PRICES)
        return ended


def _model_args(provider: Any, model: Any) -> tuple[str, str]:
    provider_text = v.text("provider", provider, required=True, max_len=100)
    model_text = v.text("model", model, required=True, max_len=200)
    return normalize_provider(provider_text or ""), (model_text or "").lower()


# --- prices ---------------------------------------------------------------------


def list_prices(
    ctx: EngineContext,
    *,
    provider: str | None = None,
    model: str | None = None,
    search: str | None = None,
    source: str | None = None,
    verification: str | None = None,
    overrides: bool | None = None,
    at: Any = None,
    include_history: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Price], int]:
    """Prices in effect (at ``at``, default now; every row with
    ``include_history``) that pass the filters, and how many there are."""
    limit, offset = v.page(limit, offset, max_limit=10_000)
    if verification is not None and verification not in STATUSES:
        raise ValidationError("verification", verification, f"must be one of {', '.join(STATUSES)}")
    when = None if include_history else (v.instant("at", at) or utcnow())
    found = _catalog(ctx).select(
        provider=v.text("provider", provider, max_len=100),
        model=v.text("model", model, max_len=200),
        search=v.text("search", search, max_len=200),
        source=v.text("source", source, max_len=100),
        verification=verification,
        override=overrides,
        at=when,
    )
    return found[offset : offset + limit], len(found)


def get_price(ctx: EngineContext, provider: str, model: str, at: Any = None) -> Price:
    """The price a call to ``model`` would be costed with (now, or at ``at``)."""
    provider_id, model_id = _model_args(provider, model)
    found = _catalog(ctx).resolve(provider_id, model_id, v.instant("at", at) or utcnow())
    if found.price is None:
        raise NotFound("price", "model", model, hint=found.hint())
    return found.price


def price_history(ctx: EngineContext, provider: str, model: str) -> list[Price]:
    """Every row of a model, oldest first: end-dated ones, the current one,
    overrides; a model matched by another's rules shows that model's history, and
    one priced by a declared fallback platform that platform's rows."""
    provider_id, model_id = _model_args(provider, model)
    found = _catalog(ctx).resolve(provider_id, model_id, utcnow())
    price = found.price
    owner = price.provider if price is not None and found.rule == "fallback" else provider_id
    ids = {model_id} | ({price.model} if price is not None else set())
    with ctx.db.read() as tx:
        rows = tx.prices.model_rows(owner, ids)
    if not rows:
        raise NotFound("price", "model", model, hint=None if price else found.hint())
    return rows


def _catalog(ctx: EngineContext):
    with ctx.db.read() as tx:
        ctx.refresh(tx)
    return ctx.catalog
