"""The remote backend's ``doctor`` and ``export_usage`` (kept apart from remote.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx

from budget.api.app import API_PREFIX
from budget.cli.backends.base import Json
from budget.cli.backends.errors import ServerUnavailable, error_from_response


class RemoteOperator:
    """Mixed into RemoteBackend: its ``_call``, ``_http``, ``target`` and ``_timeout``."""

    _http: httpx.Client
    target: str
    _timeout: float
    _call: Callable[..., Any]

    def doctor(self) -> Json:
        return self._call("GET", "/admin/doctor")

    def export_usage(self, query: Json, fmt: str) -> Iterator[str]:
        """GET /usage/export, streamed: text chunks as the server sends them.
        The request is sent (and an error answer raised) before the first chunk."""
        params = {k: v for k, v in query.items() if v is not None} | {"format": fmt}
        request = self._http.build_request("GET", API_PREFIX + "/usage/export", params=params)
        try:
            response = self._http.send(request, stream=True)
        except httpx.TimeoutException:
            raise ServerUnavailable(
                f"{self.target} did not answer within {self._timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise ServerUnavailable(f"cannot reach {self.target}: {exc}") from None
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
