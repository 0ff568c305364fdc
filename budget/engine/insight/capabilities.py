"""What a model can do (tools, vision …), for recommendation constraints.

The facts come from LiteLLM's model file inside an installed ``litellm``
wheel (read offline, litellm is never imported; ``supports_*`` flags), with
``Settings.model_capabilities`` (``{"provider/model" or "model": [names]}``)
taking precedence. A model the sources say nothing about has *unknown*
capabilities: it does not qualify when a capability is required.
"""

from __future__ import annotations

import json
from functools import cache

from budget.errors import ValidationError
from budget.pricing.normalize import model_key, normalize_model, normalize_provider
from budget.settings import Settings

#: Capability name -> LiteLLM flag.
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


def parse_capabilities(values: object) -> frozenset[str]:
    """Validated capability names (a list, or a comma-separated string)."""
    if values is None:
        return frozenset()
    items = values.split(",") if isinstance(values, str) else values
    if not isinstance(items, list | tuple | set | frozenset):
        raise ValidationError("capabilities", values, "must be a list of capability names")
    out = set()
    for item in items:
        name = item.strip().lower() if isinstance(item, str) else item
        if not name:
            continue
        if name not in CAPABILITIES:
            raise ValidationError(
                "capabilities", item, "unknown capability; use " + ", ".join(CAPABILITIES)
            )
        out.add(name)
    return frozenset(out)


def capabilities_of(settings: Settings, provider: str, model: str) -> frozenset[str] | None:
    """The model's capabilities, or None when nothing is known about it."""
    configured = settings.model_capabilities
    for key in (f"{provider}/{model}", model):
        if key in configured:
            return frozenset(c.strip().lower() for c in configured[key])
    return _index().get((normalize_provider(provider), model_key(model)))


@cache
def _index() -> dict[tuple[str, str], frozenset[str]]:
    """(provider, model key) -> capabilities, from the installed LiteLLM file (or empty)."""
    from budget.pricing.sources.base import SourceUnavailable
    from budget.pricing.sources.litellm import read_installed_file

    try:
        body, _ = read_installed_file()
        document = json.loads(body)
    except (SourceUnavailable, OSError, ValueError):
        return {}
    out: dict[tuple[str, str], frozenset[str]] = {}
    for raw_id, row in document.items():
        if not isinstance(row, dict) or not isinstance(row.get("litellm_provider"), str):
            continue
        provider = normalize_provider(row["litellm_provider"])
        found = frozenset(name for name, flag in CAPABILITIES.items() if row.get(flag) is True)
        key = (provider, model_key(normalize_model(provider, raw_id)))
        out[key] = out.get(key, frozenset()) | found
    return out
