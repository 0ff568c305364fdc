"""LocalBackend: BudgetService on a database, answering as the REST API would.

Each method validates the body with the API's request model and calls the
service exactly as its route does, then converts the result with the API's
response model, so ``--json`` prints the same body locally and remotely.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

import budget
from budget.api.schemas import (
    BudgetIn,
    BudgetOut,
    BudgetPatch,
    PastWindowOut,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
    SummaryOut,
)
from budget.api.schemas_ledger import (
    AcknowledgeIn,
    AdjustIn,
    AlertOut,
    AllocationIn,
    AllocationOut,
    CheckIn,
    CheckOut,
    KeyIn,
    KeyOut,
    NewKeyOut,
    UsageBatchIn,
    UsageIn,
    UsageOut,
    UsageTotalsOut,
    VoidIn,
)
from budget.api.schemas_prices import (
    EstimateIn,
    EstimateOut,
    OverrideIn,
    PriceConflictOut,
    PriceOut,
    PriceSourceOut,
    UpdateIn,
    UpdateReportOut,
)
from budget.cli.backends.base import USAGE_FILTERS, Backend, Json, parse_body
from budget.cli.backends.local_operator import LocalOperator
from budget.cli.backends.local_retention import LocalRetention
from budget.cli.backends.local_webhooks import LocalWebhooks
from budget.cli.backends.shaping import dump as _dump
from budget.cli.backends.shaping import page as _page
from budget.cli.backends.shaping import pick as _query
from budget.domain import redact
from budget.engine.service import Listing
from budget.errors import BudgetError, NotFound, StorageError, ValidationError


def _key(key: Any) -> Json:
    return _dump(KeyOut(**dataclasses.asdict(key)))


def open_service(url: str | None, **settings: Any) -> budget.BudgetService:
    """budget.open, with a database that cannot be opened as a Budget error."""
    try:
        return budget.open(url, **settings)
    except BudgetError:
        raise
    except (ArgumentError, NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ValidationError("database_url", url, f"not a usable database URL ({exc})") from None
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(f"cannot open the database: {short_error(exc)}") from None


def require_existing_sqlite(url: str | None) -> None:
    """Refuse a SQLite file that does not exist (a command that only reads must
    not leave an empty database behind a typo)."""
    from sqlalchemy.engine import make_url

    from budget.settings import Settings

    target = make_url(url or Settings().database_url)
    path = target.database
    if not target.drivername.startswith("sqlite") or not path or path == ":memory:":
        return
    if path.startswith("file:"):
        return
    if not os.path.exists(path):
        raise NotFound("database", "path", path).explain(
            "`budget init` creates it, or give --database-url / BUDGET_DATABASE_URL"
        )


def short_error(exc: BaseException) -> str:
    """The first line of a driver's message, without SQLAlchemy's background link."""
    text = str(getattr(exc, "orig", None) or exc)
    return text.split("(Background on this error")[0].strip().splitlines()[0]


class LocalBackend(LocalOperator, LocalRetention, LocalWebhooks, Backend):
    """BudgetService on a database URL (default: the embedded SQLite file)."""

    def __init__(self, database_url: str | None = None, *, must_exist: bool = False) -> None:
        self._url = database_url
        self._must_exist = must_exist
        self._svc: budget.BudgetService | None = None

    @property
    def svc(self) -> budget.BudgetService:
        if self._svc is None:
            if self._must_exist:
                require_existing_sqlite(self._url)
            self._svc = open_service(self._url)
        return self._svc

    @property
    def target(self) -> str:  # type: ignore[override]
        return redact.url(self.svc.settings.database_url)

    def close(self) -> None:
        if self._svc is not None:
            self._svc.close()
            self._svc = None

    def ready(self):
        self.svc.ping()
        return {"status": "ready"}

    def clock(self):
        from budget.domain.clock import utcnow

        return utcnow()

    def create_budget(self, body):
        return _dump(
            BudgetOut.of(self.svc.create_budget(**parse_body(BudgetIn, body).model_dump()))
        )

    def list_budgets(self, query):
        items = self.svc.list_budgets(**_query(query, "owner", "active", "limit", "offset"))
        return _page(items, BudgetOut, query)

    def get_budget(self, budget_id):
        return _dump(BudgetOut.of(self.svc.get_budget(budget_id)))

    def update_budget(self, budget_id, body):
        changes = parse_body(BudgetPatch, body).model_dump(exclude_unset=True)
        return _dump(BudgetOut.of(self.svc.update_budget(budget_id, **changes)))

    def delete_budget(self, budget_id):
        self.svc.delete_budget(budget_id)

    def summary(self, budget_id, top=10, subject=None):
        return _dump(SummaryOut.of(self.svc.summary(budget_id, top, subject or None)))

    def add_policy(self, budget_id, body):
        fields = parse_body(PolicyIn, body).model_dump(exclude_unset=True)
        return _dump(PolicyOut.of(self.svc.add_policy(budget_id, **fields)))

    def list_policies(self, budget_id):
        return [_dump(PolicyOut.of(p)) for p in self.svc.list_policies(budget_id)]

    def get_policy(self, policy_id):
        return _dump(PolicyOut.of(self.svc.get_policy(policy_id)))

    def window_history(self, policy_id, last, subject=None):
        history = self.svc.window_history(policy_id, last, subject or None)
        return [_dump(PastWindowOut.of(w)) for w in history]

    def update_policy(self, policy_id, body):
        changes = parse_body(PolicyPatch, body).model_dump(exclude_unset=True)
        return _dump(PolicyOut.of(self.svc.update_policy(policy_id, **changes)))

    def set_policy_enabled(self, policy_id, enabled):
        change = self.svc.enable_policy if enabled else self.svc.disable_policy
        return _dump(PolicyOut.of(change(policy_id)))

    def delete_policy(self, policy_id):
        self.svc.delete_policy(policy_id)

    def allocate(self, body):
        request = parse_body(AllocationIn, body).model_dump(exclude_none=True)
        return _dump(AllocationOut.of(self.svc.allocate(**request)))

    def check(self, body):
        request = parse_body(CheckIn, body).model_dump(exclude_none=True)
        return _dump(CheckOut.of(self.svc.check(**request)))

    def list_allocations(self, query):
        items = self.svc.list_allocations(
            **_query(query, "context_id", "status", "limit", "offset")
        )
        return _page(items, AllocationOut, query)

    def get_allocation(self, allocation_id):
        return _dump(AllocationOut.of(self.svc.get_allocation(allocation_id)))

    def release(self, allocation_id):
        return _dump(AllocationOut.of(self.svc.release(allocation_id)))

    def sweep(self):
        return {"expired": self.svc.sweep_expired()}

    def record_usage(self, body):
        usage = parse_body(UsageIn, body).model_dump(exclude_none=True)
        return _dump(UsageOut.of(self.svc.record_usage(**usage)))

    def record_usage_batch(self, items):
        batch = parse_body(UsageBatchIn, {"items": items})
        records = self.svc.record_usage_batch(
            [x.model_dump(exclude_none=True) for x in batch.items]
        )
        return [_dump(UsageOut.of(u)) for u in records]

    def list_usage(self, query):
        names = ("since", "until", "budget_id", "priced", "limit", "offset", *USAGE_FILTERS)
        names += ("kind", "corrects_id")
        return _page(self.svc.list_usage(**_query(query, *names)), UsageOut, query)

    def get_usage(self, usage_id):
        return _dump(UsageOut.of(self.svc.get_usage(usage_id)))

    def usage_totals(self, query):
        totals = self.svc.usage_totals(
            **_query(query, "since", "until", "budget_id", *USAGE_FILTERS)
        )
        return _dump(UsageTotalsOut(**{**totals, "cost": format(totals["cost"], "f")}))

    def void_usage(self, usage_id, body):
        fields = parse_body(VoidIn, body).model_dump(exclude_none=True)
        return _dump(UsageOut.of(self.svc.void_usage(usage_id, **fields)))

    def adjust_usage(self, usage_id, body):
        fields = parse_body(AdjustIn, body).model_dump(exclude_none=True)
        return _dump(UsageOut.of(self.svc.adjust_usage(usage_id, **fields)))

    def estimate(self, body):
        request = parse_body(EstimateIn, body).model_dump(exclude_none=True)
        return _dump(EstimateOut.of(self.svc.estimate_cost(**request)))

    def list_prices(self, query):
        names = (
            "provider",
            "model",
            "search",
            "source",
            "verification",
            "overrides",
            "at",
            "include_history",
        )
        filters = _query(query, *names)
        items = self.svc.list_prices(**filters, **_query(query, "limit", "offset"))
        return _page(Listing(items, self.svc.count_prices(**filters)), PriceOut, query)

    def current_price(self, query):
        price = self.svc.get_price(query["provider"], query["model"], at=query.get("at"))
        return _dump(PriceOut.of(price))

    def price_history(self, query):
        history = self.svc.price_history(query["provider"], query["model"])
        return [_dump(PriceOut.of(p)) for p in history]

    def price_conflicts(self):
        return [_dump(PriceConflictOut.of(c)) for c in self.svc.price_conflicts()]

    def price_sources(self):
        return [_dump(PriceSourceOut.of(s)) for s in self.svc.list_price_sources()]

    def update_prices(self, body):
        source = parse_body(UpdateIn, body).source
        return _dump(UpdateReportOut.of(self.svc.update_prices(source)))

    def set_price_override(self, body):
        override = parse_body(OverrideIn, body)
        fields = override.model_dump(exclude={"provider", "model"}, exclude_none=True)
        price = self.svc.set_price_override(override.provider, override.model, **fields)
        return _dump(PriceOut.of(price))

    def clear_price_override(self, query):
        return _dump(PriceOut.of(self.svc.clear_price_override(query["provider"], query["model"])))

    def list_alerts(self, query):
        names = ("budget_id", "kind", "acknowledged", "since", "limit", "offset")
        return _page(self.svc.list_alerts(**_query(query, *names)), AlertOut, query)

    def acknowledge_alert(self, alert_id, body):
        by = parse_body(AcknowledgeIn, body).by
        return _dump(AlertOut.of(self.svc.acknowledge_alert(alert_id, by)))

    def create_key(self, body):
        request = parse_body(KeyIn, body)
        key, secret = self.svc.create_api_key(**request.model_dump(exclude_none=True))
        return _dump(NewKeyOut(**_key(key), secret=secret))

    def list_keys(self):
        return [_key(k) for k in self.svc.list_api_keys()]

    def revoke_key(self, key_id):
        return _key(self.svc.revoke_api_key(key_id))

    def usage_report(self, query):
        from budget.api.schemas_insight import ReportOut

        return _dump(ReportOut.of(self._report(query)))

    def usage_report_csv(self, query):
        return self._report(query).to_csv()

    def _report(self, query):
        from budget.engine.insight.rollups import ATTRIBUTES

        names = ("since", "until", "bucket", "timezone", "budget_id", "top", "corrections")
        filters = {k: v for k, v in query.items() if k in ATTRIBUTES and v is not None}
        if query.get("tag"):
            filters["tags"] = query["tag"]
        return self.svc.usage_report(
            group_by=query.get("group_by") or [], **_query(query, *names), **filters
        )

    def forecast(self, query):
        from budget.api.schemas_insight import ForecastOut

        return [_dump(ForecastOut.of(f)) for f in self.svc.forecast(query.get("budget_id"))]

    def analyze(self, query):
        from budget.api.schemas_insight import FindingOut

        found = self.svc.analyze_usage(**_query(query, "since", "until", "by", "timezone"))
        return [_dump(FindingOut.of(f)) for f in found]

    def recommend(self, query):
        from budget.api.schemas_insight import RecommendationOut

        names = ("model", "provider", "task_type", "min_context_window", "same_provider")
        found = self.svc.recommend_models(
            **_query(query, *names, "max_tier", "budget_id", "limit"),
            capabilities=query.get("capability"),
            include=query.get("include"),
        )
        return [_dump(RecommendationOut.of(x)) for x in found]

    def model_facts(self, query):
        from budget.api.schemas_insight import ModelFactsOut

        facts = self.svc.model_facts(query["provider"], query["model"])
        return _dump(ModelFactsOut.model_validate(facts))

    def route(self, body):
        from budget.api.schemas_insight import RouteIn, RouteOut, route_arguments

        request = route_arguments(parse_body(RouteIn, body))
        return _dump(RouteOut.of(self.svc.route_request(**request)))

    def rebuild_rollups(self, body):
        from budget.api.schemas_insight import RebuildIn, RebuildOut

        check_only = parse_body(RebuildIn, body).check_only
        return _dump(RebuildOut.of(self.svc.rebuild_rollups(check_only=check_only)))
