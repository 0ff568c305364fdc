"""Model facts: what each source states, how entries merge, lifecycle and fit (fixtures)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from budget.domain.facts import ModelFacts
from budget.ingest.facts import genai_prices_entries, litellm_entries
from budget.pricing import facts

TODAY = date(2026, 12, 3)

#: Rows shaped like LiteLLM's model file (field names as in its ``sample_spec``).
LITELLM_DOC = {
    "sample_spec": {"litellm_provider": "one of …", "deprecation_date": "YYYY-MM-DD"},
    "chat-1": {
        "litellm_provider": "openai",
        "mode": "chat",
        "max_input_tokens": 128000,
        "max_output_tokens": 16384,
        "supports_function_calling": True,
        "supports_vision": True,
        "supports_reasoning": False,
        "supported_modalities": ["text", "image"],
        "supported_output_modalities": ["text"],
        "deprecation_date": "2027-01-14",
        "successor_model": "chat-2",
    },
    "openai/chat-1": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 1},
    "chat-2": {"litellm_provider": "openai", "mode": "responses", "max_input_tokens": 272000},
    "gone-1": {"litellm_provider": "openai", "mode": "chat", "deprecation_date": "2026-11-30"},
    "text-embed-9": {"litellm_provider": "openai", "mode": "embedding", "max_input_tokens": 8191},
    "davinci-9": {"litellm_provider": "text-completion-openai", "mode": "completion"},
    "gemini/gemini-9-pro": {"litellm_provider": "gemini", "mode": "chat"},
    "us.anthropic.claude-9-v1:0": {"litellm_provider": "bedrock", "mode": "chat"},
    "no-provider": {"mode": "chat"},
    "odd-date": {"litellm_provider": "openai", "deprecation_date": "soon"},
    "weird-mode": {"litellm_provider": "openai", "mode": "decisions"},
}


def genai(provider_id: str, *models: tuple[str, int | None, bool | None]):
    return SimpleNamespace(
        id=provider_id,
        models=[SimpleNamespace(id=m, context_window=w, deprecated=d) for m, w, d in models],
    )


GENAI = [
    genai(
        "openai",
        ("chat-1", 128000, None),
        ("chat-2", 400000, None),
        ("legacy-1", 4096, True),
        ("silent", None, None),  # states nothing: no entry
    )
]


def index():
    return facts.build_index(litellm_entries(LITELLM_DOC) + genai_prices_entries(GENAI))


def test_litellm_rows_become_entries_with_the_fields_they_state():
    entries = {e["model"]: e for e in litellm_entries(LITELLM_DOC)}
    assert "sample_spec" not in entries and "no-provider" not in entries
    assert entries["chat-1"] == {
        "source": "litellm",
        "provider": "openai",
        "model": "chat-1",
        "mode": "chat",
        "max_input_tokens": 128000,
        "max_output_tokens": 16384,
        "input_modalities": ["image", "text"],
        "output_modalities": ["text"],
        "capabilities": ["tools", "vision"],
        "retires_on": "2027-01-14",
        "successor": "chat-2",
    }
    assert entries["chat-2"]["mode"] == "chat"  # the Responses API serves chat models
    assert "retires_on" not in entries["odd-date"]
    assert entries["weird-mode"]["mode"] == "other"


def test_genai_prices_gives_the_context_window_and_the_deprecated_flag():
    entries = genai_prices_entries(GENAI)
    assert [e["model"] for e in entries] == ["chat-1", "chat-2", "legacy-1"]
    assert entries[2] == {
        "source": "genai-prices",
        "provider": "openai",
        "model": "legacy-1",
        "context_window": 4096,
        "deprecated": True,
    }


def test_entries_merge_per_model_and_say_who_stated_what():
    chat = index()[("openai", "chat-1")]
    # the provider's own id states first (not the 'openai/chat-1' row's 1 token)
    assert (chat.context_window, chat.max_input_tokens, chat.max_output_tokens) == (
        128000,
        128000,
        16384,
    )
    assert chat.capabilities == {"tools", "vision"} and chat.listed
    assert chat.sources["context_window"] == "genai-prices"
    assert chat.sources["max_input_tokens"] == "litellm"
    assert chat.sources["lifecycle"] == "litellm"
    assert chat.window == 128000


def test_ids_are_normalised_as_the_catalog_normalises_them():
    table = index()
    assert facts.lookup("gemini", "gemini-9-pro", table).mode == "chat"
    assert facts.lookup("google", "gemini/gemini-9-pro", table).provider == "google"
    # a Bedrock cross-region id falls back to the in-region one when only that is known
    assert facts.lookup("bedrock", "us.anthropic.claude-9-v1:0", table).mode == "chat"


def test_lifecycle_from_shutdown_dates_flags_and_listing():
    table = index()
    assert table[("openai", "chat-1")].lifecycle(TODAY) == "deprecated"
    assert table[("openai", "chat-1")].lifecycle(date(2027, 1, 14)) == "retired"
    assert table[("openai", "gone-1")].lifecycle(TODAY) == "retired"
    assert table[("openai", "chat-2")].lifecycle(TODAY) == "current"
    assert table[("openai", "legacy-1")].lifecycle(TODAY) == "deprecated"  # flag, no date
    unlisted = ModelFacts("openai", "x", context_window=8000)
    assert unlisted.lifecycle(TODAY) == "unknown"
    assert table[("openai", "gone-1")].to_dict(TODAY)["retires_on"] == "2026-11-30"


def test_kinds_base_and_fine_tuned_models_are_recognised():
    table = index()
    assert table[("openai", "text-embed-9")].mode == "embedding"
    davinci = table[("openai", "davinci-9")]
    assert davinci.mode == "completion" and davinci.base
    tuned = facts.lookup("openai", "ft:chat-2:acme:support:abc123", table)
    assert tuned.fine_tuned and tuned.model == "ft:chat-2:acme:support:abc123"
    assert tuned.max_input_tokens == 272000 and not tuned.listed
    assert facts.lookup("openai", "chat-2.ft-0123", table).fine_tuned
    by_name = facts.lookup("openai", "ada", table)
    assert by_name.base and by_name.lifecycle(TODAY) == "unknown"
    assert facts.lookup("acme", "llama-9-base", table).base
    assert facts.lookup("acme", "acme-embed-small", table).mode == "embedding"
    assert facts.lookup("acme", "tts-9", table).mode == "audio"
    assert facts.lookup("acme", "mystery", table) is None


def test_holding_a_request():
    f = ModelFacts("openai", "m", context_window=128000, max_input_tokens=128000,
                   max_output_tokens=16384)  # fmt: skip
    assert f.holds(100_000, 16_000) is True
    assert f.holds(120_000, 10_000) is False  # 130,000 in all
    assert f.holds(10_000, 20_000) is False  # over the output cap
    assert f.holds(5_000_000, 0) is False
    assert ModelFacts("x", "y").holds(10, 10) is None
    caps_only = ModelFacts("x", "y", max_input_tokens=272000, max_output_tokens=128000)
    assert caps_only.holds(272_000, 128_000) is True and caps_only.window == 272000


def test_the_shipped_facts_load_and_know_the_flagship_models():
    shipped = facts.shipped()
    gpt = facts.lookup("openai", "gpt-4o")
    # 128,000-token context window, 16,384 output tokens: OpenAI's GPT-4o model page
    # (platform.openai.com/docs/models/gpt-4o); checked 2026-12-03 against a stored copy
    # of a public listing of it (models.wingman.actor/models/openai/gpt-4o), the page
    # itself being out of reach offline.
    assert (gpt.window, gpt.max_output_tokens, gpt.mode) == (128_000, 16_384, "chat")
    assert len(shipped) > 1000
    assert facts.lookup("openai", "text-embedding-3-small").mode == "embedding"
    assert facts.lookup("openai", "babbage-002").base
