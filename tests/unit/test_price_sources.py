"""Every price-source adapter against its recorded fixture; HTTP fetching; the registry."""

from __future__ import annotations

import importlib.metadata
import json
import zipfile
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest

from budget.domain.prices import Rate, TierRate
from budget.errors import ValidationError
from budget.ingest.errors import SourceError, SourceUnavailable
from budget.ingest.http import HttpFetcher
from budget.ingest.registry import build_sources, source_specs
from budget.ingest.runner import ERROR, UNAVAILABLE, fetch_one
from budget.ingest.sources import genai_prices, html_table, litellm, llm_prices, openrouter
from budget.pricing.refresh import SourceResult, SourceSpec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "prices"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def by_id(result: SourceResult) -> dict:
    return {record.raw_id: record for record in result.records}


# --- LiteLLM ------------------------------------------------------------------


def test_litellm_rows_become_usd_per_million_decimals() -> None:
    result = litellm.parse_document(fixture("litellm.json"), "litellm", "v1")
    rows = by_id(result)
    gpt = rows["gpt-4o"]
    assert (gpt.provider, gpt.model) == ("openai", "gpt-4o")
    assert gpt.rates.input == Rate(D("2.5")) and gpt.rates.output == Rate(D(10))
    assert gpt.rates.cached_input == Rate(D("1.25"))
    assert gpt.context_window == 128000
    assert isinstance(gpt.rates.input.base, D)
    assert rows["gpt-7-nova"].rates.reasoning == Rate(D(16))
    assert rows["text-embedding-3-small"].rates.output is None  # embeddings have no output


def test_litellm_tiers_and_ids() -> None:
    rows = by_id(litellm.parse_document(fixture("litellm.json"), "litellm", None))
    sonnet = rows["claude-sonnet-4-5"]
    assert sonnet.rates.input == Rate(D(3), (TierRate(200_000, D(6)),))
    assert sonnet.rates.output == Rate(D(15), (TierRate(200_000, D("22.5")),))
    assert sonnet.rates.cache_write == Rate(D("3.75"), (TierRate(200_000, D("7.5")),))
    gemini = rows["gemini/gemini-2.5-pro"]
    assert (gemini.provider, gemini.model) == ("google", "gemini-2.5-pro")
    assert gemini.rates.input.tiers == (TierRate(200_000, D("2.5")),)  # "_priority" ignored
    bedrock = rows["bedrock/us-east-1/anthropic.claude-3-haiku-20240307-v1:0"]
    assert (bedrock.provider, bedrock.model) == (
        "aws",
        "us-east-1/anthropic.claude-3-haiku-20240307-v1:0",
    )
    assert (rows["azure/gpt-4o"].provider, rows["azure/gpt-4o"].model) == ("azure", "gpt-4o")
    assert rows["mistral/mistral-large-latest"].rates.input == Rate(D("0.002"))  # 1000x off


def test_litellm_bad_rows_are_skipped_and_counted() -> None:
    result = litellm.parse_document(fixture("litellm.json"), "litellm", None)
    assert result.skipped == {
        "mode image_generation not billed per token": 1,
        "no input price": 1,
        "invalid row": 1,
        "negative price": 1,
        "unmapped id": 1,
        "not an object": 1,
    }
    assert result.unmapped == ["who-sells-this"]
    assert "sample_spec" not in by_id(result)
    assert result.examples["invalid row"] == ["gpt-4o-bad-number"]


def test_a_malformed_litellm_document_fails_the_source() -> None:
    with pytest.raises(SourceError, match="malformed document"):
        litellm.parse_document(fixture("litellm_malformed.json"), "litellm", None)
    with pytest.raises(SourceError, match="malformed document"):
        litellm.parse_document(b"[1, 2]", "litellm", None)


def test_litellm_offline_reads_a_configured_file_or_wheel(tmp_path: Path) -> None:
    json_path = tmp_path / "prices.json"
    json_path.write_bytes(fixture("litellm.json"))
    wheel = tmp_path / "litellm-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(litellm.WHEEL_FILE, fixture("litellm.json"))
    for path in (json_path, wheel):
        spec = SourceSpec("offline", litellm.OFFLINE_KIND, "litellm", D("0.8"), 3600)
        spec = SourceSpec(**{**spec.__dict__, "options": {"path": str(path)}})
        result = litellm.LiteLLMOfflineSource(spec).fetch(HttpFetcher(), NOW)
        assert "gpt-4o" in by_id(result)
    missing = SourceSpec("o", litellm.OFFLINE_KIND, "litellm", D(1), 3600, options={"path": "/no"})
    with pytest.raises(SourceUnavailable, match="no LiteLLM price file"):
        litellm.LiteLLMOfflineSource(missing).fetch(HttpFetcher(), NOW)


def test_litellm_offline_reports_not_installed_cleanly(monkeypatch) -> None:
    def absent(name: str):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(litellm.importlib.metadata, "distribution", absent)
    spec = SourceSpec("litellm-offline", litellm.OFFLINE_KIND, "litellm", D("0.8"), 3600)
    outcome = fetch_one(litellm.LiteLLMOfflineSource(spec), HttpFetcher(), NOW)
    assert outcome.status == UNAVAILABLE
    assert "litellm is not installed" in (outcome.error or "")


# --- genai-prices ---------------------------------------------------------------


def test_genai_prices_offline_from_the_installed_package() -> None:
    pytest.importorskip("genai_prices")
    spec = SourceSpec("genai-prices", genai_prices.KIND, "genai-prices", D("0.9"), 3600)
    result = genai_prices.GenaiPricesSource(spec).fetch(HttpFetcher(), NOW)
    assert result.version and result.version.startswith("genai-prices ")
    rows = {(r.provider, r.model): r for r in result.records}
    gpt = rows[("openai", "gpt-4o")]
    assert gpt.rates.input == Rate(D("2.5")) and gpt.match  # match rules come along
    routed = rows[("openrouter", "openai/gpt-4o")]  # OpenRouter's own price; the author kept
    assert routed.raw_id == "openrouter/openai/gpt-4o"
    claude = [r for r in result.records if r.raw_id.startswith("google/claude")]
    assert claude and {r.provider for r in claude} == {"vertex_ai"}  # Claude is Vertex's
    assert result.skipped["no token prices"] > 0


def test_genai_prices_missing_is_unavailable(monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_genai(name, *args, **kwargs):
        if name.startswith("genai_prices"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_genai)
    with pytest.raises(SourceUnavailable, match="genai-prices is not installed"):
        genai_prices.load_providers()


# --- llm-prices.com -------------------------------------------------------------


def test_llm_prices_current_feed() -> None:
    result = llm_prices.parse_document(fixture("llm_prices_current.json"), "llm-prices", NOW)
    assert result.version == "2026-11-20"
    rows = by_id(result)
    sonnet = rows["anthropic/claude-sonnet-4.5"]
    assert (sonnet.provider, sonnet.model) == ("anthropic", "claude-sonnet-4.5")
    assert sonnet.rates.cached_input == Rate(D("0.3"))
    assert rows["xai/grok-4"].provider == "x-ai"
    assert result.skipped == {
        "not a standard price (aliases.json)": 1,
        "invalid row": 3,
    }


def test_llm_prices_historical_feed_keeps_the_rows_in_effect() -> None:
    result = llm_prices.parse_document(fixture("llm_prices_historical.json"), "hist", NOW)
    gpt = [r for r in result.records if r.model == "gpt-4o"]
    assert len(gpt) == 1 and gpt[0].rates.input == Rate(D("2.5"))
    assert gpt[0].effective_from == datetime(2024, 10, 1, tzinfo=UTC)
    assert result.skipped["not in effect now"] == 2


def test_llm_prices_malformed() -> None:
    with pytest.raises(SourceError, match="no 'prices' list"):
        llm_prices.parse_document(b'{"updated_at": "x"}', "llm-prices", NOW)


# --- OpenRouter -----------------------------------------------------------------


def test_openrouter_models() -> None:
    result = openrouter.parse_document(fixture("openrouter_models.json"), "openrouter")
    rows = by_id(result)
    gpt = rows["openai/gpt-4o"]
    assert (gpt.provider, gpt.model) == ("openai", "gpt-4o")
    assert gpt.rates.input == Rate(D("2.5")) and gpt.rates.cached_input == Rate(D("1.25"))
    # OpenRouter's own price (the author is part of the id), and evidence for OpenAI's
    filed = {(r.provider, r.model) for r in result.records if r.raw_id == "openai/gpt-4o"}
    assert filed == {("openrouter", "openai/gpt-4o"), ("openai", "gpt-4o")}
    assert gpt.rates.reasoning is None  # "0" means not priced apart, not free
    sonnet = rows["anthropic/claude-sonnet-4.5"]
    assert sonnet.rates.cache_write == Rate(D("3.75"))
    llama = rows["meta-llama/llama-3.3-70b-instruct"]
    assert (llama.provider, llama.model) == ("openrouter", "meta-llama/llama-3.3-70b-instruct")
    assert llama.rates.input == Rate(D("0.13"))
    assert rows["perplexity/sonar"].rates.per_request == D("0.005")
    assert rows["x-ai/grok-4"].rates.input == Rate(D(3000))  # the sanity check rejects it later
    assert result.skipped == {
        "dynamic price": 1,
        "free variant": 1,
        "invalid row": 1,
        "floating alias": 1,
    }


def test_openrouter_malformed() -> None:
    with pytest.raises(SourceError, match="no 'data' list"):
        openrouter.parse_document(fixture("openrouter_malformed.json"), "openrouter")
    with pytest.raises(SourceError, match="malformed document"):
        openrouter.parse_document(b"<html>", "openrouter")


# --- HTML pricing pages ----------------------------------------------------------


def test_html_page_per_million() -> None:
    options = {"provider": "openai"}
    result = html_table.parse_page(fixture("pricing_page.html"), "page", options)
    rows = by_id(result)
    assert rows["GPT-4o"].model == "gpt-4o"
    assert rows["GPT-4o"].rates.input == Rate(D("2.5"))
    assert rows["GPT-4o"].rates.cached_input == Rate(D("1.25"))
    assert rows["GPT-4o"].rates.output == Rate(D(10))
    assert rows["GPT-4o mini"].model == "gpt-4o-mini"
    assert rows["GPT-7 Nova"].rates.cached_input is None
    assert rows["Open weights demo"].rates.input == Rate(D(0))
    assert result.skipped == {"missing price": 1, "no model name": 1}


def test_html_page_per_thousand_with_a_provider_column() -> None:
    options = {"provider_column": "provider"}
    result = html_table.parse_page(fixture("pricing_page_per_1k.html"), "page", options)
    rows = by_id(result)
    assert rows["gpt-4o"].provider == "openai"
    assert rows["gpt-4o"].rates.input == Rate(D("2.5")) and rows["gpt-4o"].rates.output == Rate(
        D(10)
    )
    assert rows["claude-sonnet-4-5"].provider == "anthropic"
    assert result.unmapped == ["mystery-model"]


def test_html_page_unit_can_be_forced() -> None:
    options = {"provider": "openai", "unit": "1K"}
    rows = by_id(html_table.parse_page(fixture("pricing_page.html"), "page", options))
    assert rows["GPT-4o"].rates.input == Rate(D(2500))


def test_html_page_without_a_price_table() -> None:
    with pytest.raises(SourceError, match="no table with model, input and output"):
        html_table.parse_page(fixture("pricing_page_no_table.html"), "page", {"provider": "x"})


# --- HTTP -----------------------------------------------------------------------


def fetcher(handler, **kwargs) -> HttpFetcher:
    return HttpFetcher(
        transport=httpx.MockTransport(handler), backoff=0, sleep=lambda s: None, **kwargs
    )


def test_http_retries_server_errors_then_succeeds() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503 if len(calls) < 3 else 200, content=b"{}")

    document = fetcher(handler, retries=2).get("https://example.test/x.json")
    assert document.body == b"{}" and len(calls) == 3
    assert calls[0].headers["User-Agent"].startswith("budget-price-refresh")


def test_http_gives_up_after_the_retries() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    with pytest.raises(SourceError, match=r"HTTP 500 \(3 attempts\)"):
        fetcher(handler, retries=2).get("https://example.test/x.json")


def test_http_timeout_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(SourceError, match="timed out after 1s"):
        fetcher(handler, retries=1, timeout=1).get("https://example.test/x.json")


def test_http_client_errors_are_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(404)

    with pytest.raises(SourceError, match="HTTP 404"):
        fetcher(handler, retries=3).get("https://example.test/x.json")
    assert len(calls) == 1


def test_http_honours_retry_after() -> None:
    waits: list[float] = []
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "7"})
        return httpx.Response(200, content=b"ok")

    http = HttpFetcher(transport=httpx.MockTransport(handler), sleep=waits.append)
    assert http.get("https://example.test/x").body == b"ok"
    assert waits == [7.0]


def test_http_conditional_requests_reuse_the_kept_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("If-None-Match") == '"v1"':
            return httpx.Response(304)
        headers = {"ETag": '"v1"', "Last-Modified": "Fri, 20 Nov 2026 10:00:00 GMT"}
        return httpx.Response(200, content=b'{"a": 1}', headers=headers)

    http = fetcher(handler)
    first = http.get("https://example.test/feed.json")
    second = http.get("https://example.test/feed.json")
    assert not first.not_modified and second.not_modified
    assert second.body == first.body and second.version == '"v1"'
    assert seen[1].headers["If-Modified-Since"] == "Fri, 20 Nov 2026 10:00:00 GMT"
    http.forget()
    assert not http.get("https://example.test/feed.json").not_modified


def test_a_network_source_failure_is_reported_not_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no network", request=request)

    spec = next(s for s in source_specs() if s.name == "openrouter")
    outcome = fetch_one(build_sources([spec])[0], fetcher(handler, retries=0), NOW)
    assert outcome.status == ERROR and "ConnectError" in (outcome.error or "")


def test_network_sources_parse_what_they_fetch() -> None:
    routes = {
        "litellm": "litellm.json",
        "llm-prices": "llm_prices_current.json",
        "openrouter": "openrouter_models.json",
    }
    specs = {s.name: s for s in source_specs()}
    for name, file_name in routes.items():
        body = fixture(file_name)
        http = fetcher(lambda request, body=body: httpx.Response(200, content=body))
        result = build_sources([specs[name]])[0].fetch(http, NOW)
        assert result.records, name
        assert result.version and result.version.startswith(("sha256:", "2026")), name


# --- registry ---------------------------------------------------------------------


def test_builtin_sources_and_their_lineages() -> None:
    specs = {s.name: s for s in source_specs()}
    assert specs["litellm"].lineage == specs["litellm-offline"].lineage == "litellm"
    assert specs["genai-prices"].network is False and specs["litellm"].network is True
    assert specs["llm-prices-historical"].active is False
    assert all(D(0) <= s.trust <= D(1) for s in specs.values())


def test_settings_change_sources_and_add_html_pages() -> None:
    specs = source_specs(
        {
            "openrouter": {"active": False, "trust": "0.3"},
            "vendor-page": {
                "kind": "html",
                "url": "https://vendor.test/pricing",
                "options": {"provider": "openai"},
            },
        }
    )
    named = {s.name: s for s in specs}
    assert named["openrouter"].active is False and named["openrouter"].trust == D("0.3")
    page = named["vendor-page"]
    assert page.network and page.lineage == "vendor-page" and page.options["provider"] == "openai"
    offline = {s.name: s for s in source_specs(network=False)}
    assert not offline["litellm"].active and offline["genai-prices"].active


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"x": {"kind": "ftp"}}, "price_sources.x.kind"),
        ({"litellm": {"trust": "1.5"}}, "price_sources.litellm.trust"),
        (
            {"litellm": {"refresh_interval_seconds": 5}},
            "price_sources.litellm.refresh_interval_seconds",
        ),
        ({"page": {"kind": "html"}}, "price_sources.page.url"),
        ({"litellm": {"kind": "openrouter"}}, "price_sources.litellm.kind"),
        ({"litellm": {"colour": "red"}}, "price_sources.litellm.colour"),
    ],
)
def test_bad_source_settings_name_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        source_specs(overrides)
    assert err.value.field == field


def test_fixtures_are_valid_json() -> None:
    for path in FIXTURES.glob("*.json"):
        if "malformed" not in path.name:
            json.loads(path.read_text())
