"""A pricing web page with a table of model / input price / output price, scraped.

Configured per page in the settings (``price_sources``), with ``kind: "html"``
and ``url``, plus these options (all but ``provider`` have defaults):

* ``provider``: the provider of every row (or ``provider_column``: a regex of
  the header of a column naming it);
* ``unit``: ``"1M"``, ``"1K"`` or ``"auto"`` (default): prices per million or
  per thousand tokens; ``auto`` reads the header and cell text ("per 1K
  tokens", "/1M") and assumes per million when neither says;
* ``table``: which table (0-based) to read; by default the first one with a
  model, an input and an output column;
* ``columns``: regexes of the headers (case-insensitive): ``model`` (default
  ``model|name``), ``input`` (``input|prompt``), ``output``
  (``output|completion``), ``cached_input`` (``cache``), checked in the order
  cached input, input, output, model so "Cached input" is not read as input.

Model names become ids by lowercasing and joining words with dashes
("Claude Sonnet 4.5" -> ``claude-sonnet-4.5``). "Free" reads as 0; a cell with
no number leaves that row out (input, output) or that rate out (cached).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from typing import Any

from budget.ingest.errors import SourceError
from budget.ingest.http import HttpFetcher
from budget.ingest.source import PER_MILLION, PER_THOUSAND, PriceSource, make_rates, per_million
from budget.ingest.sources.litellm import content_version
from budget.pricing.normalize import normalize_model, normalize_provider
from budget.pricing.refresh import SourceRecord, SourceResult

KIND = "html"
DEFAULT_COLUMNS = {
    "cached_input": r"cache",
    "input": r"input|prompt",
    "output": r"output|completion",
    "model": r"model|name",
}
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?|\.\d+")
_DOLLARS = re.compile(r"\$\s*(\d[\d,]*(?:\.\d+)?|\.\d+)")
_PER_1K = re.compile(r"(?:1\s*k\b|1,?000\b|thousand)", re.IGNORECASE)
_PER_1M = re.compile(r"(?:1\s*m\b|1,?000,?000\b|million|mtok)", re.IGNORECASE)


class _Tables(HTMLParser):
    """Collects every table as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._stack: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in ("td", "th") and self._stack:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._stack:
            if not self._stack[-1]:
                self._stack[-1].append([])
            self._stack[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._stack:
            self.tables.append([row for row in self._stack.pop() if row])

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse_page(
    body: bytes | str, source: str, options: dict[str, Any], version: str | None = None
) -> SourceResult:
    """The priced rows of the configured table; SourceError when there is none."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    parser = _Tables()
    parser.feed(text)
    parser.close()
    table, columns = _pick_table(parser.tables, options, source)
    default_unit = _unit(options.get("unit", "auto"), " ".join(table[0])) or PER_MILLION
    result = SourceResult(source, version=version)
    for row in table[1:]:
        _read_row(row, columns, default_unit, options, result)
    return result


def _pick_table(
    tables: list[list[list[str]]], options: dict[str, Any], source: str
) -> tuple[list[list[str]], dict[str, int]]:
    patterns = {**DEFAULT_COLUMNS, **options.get("columns", {})}
    if options.get("provider_column"):
        patterns["provider"] = options["provider_column"]
    wanted = options.get("table")
    candidates = [tables[wanted]] if isinstance(wanted, int) and wanted < len(tables) else tables
    for table in candidates:
        if table:
            columns = _columns(table[0], patterns)
            if {"model", "input", "output"} <= columns.keys():
                return table, columns
    raise SourceError(f"{source}: malformed document: no table with model, input and output")


def _columns(header: list[str], patterns: dict[str, str]) -> dict[str, int]:
    """Header index per column role; each header cell serves one role."""
    found: dict[str, int] = {}
    for role, pattern in patterns.items():
        regex = re.compile(pattern, re.IGNORECASE)
        for index, cell in enumerate(header):
            if index not in found.values() and regex.search(cell):
                found[role] = index
                break
    return found


def _unit(setting: str, text: str) -> Decimal | None:
    """Tokens per quoted price: configured, else read from ``text``, else None."""
    setting = str(setting).strip().upper()
    if setting == "1K":
        return PER_THOUSAND
    if setting == "1M":
        return PER_MILLION
    per_1k, per_1m = _PER_1K.search(text), _PER_1M.search(text)
    if per_1k and not per_1m:
        return PER_THOUSAND
    if per_1m and not per_1k:
        return PER_MILLION
    return None


def _read_row(
    row: list[str],
    columns: dict[str, int],
    unit: Decimal,
    options: dict[str, Any],
    out: SourceResult,
) -> None:
    cells = {role: row[i] if i < len(row) else "" for role, i in columns.items()}
    name = cells["model"]
    if not name:
        out.skip("no model name", row)
        return
    provider_name = cells.get("provider") or options.get("provider")
    if not provider_name:
        out.unmappable(name)
        return
    amounts = {k: _amount(cells.get(k, "")) for k in ("input", "output", "cached_input")}
    if amounts["input"] is None or amounts["output"] is None:
        out.skip("missing price", name)
        return
    scale = _unit(options.get("unit", "auto"), f"{cells['input']} {cells['output']}") or unit
    provider = normalize_provider(provider_name)
    model_id = "-".join(name.lower().split())
    out.records.append(
        SourceRecord(
            provider=provider,
            model=normalize_model(provider, model_id),
            raw_id=name,
            rates=make_rates(
                {k: None if v is None else per_million(v, scale) for k, v in amounts.items()}
            ),
            name=name,
        )
    )


def _amount(text: str) -> Decimal | None:
    """The first number of a cell (``"$2.50 / 1M"`` -> 2.50); "free" is 0."""
    if text.strip().lower() == "free":
        return Decimal(0)
    match = _DOLLARS.search(text) or _NUMBER.search(text)
    if match is None:
        return None
    try:
        return Decimal(match.group(match.lastindex or 0).replace(",", ""))
    except InvalidOperation:
        return None


class HtmlTableSource(PriceSource):
    """One configured pricing page."""

    def fetch(self, http: HttpFetcher, now: datetime) -> SourceResult:
        if not self.spec.url:
            raise SourceError(f"{self.name}: an html source needs a url")
        document = http.get(self.spec.url)
        result = parse_page(
            document.body, self.name, self.spec.options, content_version(document.body)
        )
        result.not_modified = document.not_modified
        return result
