"""The price catalog shipped inside the package (``data/default_prices.json``).

Built by ``scripts/build_default_catalog.py`` from genai-prices; read through
``importlib.resources`` so it works from an installed wheel, offline.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from budget.domain.prices import Price
from budget.pricing.serialize import price_from_dict

DATA_PACKAGE = "budget.pricing"
DATA_FILE = "data/default_prices.json"


@cache
def _document() -> dict[str, Any]:
    """The parsed JSON file (read once per process)."""
    text = files(DATA_PACKAGE).joinpath(DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _prices() -> tuple[Price, ...]:
    return tuple(price_from_dict(record) for record in _document()["prices"])


def load_default_prices() -> list[Price]:
    """Every shipped price row, in catalog order (a new list on each call)."""
    return list(_prices())


@cache
def default_catalog_version() -> str:
    """The shipped catalog's version: ``<source_version>+<generated_at>``."""
    doc = _document()
    return f"{doc['source_version']}+{doc['generated_at']}"


def default_catalog_header() -> dict[str, Any]:
    """The file's header (everything but the prices), e.g. what was left out."""
    return {k: v for k, v in _document().items() if k != "prices"}
