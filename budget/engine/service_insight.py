"""InsightOperations: reports, forecasts, analysis, recommendations and routing,
mixed into BudgetService (methods call :mod:`budget.engine.insight`).

These method names and their arguments are a contract: the REST API, the CLI
and the MCP server call them, and every result has ``to_dict()`` (JSON-ready,
money as decimal strings). docs/insight.md says how each one works.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from budget.engine import metrics_snapshot as snapshots
from budget.engine import model_facts as facts
from budget.engine import routing
from budget.engine.context import EngineContext
from budget.engine.insight import analysis, forecast, rebuild, recommend, reports


class InsightOperations:
    """Where the money goes and how to spend less."""

    _ctx: EngineContext
    _metrics_cache: snapshots.SnapshotCache | None = None

    def usage_report(
        self,
        *,
        since: datetime | str,
        until: datetime | str,
        group_by: list[str],
        bucket: str | None = None,
        timezone: str = "UTC",
        budget_id: str | None = None,
        top: int | None = None,
        corrections: str = "include",
        **filters: Any,
    ) -> reports.Report:
        """Spend and tokens over [since, until) grouped by any of budget, policy,
        component, project, user, api_key, provider, model, tier, task_type, tag;
        bucketed by hour, day, week or month in ``timezone``; ``top`` keeps the
        N biggest groups (the rest summed in ``others``). Filters: the same
        attributes (equal to), ``tag`` / ``tags`` (all of them). Read from the
        rollups; unpriced usage is counted apart (``unpriced_*``) and listed.
        ``corrections``: ``include`` (the ledger as it stands), ``exclude`` (as
        originally recorded) or ``only`` (the voids and adjustments alone)."""
        return reports.usage_report(
            self._ctx,
            since=since,
            until=until,
            group_by=group_by,
            bucket=bucket,
            timezone=timezone,
            budget_id=budget_id,
            top=top,
            corrections=corrections,
            **filters,
        )

    def forecast(self, budget_id: str | None = None) -> list[forecast.Forecast]:
        """Spend so far, burn rate and projected total of every current calendar
        window (of one budget or all), most urgent first; raises a
        ``forecast_exceeds`` alert (once per window) when a projection passes a
        limit that is not reached yet."""
        return forecast.forecast(self._ctx, budget_id)

    def analyze_usage(
        self, *, since: datetime | str, until: datetime | str, by: str = "model", **options: Any
    ) -> list[analysis.Finding]:
        """Trend (rising, flat, falling) and spikes of each ``by`` group's spend,
        with the numbers behind each finding; option ``timezone``."""
        return analysis.analyze_usage(self._ctx, since=since, until=until, by=by, **options)

    def recommend_models(
        self,
        *,
        model: str,
        provider: str | None = None,
        task_type: str | None = None,
        min_context_window: int | None = None,
        same_provider: bool = False,
        capabilities: list[str] | None = None,
        max_tier: str | None = None,
        budget_id: str | None = None,
        limit: int = 5,
        include: list[str] | None = None,
    ) -> list[recommend.Recommendation]:
        """Cheaper models that qualify for ``model``, nearest first, each with the
        saving on your own recent token mix and the reasons it qualifies. Only
        current models of the same kind that hold the average request, unless
        ``include`` names deprecated, retired, unknown, base or fine_tuned."""
        return recommend.recommend_models(
            self._ctx,
            model=model,
            provider=provider,
            task_type=task_type,
            min_context_window=min_context_window,
            same_provider=same_provider,
            capabilities=capabilities,
            max_tier=max_tier,
            budget_id=budget_id,
            limit=limit,
            include=include,
        )

    def route_request(
        self,
        *,
        preferred_model: str,
        provider: str | None = None,
        task_type: str | None = None,
        input_tokens: int = 0,
        max_output_tokens: int = 0,
        **attributes: Any,
    ) -> routing.RouteDecision:
        """Which model to use now: the preferred one if the budget allows, else
        the best qualifying cheaper one that fits, else the configured local
        model, else a denial saying when the budget returns. Attributes: the
        caller's scope (component, project, user, api_key, tier, tags, …,
        priority) and constraints (same_provider, capabilities,
        min_context_window, max_tier, include). Reserves nothing."""
        return routing.route_request(
            self._ctx,
            preferred_model=preferred_model,
            provider=provider,
            task_type=task_type,
            input_tokens=input_tokens,
            max_output_tokens=max_output_tokens,
            **attributes,
        )

    def model_facts(self, provider: str, model: str) -> dict[str, Any]:
        """What the sources state about a model, JSON-ready: mode, context window,
        input and output caps, modalities, capabilities, lifecycle as of today
        (current, deprecated with its shutdown date, retired, unknown), whether
        it is a base or fine-tuned model, and which source said each thing."""
        return facts.model_facts(self._ctx, provider, model)

    def rebuild_rollups(self, *, check_only: bool = False) -> rebuild.RebuildReport:
        """Recompute the rollups from the ledger, day by day, and report whether the
        stored ones agreed; repairs the days that differ unless ``check_only``."""
        return rebuild.rebuild_rollups(self._ctx, check_only=check_only)

    def metrics_snapshot(self) -> snapshots.MetricsSnapshot:
        """Spend and tokens by model, live windows' fill, denials, the webhook
        queue, the outbox and price sources, as ``/metrics`` serves them; read
        from the database at most every ``metrics_cache_seconds`` (docs/metrics.md)."""
        cache = self._metrics_cache
        if cache is None:
            with _CACHE_LOCK:
                cache = self._metrics_cache
                if cache is None:
                    cache = self._metrics_cache = snapshots.SnapshotCache(
                        lambda: snapshots.take_snapshot(self._ctx),
                        self._ctx.settings.metrics_cache_seconds,
                    )
        return cache.get()


_CACHE_LOCK = threading.Lock()
