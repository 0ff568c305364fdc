"""Shaping service results as the REST API's JSON bodies (for the local backend)."""

from __future__ import annotations

from typing import Any

import pydantic

Json = Any


def dump(model: pydantic.BaseModel) -> Json:
    """A response model as its JSON body."""
    return model.model_dump(mode="json")


def page(items: Any, out: Any, query: Json) -> Json:
    """A listing as the API's page: items (through ``out.of``), total, limit, offset."""
    return {
        "items": [dump(out.of(x)) for x in items],
        "total": items.total,
        "limit": query.get("limit", 100),
        "offset": query.get("offset", 0),
    }


def pick(query: Json, *names: str) -> Json:
    """The named entries of ``query`` that are set."""
    return {k: query.get(k) for k in names if query.get(k) is not None}
