"""Model facts shipped with the package (``data/model_facts.json``), merged and indexed.

The file is written by ``scripts/build_model_facts.py`` from the installed
LiteLLM and genai-prices packages (:mod:`budget.ingest.facts`), so an
install without either has the facts. Loading normalises every entry's
provider and model id as the catalog does (:mod:`budget.pricing.normalize`)
and merges the entries of one (provider, model) once per process:

* LiteLLM gives the mode, the input and output caps, modalities,
  capabilities, the shutdown date and the successor; genai-prices gives the
  context window (input and output together) and its deprecated flag;
* within a source, the row with the shortest raw id (the provider's own id,
  not a gateway's or a region's) states a field first;
* a model is *listed* when LiteLLM has it (LiteLLM drops shut-down models).

Ids tell the rest: ``ft:`` ids (and ``.ft-``/``:ft-`` ones) are fine-tuned
models, given the facts of the model they were tuned from; completion-only
models other than ``instruct`` ones, ids with a ``base`` segment and OpenAI's
GPT-3 base models are *base* models; a model no source gives a mode gets one
from its name where the name says it (``embed``, ``tts``, ``realtime`` …).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any

from budget.domain.facts import ModelFacts
from budget.pricing.normalize import fallback_ids, model_key, normalize_model, normalize_provider

FACTS_FILE = "data/model_facts.json"
#: The sources the shipped facts come from, as their entries name them.
LITELLM = "litellm"
GENAI_PRICES = "genai-prices"
#: Capability name -> the LiteLLM flag that states it.
CAPABILITIES = {
    "tools": "supports_function_calling",
    "vision": "supports_vision",
    "reasoning": "supports_reasoning",
    "json_schema": "supports_response_schema",
    "prompt_caching": "supports_prompt_caching",
    "pdf": "supports_pdf_input",
    "web_search": "supports_web_search",
    "audio_input": "supports_audio_input",
    "audio_output": "supports_audio_output",
    "video_input": "supports_video_input",
    "computer_use": "supports_computer_use",
}
SOURCE_ORDER = (LITELLM, GENAI_PRICES)
#: OpenAI's GPT base models (not instruction-tuned; completions endpoint only).
OPENAI_BASE_MODELS = frozenset({"ada", "babbage", "curie", "davinci", "babbage-002", "davinci-002"})
_FINE_TUNED = re.compile(r"^ft:|[.:]ft-")
_BASE_SEGMENT = re.compile(r"(?:^|[-/.:_])base(?:$|[-/.:_])")
#: Name fragment -> mode, for models no source gives a mode.
_NAME_MODES = (
    ("embed", "embedding"),
    ("moderation", "moderation"),
    ("rerank", "rerank"),
    ("realtime", "realtime"),
    ("transcribe", "audio"),
    ("whisper", "audio"),
    ("tts", "audio"),
    ("audio", "audio"),
    ("dall-e", "image"),
    ("-image", "image"),
    ("ocr", "ocr"),
)

Key = tuple[str, str]


@cache
def shipped() -> dict[Key, ModelFacts]:
    """The facts of the shipped file, by (provider, model key); read once per process."""
    text = files("budget.pricing").joinpath(FACTS_FILE).read_text(encoding="utf-8")
    return build_index(json.loads(text)["entries"])


def build_index(entries: Iterable[Mapping[str, Any]]) -> dict[Key, ModelFacts]:
    """Merged facts of the entries, by (normalised provider, model key)."""
    grouped: dict[Key, list[Mapping[str, Any]]] = {}
    for entry in entries:
        provider = normalize_provider(entry["provider"])
        model = normalize_model(provider, entry["model"])
        grouped.setdefault((provider, model_key(model)), []).append({**entry, "id": model})
    rank = {source: i for i, source in enumerate(SOURCE_ORDER)}
    out = {}
    for (provider, key), rows in grouped.items():
        rows.sort(key=lambda r: (rank.get(r["source"], len(rank)), len(r["model"]), r["model"]))
        out[(provider, key)] = _merge(provider, rows)
    return out


def lookup(
    provider: str, model: str, index: Mapping[Key, ModelFacts] | None = None
) -> ModelFacts | None:
    """The facts of ``provider``/``model`` (normalised as the catalog does).

    A fine-tuned id without facts of its own gets the facts of its base model,
    marked fine-tuned; an id no source knows gets what its name says (None when
    it says nothing)."""
    table = shipped() if index is None else index
    vendor = normalize_provider(provider)
    name = normalize_model(vendor, model)
    for candidate in (name, *fallback_ids(vendor, name)):
        found = table.get((vendor, model_key(candidate)))
        if found is not None:
            return found
    if _FINE_TUNED.search(name):
        tuned_from = _tuned_from(name)
        base = lookup(vendor, tuned_from, table) if tuned_from else None
        if base is not None:
            return replace(base, model=name, fine_tuned=True, listed=False)
    return _from_name(vendor, name)


def _merge(provider: str, rows: list[Mapping[str, Any]]) -> ModelFacts:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    caps: set[str] = set()
    for row in rows:
        for name in (
            "mode",
            "context_window",
            "max_input_tokens",
            "max_output_tokens",
            "input_modalities",
            "output_modalities",
            "retires_on",
            "successor",
        ):
            if name not in values and row.get(name) is not None:
                values[name] = row[name]
                sources[name] = row["source"]
        if row.get("capabilities"):
            caps.update(row["capabilities"])
            sources.setdefault("capabilities", row["source"])
        if row.get("deprecated"):
            values["deprecated"] = True
            sources.setdefault("lifecycle", row["source"])
    if "retires_on" in values:
        values["retires_on"] = date.fromisoformat(values["retires_on"])
        sources["lifecycle"] = sources["retires_on"]
    for name in ("input_modalities", "output_modalities"):
        if name in values:
            values[name] = tuple(values[name])
    model = rows[0]["id"]
    listed = any(row["source"] == LITELLM for row in rows)
    if listed:
        sources.setdefault("lifecycle", LITELLM)
    return ModelFacts(
        provider=provider,
        model=model,
        capabilities=frozenset(caps),
        listed=listed,
        sources=sources,
        **{**values, **_name_rules(provider, model, values.get("mode"))},
    )


def _name_rules(provider: str, name: str, mode: str | None) -> dict[str, Any]:
    """The mode (when no source gives one), base and fine-tuned, from the id."""
    mode = mode or _mode_by_name(name)
    base = provider == "openai" and name in OPENAI_BASE_MODELS
    base = base or bool(_BASE_SEGMENT.search(name))
    base = base or (mode == "completion" and "instruct" not in name)
    return {"mode": mode, "base": base, "fine_tuned": bool(_FINE_TUNED.search(name))}


def _from_name(provider: str, name: str) -> ModelFacts | None:
    facts = ModelFacts(provider=provider, model=name, **_name_rules(provider, name, None))
    if facts.mode is None and not facts.base and not facts.fine_tuned:
        return None
    return facts


def _mode_by_name(name: str) -> str | None:
    for fragment, mode in _NAME_MODES:
        if fragment in name:
            return mode
    return None


def _tuned_from(name: str) -> str:
    """``ft:gpt-4o-mini-2024-07-18:org::id`` -> ``gpt-4o-mini-2024-07-18``;
    ``gpt-4o-mini-2024-07-18.ft-abc`` -> ``gpt-4o-mini-2024-07-18``."""
    if name.startswith("ft:"):
        return name[3:].split(":", 1)[0]
    return re.split(r"[.:]ft-", name, maxsplit=1)[0]
