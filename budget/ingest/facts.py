"""Model facts as the sources state them, one entry per source row, ids kept raw.

* LiteLLM's model file (``model_prices_and_context_window_backup.json``
  inside an installed ``litellm`` wheel, read offline): ``mode``,
  ``max_input_tokens``, ``max_output_tokens``, ``supported_modalities``,
  ``supported_output_modalities``, the ``supports_*`` flags,
  ``deprecation_date`` (the provider's announced shutdown date, with
  ``deprecation_source`` naming the provider's deprecations page) and
  ``successor_model``. LiteLLM drops a model from its file once it is shut
  down, so being listed there is the evidence that a model is still offered.
* genai-prices (installed package): ``context_window`` (input and output
  together) and the ``deprecated`` flag.

Entries keep the source's own provider and model id; :mod:`budget.pricing.facts`
normalises them when it loads them, so that the shipped file follows the
catalog's normalisation as it is at run time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from budget.pricing.facts import CAPABILITIES, GENAI_PRICES, LITELLM

SPEC_ROW = "sample_spec"

#: LiteLLM mode -> Budget's mode (see ``budget.domain.facts.MODES``).
LITELLM_MODES = {
    "chat": "chat",
    "responses": "chat",
    "completion": "completion",
    "embedding": "embedding",
    "image_generation": "image",
    "image_edit": "image",
    "audio_transcription": "audio",
    "audio_speech": "audio",
    "realtime": "realtime",
    "video_generation": "video",
    "moderation": "moderation",
    "rerank": "rerank",
    "search": "search",
    "ocr": "ocr",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def litellm_entries(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entry per row of LiteLLM's model file that names its provider."""
    out = []
    for raw_id, row in document.items():
        if raw_id == SPEC_ROW or not isinstance(row, dict):
            continue
        provider = row.get("litellm_provider")
        if not isinstance(provider, str) or not provider:
            continue
        entry: dict[str, Any] = {"source": LITELLM, "provider": provider, "model": raw_id}
        mode = row.get("mode")
        if isinstance(mode, str):
            entry["mode"] = LITELLM_MODES.get(mode, "other")
        for key in ("max_input_tokens", "max_output_tokens"):
            if _count(row.get(key)):
                entry[key] = row[key]
        for key, name in (
            ("supported_modalities", "input_modalities"),
            ("supported_output_modalities", "output_modalities"),
        ):
            values = row.get(key)
            if isinstance(values, list) and all(isinstance(v, str) for v in values):
                entry[name] = sorted({v.lower() for v in values})
        caps = sorted(name for name, flag in CAPABILITIES.items() if row.get(flag) is True)
        if caps:
            entry["capabilities"] = caps
        when = row.get("deprecation_date")
        if isinstance(when, str) and _DATE.match(when):
            entry["retires_on"] = when
        if isinstance(row.get("successor_model"), str):
            entry["successor"] = row["successor_model"]
        out.append(entry)
    return out


def genai_prices_entries(providers: Iterable[Any]) -> list[dict[str, Any]]:
    """One entry per genai-prices model that states a context window or a deprecation."""
    out = []
    for provider in providers:
        for model in provider.models:
            entry: dict[str, Any] = {
                "source": GENAI_PRICES,
                "provider": provider.id,
                "model": model.id,
            }
            if _count(model.context_window):
                entry["context_window"] = model.context_window
            if model.deprecated:
                entry["deprecated"] = True
            if len(entry) > 3:
                out.append(entry)
    return out


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
