"""Client: every command's one way to Budget, the REST API's requests and bodies.

The same client runs over two transports (``budget.cli.transport``): the
network, for ``--url``, or the FastAPI app of ``budget serve`` built in this
process on the local database. Either way a command sends the API's request
body and gets its response body back, so local and remote output are the
same by construction; an error answer comes back as the exception the engine
raises (``budget.cli.errors``).

Adding an operation is one method here, e.g.::

    def price_history(self, query):
        return self._call("GET", "/prices/history", params=query)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from budget.cli.errors import ServerUnavailable, error_from_response, require_sendable
from budget.errors import NotFound
from budget.remote.wire import API_PREFIX

Json = Any


def _p(value: str) -> str:
    """One path segment, escaped."""
    return quote(str(value), safe="")


def _set(query: Json) -> Json:
    return {k: v for k, v in (query or {}).items() if v is not None}


class Client:
    """The REST API's operations, as the commands need them, over ``http``.

    ``target`` names where they run in messages (a server URL, or the local
    database URL with its password masked), ``timeout`` the seconds a server
    is given to answer (for messages; ``http`` applies it); ``on_close`` releases what the
    transport holds (the local service); ``skew`` is how far the service's
    clock is ahead of this one, when known (None: learnt from a Date header).
    """

    def __init__(
        self,
        http: httpx.Client,
        target: str,
        timeout: float | None = None,
        on_close: Callable[[], None] | None = None,
        skew: timedelta | None = None,
    ) -> None:
        self._http = http
        self.target = target
        self._timeout = timeout
        self._on_close = on_close
        self._skew = skew

    def close(self) -> None:
        """Release the connections (and the local service)."""
        self._http.close()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    # --- sending ---------------------------------------------------------------

    def _unavailable(self, exc: httpx.HTTPError) -> ServerUnavailable:
        if isinstance(exc, httpx.TimeoutException):
            within = f" within {self._timeout:g} s" if self._timeout else " in time"
            return ServerUnavailable(f"{self.target} did not answer{within}")
        return ServerUnavailable(f"cannot reach {self.target}: {exc}")

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        require_sendable(**kwargs)
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._unavailable(exc) from None
        date = response.headers.get("date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                self._skew = parsedate_to_datetime(date) - datetime.now(UTC)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def _call(self, method: str, path: str, *, json: Json = None, params: Json = None) -> Json:
        response = self._send(method, API_PREFIX + path, json=json, params=_set(params))
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ServerUnavailable(
                f"{self.target} answered {path} with something that is not JSON"
            ) from None

    # --- setup -----------------------------------------------------------------

    def ready(self) -> Json:
        body = self._send("GET", "/ready").json()
        self._call("GET", "/budgets", params={"limit": 1})  # is the key accepted?
        return body

    def clock(self) -> datetime:
        """The service's clock now, at worst a little behind (usage import)."""
        if self._skew is None:
            self._send("GET", "/health")
        # The Date header has whole seconds: the server's clock is at most 1 s ahead.
        return datetime.now(UTC) + (self._skew or timedelta(0))

    # --- budgets ---------------------------------------------------------------

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

    def create_budget(self, body):
        return self._call("POST", "/budgets", json=body)

    def list_budgets(self, query):
        return self._call("GET", "/budgets", params=query)

    def get_budget(self, budget_id):
        return self._call("GET", f"/budgets/{_p(budget_id)}")

    def update_budget(self, budget_id, body):
        return self._call("PATCH", f"/budgets/{_p(budget_id)}", json=body)

    def delete_budget(self, budget_id):
        self._call("DELETE", f"/budgets/{_p(budget_id)}")

    def summary(self, budget_id, top=10, subject=None):
        params = {"top": top, "subject": subject or []}
        return self._call("GET", f"/budgets/{_p(budget_id)}/summary", params=params)

    # --- policies --------------------------------------------------------------

    def add_policy(self, budget_id, body):
        return self._call("POST", f"/budgets/{_p(budget_id)}/policies", json=body)

    def list_policies(self, budget_id):
        if budget_id is None:
            return self._call("GET", "/policies")
        return self._call("GET", f"/budgets/{_p(budget_id)}/policies")

    def get_policy(self, policy_id):
        return self._call("GET", f"/policies/{_p(policy_id)}")

    def window_history(self, policy_id, last, subject=None):
        params = {"last": last, "subject": subject or []}
        return self._call("GET", f"/policies/{_p(policy_id)}/history", params=params)

    def update_policy(self, policy_id, body):
        return self._call("PATCH", f"/policies/{_p(policy_id)}", json=body)

    def set_policy_enabled(self, policy_id, enabled):
        action = "enable" if enabled else "disable"
        return self._call("POST", f"/policies/{_p(policy_id)}/{action}")

    def delete_policy(self, policy_id):
        self._call("DELETE", f"/policies/{_p(policy_id)}")

    # --- allocations -----------------------------------------------------------

    def allocate(self, body):
        return self._call("POST", "/allocations", json=body)

    def check(self, body):
        return self._call("POST", "/check", json=body)

    def list_allocations(self, query):
        return self._call("GET", "/allocations", params=query)

    def get_allocation(self, allocation_id):
        return self._call("GET", f"/allocations/{_p(allocation_id)}")

    def release(self, allocation_id):
        return self._call("POST", f"/allocations/{_p(allocation_id)}/release")

    def sweep(self):
        return self._call("POST", "/allocations/sweep")

    # --- the ledger ------------------------------------------------------------

    def record_usage(self, body):
        return self._call("POST", "/usage", json=body)

    def record_usage_batch(self, items):
        return self._call("POST", "/usage/batch", json={"items": items})

    def list_usage(self, query):
        return self._call("GET", "/usage", params=query)

    def get_usage(self, usage_id):
        return self._call("GET", f"/usage/{_p(usage_id)}")

    def usage_totals(self, query):
        return self._call("GET", "/usage/totals", params=query)

    def void_usage(self, usage_id, body):
        return self._call("POST", f"/usage/{_p(usage_id)}/void", json=body)

    def adjust_usage(self, usage_id, body):
        return self._call("POST", f"/usage/{_p(usage_id)}/adjust", json=body)

    def export_usage(self, query: Json, fmt: str) -> Iterator[str]:
        """GET /usage/export as ``fmt`` (csv, jsonl) text chunks, streamed; the
        request is sent (and an error answer raised) before the first chunk."""
        params = _set(query) | {"format": fmt}
        require_sendable(params=params)
        request = self._http.build_request("GET", API_PREFIX + "/usage/export", params=params)
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._unavailable(exc) from None
        if response.status_code >= 400:
            response.read()
            response.close()
            raise error_from_response(response)
        return self._chunks(response)

    def _chunks(self, response: httpx.Response) -> Iterator[str]:
        try:
            yield from response.iter_text()
        except httpx.HTTPError as exc:
            raise ServerUnavailable(f"{self.target} broke off the export: {exc}") from None
        finally:
            response.close()

    # --- prices ----------------------------------------------------------------

    def estimate(self, body):
        return self._call("POST", "/estimate", json=body)

    def list_prices(self, query):
        return self._call("GET", "/prices", params=query)

    def current_price(self, query):
        return self._call("GET", "/prices/current", params=query)

    def price_history(self, query):
        return self._call("GET", "/prices/history", params=query)

    def price_conflicts(self):
        return self._call("GET", "/prices/conflicts")

    def price_sources(self):
        return self._call("GET", "/prices/sources")

    def update_prices(self, body):
        return self._call("POST", "/prices/update", json=body)

    def set_price_override(self, body):
        return self._call("PUT", "/prices/override", json=body)

    def clear_price_override(self, query):
        return self._call("DELETE", "/prices/override", params=query)

    # --- webhooks --------------------------------------------------------------

    def create_webhook(self, body):
        return self._call("POST", "/webhooks", json=body)

    def list_webhooks(self):
        return self._call("GET", "/webhooks")

    def get_webhook(self, webhook_id):
        return self._call("GET", f"/webhooks/{_p(webhook_id)}")

    def update_webhook(self, webhook_id, body):
        return self._call("PATCH", f"/webhooks/{_p(webhook_id)}", json=body)

    def set_webhook_active(self, webhook_id, active):
        action = "resume" if active else "pause"
        return self._call("POST", f"/webhooks/{_p(webhook_id)}/{action}")

    def rotate_webhook_secret(self, webhook_id, body):
        return self._call("POST", f"/webhooks/{_p(webhook_id)}/rotate-secret", json=body)

    def delete_webhook(self, webhook_id):
        self._call("DELETE", f"/webhooks/{_p(webhook_id)}")

    def list_deliveries(self, webhook_id, query):
        return self._call("GET", f"/webhooks/{_p(webhook_id)}/deliveries", params=query)

    def replay_deliveries(self, webhook_id, body):
        return self._call("POST", f"/webhooks/{_p(webhook_id)}/replay", json=body)

    # --- alerts, retention, keys ------------------------------------------------

    def list_alerts(self, query):
        return self._call("GET", "/alerts", params=query)

    def acknowledge_alert(self, alert_id, body):
        return self._call("POST", f"/alerts/{_p(alert_id)}/acknowledge", json=body)

    def acknowledge_alerts(self, body):
        """Acknowledge open alerts by ids and/or filters; ``{"acknowledged": n}``."""
        return self._call("POST", "/alerts/acknowledge", json=body)

    def prune(self, body):
        """Delete (or with ``dry_run`` count) rows older than ``older_than``."""
        return self._call("POST", "/admin/prune", json=body)

    def doctor(self):
        """The server's doctor report (GET /admin/doctor's body)."""
        return self._call("GET", "/admin/doctor")

    def create_key(self, body):
        return self._call("POST", "/keys", json=body)

    def list_keys(self):
        return self._call("GET", "/keys")

    def revoke_key(self, key_id):
        return self._call("POST", f"/keys/{_p(key_id)}/revoke")

    # --- insight: reports, forecasts, analysis, recommendations, routing ----------

    def usage_report(self, query):
        return self._call("GET", "/reports/usage", params=query)

    def usage_report_csv(self, query) -> str:
        """The same report as CSV text."""
        params = _set(query) | {"format": "csv"}
        return self._send("GET", API_PREFIX + "/reports/usage", params=params).text

    def forecast(self, query):
        return self._call("GET", "/forecast", params=query)

    def analyze(self, query):
        return self._call("GET", "/analysis", params=query)

    def recommend(self, query):
        return self._call("GET", "/recommendations", params=query)

    def model_facts(self, query):
        return self._call("GET", "/models/facts", params=query)

    def route(self, body):
        return self._call("POST", "/route", json=body)

    def rebuild_rollups(self, body):
        return self._call("POST", "/rollups/rebuild", json=body)
