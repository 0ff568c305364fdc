"""RemoteService: the library's methods over the REST API of ``budget serve``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from budget.domain.models import (
    Budget,
    UsageRecord,
)
from budget.engine.spend import Spend
from budget.remote import calls, operator
from budget.remote.errors import error_from_response, transport_error
from budget.remote.methods import RemoteMethods
from budget.remote.wire import API_PREFIX, Call, RetryPolicy, base_url, http_options, result

DEFAULT_TIMEOUT = 10.0


class RemoteService(RemoteMethods):
    """The methods of :class:`budget.BudgetService` a program calls, over REST.

    Build one with :func:`budget.connect`. Results are the library's own
    objects (``Allocation``, ``UsageRecord``, ``BudgetSummary``…) and errors
    its own exceptions (``BudgetExceeded`` with its denials on a 429), so code
    written against :func:`budget.open` runs unchanged. One pooled HTTP client
    serves every thread: share one instance. See docs/remote.md for the rules
    on retries.
    """

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        max_connections: int = 100,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = base_url(url)
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(
            **http_options(self.url, key, timeout, max_connections, transport)
        )

    def _run(self, call: Call) -> Any:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(
                    call.method, call.url_path, json=call.json, params=call.params
                )
            except httpx.HTTPError as exc:
                pause = self.retry.after_error(call, attempt, exc)
                if pause is None:
                    raise transport_error(call.method, self.url + call.url_path, exc) from None
                time.sleep(pause)
                continue
            pause = self.retry.after_response(call, attempt, response)
            if pause is None:
                return result(call, response)
            time.sleep(pause)

    def find_budget(self, name: str) -> Budget:
        """A live budget by name."""
        offset = 0
        while True:
            listing = self._run(calls.list_budgets(None, None, calls.FIND_PAGE, offset))
            found = calls.pick_budget(name, listing, offset)
            if found is not None:
                return found
            offset += len(listing)

    def list_budgets(
        self,
        *,
        owner: str | None = None,
        active: bool | None = None,
        budget_ids: list[str] | tuple[str, ...] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Budget]:
        """Live budgets by name (a client key's own when it is bound to some)."""
        if budget_ids is None:
            return self._run(calls.list_budgets(owner, active, limit, offset))
        every = self._run(calls.list_budgets(owner, active, calls.FIND_PAGE, 0))
        return calls.only_budgets(every, budget_ids, limit, offset)

    def export_usage(
        self,
        *,
        since: Any = None,
        until: Any = None,
        budget_id: str | None = None,
        priced: bool | None = None,
        **filters: Any,
    ) -> Iterator[UsageRecord]:
        """Every matching ledger entry, oldest first, streamed from
        ``GET /usage/export`` as :meth:`BudgetService.export_usage`; the request
        is sent (and a refusal raised) before the first record is read."""
        params = operator.export_params(since, until, budget_id, priced, dict(filters))
        path = API_PREFIX + operator.EXPORT_PATH
        try:
            response = self._http.send(
                self._http.build_request("GET", path, params=params), stream=True
            )
        except httpx.HTTPError as exc:
            raise transport_error("GET", self.url + path, exc) from None
        if response.status_code >= 400:
            response.read()
            response.close()
            raise error_from_response(response)
        return _records(response)

    @contextmanager
    def spend(self, *, context_id: str, **request: Any) -> Iterator[Spend]:
        """Allocate on entry; record what the block reports and release on exit,
        in one request (``POST /usage`` with ``release``), as
        :meth:`BudgetService.spend`."""
        allocation = self.allocate(context_id=context_id, **request)
        call = Spend(self, allocation, request.get("input_tokens"))  # type: ignore[arg-type]
        try:
            yield call
        finally:
            call.close()

    # --- lifetime -------------------------------------------------------------------

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> RemoteService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        from budget.domain import redact

        return f"RemoteService({redact.url(self.url)!r})"


def _records(response: httpx.Response) -> Iterator[UsageRecord]:
    try:
        yield from operator.usage_lines(response.iter_lines())
    except httpx.HTTPError as exc:
        raise transport_error("GET", str(response.request.url), exc) from None
    finally:
        response.close()


def connect(
    url: str,
    key: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    retry: RetryPolicy | None = None,
    **options: Any,
) -> RemoteService:
    """A client of the Budget server at ``url`` (``http://127.0.0.1:8013``) with
    the library's methods, results and exceptions; ``key`` is an API key
    (sent as ``Authorization: Bearer``). ``timeout`` is in seconds per request;
    ``retry`` a :class:`budget.remote.RetryPolicy`."""
    return RemoteService(url, key, timeout=timeout, retry=retry, **options)
