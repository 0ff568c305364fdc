"""RemoteBackend: the REST API of a running ``budget serve``, with httpx.

Errors come back as the exceptions the engine raises (see ``errors.py``);
a server that cannot be reached or times out is ``ServerUnavailable``.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from budget.api.app import API_PREFIX
from budget.cli.backends.base import Backend, Json
from budget.cli.backends.errors import ServerUnavailable, error_from_response
from budget.cli.backends.remote_operator import RemoteOperator
from budget.errors import ValidationError


def _p(value: str) -> str:
    """One path segment, escaped."""
    return quote(str(value), safe="")


class RemoteBackend(RemoteOperator, Backend):
    """The REST API of a running ``budget serve`` at ``url``."""

    def __init__(self, url: str, key: str | None = None, timeout: float = 30.0) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValidationError(
                "url", url, "must be an http(s) URL such as http://127.0.0.1:8013"
            )
        self.target = url.rstrip("/")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(
            base_url=self.target, headers=headers, timeout=httpx.Timeout(timeout)
        )
        self._timeout = timeout
        self._skew: timedelta | None = None

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ServerUnavailable(
                f"{self.target} did not answer within {self._timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise ServerUnavailable(f"cannot reach {self.target}: {exc}") from None
        date = response.headers.get("date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                self._skew = parsedate_to_datetime(date) - datetime.now(UTC)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def _call(self, method: str, path: str, *, json: Json = None, params: Json = None) -> Json:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        response = self._send(method, API_PREFIX + path, json=json, params=query)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ServerUnavailable(
                f"{self.target} answered {path} with something that is not JSON"
            ) from None

    def ready(self):
        body = self._send("GET", "/ready").json()
        self._call("GET", "/budgets", params={"limit": 1})  # is the key accepted?
        return body

    def clock(self):
        if self._skew is None:
            self._send("GET", "/health")
        # The Date header has whole seconds: the server's clock is at most 1 s ahead.
        return datetime.now(UTC) + (self._skew or timedelta(0))

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

    def list_alerts(self, query):
        return self._call("GET", "/alerts", params=query)

    def acknowledge_alert(self, alert_id, body):
        return self._call("POST", f"/alerts/{_p(alert_id)}/acknowledge", json=body)

    def acknowledge_alerts(self, body):
        return self._call("POST", "/alerts/acknowledge", json=body)

    def prune(self, body):
        return self._call("POST", "/admin/prune", json=body)

    def create_key(self, body):
        return self._call("POST", "/keys", json=body)

    def list_keys(self):
        return self._call("GET", "/keys")

    def revoke_key(self, key_id):
        return self._call("POST", f"/keys/{_p(key_id)}/revoke")

    def usage_report(self, query):
        return self._call("GET", "/reports/usage", params=query)

    def usage_report_csv(self, query):
        params = {k: v for k, v in query.items() if v is not None} | {"format": "csv"}
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
