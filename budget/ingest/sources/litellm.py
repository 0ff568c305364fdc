"""LiteLLM's ``model_prices_and_context_window.json``: from the network, and offline
from the file inside an installed ``litellm`` wheel.

The file maps an id (``gpt-4o``, ``gemini/gemini-2.5-pro``,
``bedrock/us-east-1/anthropic.claude-...``) to USD per *token* as floats:
``input_cost_per_token``, ``output_cost_per_token``,
``cache_read_input_token_cost``, ``cache_creation_input_token_cost``,
``output_cost_per_reasoning_token``, ``cache_creation_input_token_cost_above_1hr``
(a 1-hour cache write), tiers as ``<key>_above_<N>k_tokens``, the provider as
``litellm_provider`` and the kind of model as ``mode``. Floats are read
through ``str`` into Decimals and multiplied by a million. Rows of modes that
are not billed per token (images, audio, video, rerank...) are skipped.

Service tiers are the same keys with a suffix, ``_batches``, ``_flex`` or
``_priority`` (``input_cost_per_token_batches``,
``input_cost_per_token_above_272k_tokens_priority``). A tier is kept when it
states an input rate and, unless the row is an embedding, an output rate; it
holds exactly the kinds LiteLLM states for it (a kind it leaves out is billed
at the tier's own input or output rate, as in the standard rates).

The offline source finds the file through ``importlib.metadata`` and never
imports litellm (a large package); option ``path`` may name the JSON file or a
downloaded ``.whl`` instead.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from budget.domain.prices import ServiceTierRates, steps_alike
from budget.ingest.errors import SourceError, SourceUnavailable
from budget.ingest.http import HttpFetcher
from budget.ingest.source import Amount, PriceSource, make_rates, per_million, to_decimal
from budget.pricing.normalize import normalize_model, normalize_provider
from budget.pricing.refresh import SourceRecord, SourceResult

KIND = "litellm"
OFFLINE_KIND = "litellm_offline"
URL = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
DISTRIBUTION = "litellm"
WHEEL_FILE = "litellm/model_prices_and_context_window_backup.json"
BILLED_MODES = frozenset({"chat", "completion", "responses", "embedding"})
SPEC_ROW = "sample_spec"

#: LiteLLM key -> PriceRates field.
RATE_KEYS = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cached_input",
    "cache_creation_input_token_cost": "cache_write",
    "output_cost_per_reasoning_token": "reasoning",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
}
_TIER_KEY = re.compile(r"^(?P<key>[a-z_0-9]+?)_above_(?P<k>\d+)k_tokens$")
#: LiteLLM's service-tier suffix -> Budget's service tier.
SERVICE_TIERS = {"batches": "batch", "flex": "flex", "priority": "priority"}
_SERVICE_TIER_KEY = re.compile(
    r"^(?P<key>[a-z_0-9]+?)(?:_above_(?P<k>\d+)k_tokens)?_(?P<tier>batches|flex|priority)$"
)


class LiteLLMRow(BaseModel):
    """One entry of the file; unknown keys are kept for the tier keys."""

    model_config = ConfigDict(extra="allow")

    litellm_provider: str | None = None
    mode: str | None = None
    input_cost_per_token: Amount | None = None
    output_cost_per_token: Amount | None = None
    cache_read_input_token_cost: Amount | None = None
    cache_creation_input_token_cost: Amount | None = None
    output_cost_per_reasoning_token: Amount | None = None
    cache_creation_input_token_cost_above_1hr: Amount | None = None
    max_input_tokens: int | None = None


def parse_document(body: bytes | str, source: str, version: str | None) -> SourceResult:
    """Every usable row of a LiteLLM price file; raises SourceError if it is not one."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{source}: malformed document: {exc}") from None
    if not isinstance(document, dict):
        raise SourceError(f"{source}: malformed document: expected an object of models")
    result = SourceResult(source, version=version)
    for raw_id, entry in document.items():
        _read_row(raw_id, entry, result)
    return result


def _read_row(raw_id: str, entry: Any, out: SourceResult) -> None:
    if raw_id == SPEC_ROW:
        return
    if not isinstance(entry, dict):
        out.skip("not an object", raw_id)
        return
    try:
        row = LiteLLMRow.model_validate(entry)
    except ValidationError:
        out.skip("invalid row", raw_id)
        return
    if row.mode is not None and row.mode not in BILLED_MODES:
        out.skip(f"mode {row.mode} not billed per token", raw_id)
        return
    if not row.litellm_provider:
        out.unmappable(raw_id)
        return
    kinds = {field: getattr(row, key) for key, field in RATE_KEYS.items()}
    if row.mode == "embedding":
        kinds["output"] = None  # embeddings have no output tokens
    if kinds["input"] is None:
        out.skip("no input price", raw_id)
        return
    if any(v is not None and v < 0 for v in kinds.values()):
        out.skip("negative price", raw_id)
        return
    provider = normalize_provider(row.litellm_provider)
    extra = row.model_extra or {}
    rates = make_rates(
        {k: None if v is None else per_million(v, 1) for k, v in kinds.items()}, _tiers(extra)
    )
    tiers = service_tiers(extra, embedding=row.mode == "embedding")
    out.records.append(
        SourceRecord(
            provider=provider,
            model=normalize_model(provider, raw_id),
            raw_id=raw_id,
            rates=rates,
            context_window=row.max_input_tokens,
            service_tiers=tuple(t for t in tiers if steps_alike(rates, t.rates)),
        )
    )


def _tiers(extra: dict[str, Any]) -> dict[str, list[tuple[int, Any]]]:
    """``<key>_above_<N>k_tokens`` entries as ``{kind: [(N*1000, rate), ...]}``."""
    tiers: dict[str, list[tuple[int, Any]]] = {}
    for name, value in extra.items():
        match = _TIER_KEY.match(name)
        if not match or match["key"] not in RATE_KEYS:
            continue
        rate = to_decimal(value)
        if isinstance(rate, Decimal) and rate >= 0:
            kind = RATE_KEYS[match["key"]]
            tiers.setdefault(kind, []).append((int(match["k"]) * 1000, per_million(rate, 1)))
    return tiers


def service_tiers(extra: dict[str, Any], embedding: bool = False) -> tuple[ServiceTierRates, ...]:
    """The batch, flex and priority rates an entry's extra keys state, in that
    order; a tier without an input rate (or output rate, but for embeddings)
    is left out."""
    found: dict[str, dict[str, Decimal]] = {}
    steps: dict[str, dict[str, list[tuple[int, Decimal]]]] = {}
    for name, value in extra.items():
        match = _SERVICE_TIER_KEY.match(name)
        rate = to_decimal(value)
        if not match or match["key"] not in RATE_KEYS or not isinstance(rate, Decimal):
            continue
        if rate < 0:
            continue
        tier, kind = SERVICE_TIERS[match["tier"]], RATE_KEYS[match["key"]]
        if match["k"] is None:
            found.setdefault(tier, {})[kind] = per_million(rate, 1)
        else:
            start = int(match["k"]) * 1000
            steps.setdefault(tier, {}).setdefault(kind, []).append((start, per_million(rate, 1)))
    out = []
    for tier in SERVICE_TIERS.values():
        kinds = dict(found.get(tier, {}))
        if embedding:
            kinds.pop("output", None)
        if "input" not in kinds or ("output" not in kinds and not embedding):
            continue
        out.append(ServiceTierRates(tier=tier, rates=make_rates(kinds, steps.get(tier))))
    return tuple(out)


def content_version(body: bytes) -> str:
    """A short, stable version of a document without one of its own."""
    return "sha256:" + hashlib.sha256(body).hexdigest()[:12]


class LiteLLMSource(PriceSource):
    """LiteLLM's file from its public raw URL (or ``url`` from the settings)."""

    def fetch(self, http: HttpFetcher, now: datetime) -> SourceResult:
        document = http.get(self.spec.url or URL)
        result = parse_document(document.body, self.name, content_version(document.body))
        result.not_modified = document.not_modified
        return result


class LiteLLMOfflineSource(PriceSource):
    """The copy of LiteLLM's file inside the installed ``litellm`` distribution."""

    def fetch(self, http: HttpFetcher, now: datetime) -> SourceResult:
        path = self.spec.options.get("path")
        if path:
            body, version = read_configured_file(Path(path))
        else:
            body, version = read_installed_file()
        return parse_document(body, self.name, version)


def read_installed_file() -> tuple[bytes, str]:
    """The price file of the installed litellm, found without importing it."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise SourceUnavailable(
            "litellm is not installed (pip install 'budget[litellm]', or set the "
            "source's option 'path' to the JSON file or a litellm wheel)"
        ) from None
    for file in dist.files or ():
        if str(file).replace("\\", "/") == WHEEL_FILE:
            located = Path(str(dist.locate_file(file)))
            if located.is_file():
                return located.read_bytes(), f"litellm {dist.version}"
    raise SourceUnavailable(f"litellm {dist.version} is installed without {WHEEL_FILE}")


def read_configured_file(path: Path) -> tuple[bytes, str]:
    """The price file at ``path``: the JSON itself, or read out of a ``.whl``."""
    if not path.is_file():
        raise SourceUnavailable(f"no LiteLLM price file at {path}")
    if path.suffix != ".whl":
        body = path.read_bytes()
        return body, content_version(body)
    try:
        with zipfile.ZipFile(path) as wheel:
            body = wheel.read(WHEEL_FILE)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise SourceUnavailable(f"{path}: not a litellm wheel with {WHEEL_FILE}: {exc}") from None
    return body, f"{path.name}"
