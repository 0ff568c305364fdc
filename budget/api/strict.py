"""The REST boundary for hostile input: strict JSON in, encodable JSON out.

Python's ``json`` reads ``NaN``, ``Infinity``, ``1e400`` (as infinity), duplicate
keys (the last wins) and lone UTF-16 surrogates; none of those is JSON a
client means, and some cannot be stored or even echoed back. Every route reads
its body through ``StrictRoute``, which refuses them with a 422 naming the
field, answers 415 to a body that is not JSON, and checks path and query
values for NUL characters. ``SafeJSONResponse`` renders any answer, even one
holding such text from an older version's rows, as valid UTF-8.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from budget.domain import limits
from budget.domain import validation as v
from budget.errors import ValidationError

MAX_DEPTH = 32
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class MalformedJSON(ValueError):
    """The body does not parse as JSON (answered 400)."""


def _no_constant(name: str) -> Any:
    raise ValidationError("body", name, "NaN and Infinity are not JSON numbers")


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValidationError("body", text, "number out of range")
    return number


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValidationError(key, value, "given twice in one object")
        out[key] = value
    return out


def parse(body: bytes) -> Any:
    """``body`` as JSON, refusing what JSON does not allow or storage cannot hold."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedJSON(f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError:
        raise ValidationError("body", "…", f"nested deeper than {MAX_DEPTH}") from None
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    _check(value, "", 0)
    return value


def _check(value: Any, path: str, depth: int) -> None:
    """Refuse lone surrogates, NUL characters and deep nesting, naming the field."""
    if depth > MAX_DEPTH:
        raise ValidationError("body", "…", f"nested deeper than {MAX_DEPTH}")
    if isinstance(value, str):
        v.storable(path or "body", value)
    elif isinstance(value, dict):
        for key, item in value.items():
            v.storable(f"{path}.{key}" if path else "body key", key)
            _check(item, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]", depth + 1)


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _check_parameters(request: Request) -> None:
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        if isinstance(value, str):
            v.storable(name, value)
            if len(value) > limits.DESCRIPTION_LENGTH:
                raise ValidationError(name, value, f"longer than {limits.DESCRIPTION_LENGTH}")


class StrictRoute(APIRoute):
    """An APIRoute whose JSON body and parameters are checked before FastAPI reads them."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None

        async def strict_handler(request: Request) -> Response:
            _check_parameters(request)
            if takes_body and request.method in _BODY_METHODS:
                body = await request.body()
                if body:
                    if not _is_json(request.headers.get("content-type")):
                        raise HTTPException(
                            415,
                            "the body must be JSON (Content-Type: application/json), not "
                            f"{request.headers.get('content-type')}",
                        )
                    try:
                        request._json = parse(body)
                    except MalformedJSON as exc:
                        raise MalformedBody(str(exc)) from None
            return await handler(request)

        return strict_handler


class MalformedBody(Exception):
    """Raised by the route; answered 400 Malformed JSON by ``problems``."""


class SafeJSONResponse(JSONResponse):
    """A JSONResponse that never fails to render: a value JSON or UTF-8 cannot
    hold is shown as the ledger's reads show it (``validation.readable``)
    rather than turning the answer into a dropped connection."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except (UnicodeEncodeError, ValueError):
            return super().render(v.readable(content))
