"""The Backend interface: the operations a command runs, locally or on a server.

Both backends take the REST API's request bodies (plain dicts) and return its
response bodies (JSON-ready dicts, built with the API's own response models),
so a command formats the same data whichever way it ran. ``LocalBackend``
validates a body with the API's request model and calls BudgetService exactly
as the route does; ``RemoteBackend`` sends it with httpx and turns a
problem+json answer back into the exception the engine would have raised.

Adding an operation is one abstract method here and one short method in each
backend (``local.py``, ``remote.py``), e.g. for the price commands::

    def price_history(self, provider, model):                       # LocalBackend
        return [_dump(PriceOut.of(p)) for p in self.svc.price_history(provider, model)]

    def price_history(self, provider, model):                       # RemoteBackend
        return self._call("GET", f"/prices/{_p(provider)}/{_p(model)}/history")
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TypeVar

import pydantic

from budget.api.schemas import field_of
from budget.errors import NotFound, ValidationError

Json = Any
M = TypeVar("M", bound=pydantic.BaseModel)
USAGE_FILTERS = (
    "component",
    "project",
    "user",
    "api_key",
    "provider",
    "model",
    "context_id",
    "allocation_id",
    "task_type",
)


class Backend(ABC):
    """The operations of the REST API, as the CLI needs them."""

    #: Where the commands run, for messages: a database URL or a server URL.
    target: str

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    # --- setup ---
    @abstractmethod
    def ready(self) -> Json: ...
    @abstractmethod
    def clock(self) -> datetime:
        """The service's clock now, at worst a little behind (usage import)."""

    # --- budgets ---
    def resolve_budget(self, ref: str) -> str:
        """The id of the budget with id ``ref``, else of the live one named ``ref``."""
        try:
            return self.get_budget(ref)["budget_id"]
        except NotFound:
            pass
        found = self._budget_by_name(ref)
        if found is None:
            raise NotFound("budget", "id or name", ref)
        return found

    def _budget_by_name(self, name: str) -> str | None:
        offset = 0
        while True:
            page = self.list_budgets({"limit": 1000, "offset": offset})
            for item in page["items"]:
                if item["name"] == name:
                    return item["budget_id"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return None

    @abstractmethod
    def create_budget(self, body: Json) -> Json: ...
    @abstractmethod
    def list_budgets(self, query: Json) -> Json: ...
    @abstractmethod
    def get_budget(self, budget_id: str) -> Json: ...
    @abstractmethod
    def update_budget(self, budget_id: str, body: Json) -> Json: ...
    @abstractmethod
    def delete_budget(self, budget_id: str) -> None: ...
    @abstractmethod
    def summary(self, budget_id: str, top: int = 10, subject: list[str] | None = None) -> Json: ...

    # --- policies ---
    @abstractmethod
    def add_policy(self, budget_id: str, body: Json) -> Json: ...
    @abstractmethod
    def list_policies(self, budget_id: str | None) -> Json: ...
    @abstractmethod
    def get_policy(self, policy_id: str) -> Json: ...
    @abstractmethod
    def window_history(
        self, policy_id: str, last: int, subject: list[str] | None = None
    ) -> Json: ...
    @abstractmethod
    def update_policy(self, policy_id: str, body: Json) -> Json: ...
    @abstractmethod
    def set_policy_enabled(self, policy_id: str, enabled: bool) -> Json: ...
    @abstractmethod
    def delete_policy(self, policy_id: str) -> None: ...

    # --- allocations ---
    @abstractmethod
    def allocate(self, body: Json) -> Json: ...
    @abstractmethod
    def check(self, body: Json) -> Json: ...
    @abstractmethod
    def list_allocations(self, query: Json) -> Json: ...
    @abstractmethod
    def get_allocation(self, allocation_id: str) -> Json: ...
    @abstractmethod
    def release(self, allocation_id: str) -> Json: ...
    @abstractmethod
    def sweep(self) -> Json: ...

    # --- the ledger ---
    @abstractmethod
    def record_usage(self, body: Json) -> Json: ...
    @abstractmethod
    def record_usage_batch(self, items: list[Json]) -> list[Json]: ...
    @abstractmethod
    def list_usage(self, query: Json) -> Json: ...
    @abstractmethod
    def get_usage(self, usage_id: str) -> Json: ...
    @abstractmethod
    def usage_totals(self, query: Json) -> Json: ...
    @abstractmethod
    def void_usage(self, usage_id: str, body: Json) -> Json: ...
    @abstractmethod
    def adjust_usage(self, usage_id: str, body: Json) -> Json: ...

    # --- prices, alerts, keys ---
    @abstractmethod
    def estimate(self, body: Json) -> Json: ...
    # --- prices ---
    @abstractmethod
    def list_prices(self, query: Json) -> Json: ...
    @abstractmethod
    def current_price(self, query: Json) -> Json: ...
    @abstractmethod
    def price_history(self, query: Json) -> Json: ...
    @abstractmethod
    def price_conflicts(self) -> Json: ...
    @abstractmethod
    def price_sources(self) -> Json: ...
    @abstractmethod
    def update_prices(self, body: Json) -> Json: ...
    @abstractmethod
    def set_price_override(self, body: Json) -> Json: ...
    @abstractmethod
    def clear_price_override(self, query: Json) -> Json: ...

    # --- webhooks ---
    @abstractmethod
    def create_webhook(self, body: Json) -> Json: ...
    @abstractmethod
    def list_webhooks(self) -> Json: ...
    @abstractmethod
    def get_webhook(self, webhook_id: str) -> Json: ...
    @abstractmethod
    def update_webhook(self, webhook_id: str, body: Json) -> Json: ...
    @abstractmethod
    def set_webhook_active(self, webhook_id: str, active: bool) -> Json: ...
    @abstractmethod
    def rotate_webhook_secret(self, webhook_id: str, body: Json) -> Json: ...
    @abstractmethod
    def delete_webhook(self, webhook_id: str) -> None: ...
    @abstractmethod
    def list_deliveries(self, webhook_id: str, query: Json) -> Json: ...
    @abstractmethod
    def replay_deliveries(self, webhook_id: str, body: Json) -> Json: ...

    @abstractmethod
    def list_alerts(self, query: Json) -> Json: ...
    @abstractmethod
    def acknowledge_alert(self, alert_id: str, body: Json) -> Json: ...
    @abstractmethod
    def acknowledge_alerts(self, body: Json) -> Json:
        """Acknowledge open alerts by ids and/or filters; ``{"acknowledged": n}``."""

    @abstractmethod
    def prune(self, body: Json) -> Json:
        """Delete (or with ``dry_run`` count) rows older than ``older_than``."""

    @abstractmethod
    def create_key(self, body: Json) -> Json: ...
    @abstractmethod
    def list_keys(self) -> Json: ...
    @abstractmethod
    def revoke_key(self, key_id: str) -> Json: ...

    # --- insight: reports, forecasts, analysis, recommendations, routing ---
    @abstractmethod
    def usage_report(self, query: Json) -> Json: ...
    @abstractmethod
    def usage_report_csv(self, query: Json) -> str:
        """The same report as CSV text."""

    @abstractmethod
    def forecast(self, query: Json) -> Json: ...
    @abstractmethod
    def analyze(self, query: Json) -> Json: ...
    @abstractmethod
    def recommend(self, query: Json) -> Json: ...
    @abstractmethod
    def model_facts(self, query: Json) -> Json: ...
    @abstractmethod
    def route(self, body: Json) -> Json: ...
    @abstractmethod
    def rebuild_rollups(self, body: Json) -> Json: ...

    # --- operator: doctor and the ledger export ---
    @abstractmethod
    def doctor(self) -> Json:
        """The doctor report (GET /admin/doctor's body)."""

    @abstractmethod
    def export_usage(self, query: Json, fmt: str) -> Iterator[str]:
        """The matching ledger as ``fmt`` (csv, jsonl) text chunks, streamed."""


def parse_body(model: type[M], body: Json) -> M:
    """Validate a request body as the API does; its first error as a ValidationError."""
    try:
        return model.model_validate(body)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        raise ValidationError(
            field_of(err.get("loc", ())), err.get("input"), err.get("msg", "invalid")
        ) from None
