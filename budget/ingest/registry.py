"""The registry of price sources: the built-in ones, and what the settings change.

Each source has a name, a kind (its adapter), a lineage (the data set it comes
from; sources of one lineage count as one witness), a trust score in [0, 1],
a refresh interval, an active flag and, for network sources, a URL. The
settings' ``price_sources`` maps a name to overrides of a built-in source or,
with a ``kind``, defines a new one (an HTML pricing page, a mirror of a feed).
With ``price_network`` off, every network source is inactive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from budget.errors import ValidationError
from budget.ingest.source import PriceSource
from budget.ingest.sources import genai_prices, html_table, litellm, llm_prices, openrouter
from budget.pricing.refresh import SourceSpec

HOUR = 3600
DAY = 24 * HOUR

#: kind -> (adapter class, needs the network)
KINDS: dict[str, tuple[type[PriceSource], bool]] = {
    genai_prices.KIND: (genai_prices.GenaiPricesSource, False),
    litellm.OFFLINE_KIND: (litellm.LiteLLMOfflineSource, False),
    litellm.KIND: (litellm.LiteLLMSource, True),
    llm_prices.KIND: (llm_prices.LLMPricesSource, True),
    openrouter.KIND: (openrouter.OpenRouterSource, True),
    html_table.KIND: (html_table.HtmlTableSource, True),
}

BUILTIN: tuple[SourceSpec, ...] = (
    SourceSpec("genai-prices", genai_prices.KIND, "genai-prices", Decimal("0.9"), DAY),
    SourceSpec("litellm-offline", litellm.OFFLINE_KIND, "litellm", Decimal("0.8"), DAY),
    SourceSpec(
        "litellm", litellm.KIND, "litellm", Decimal("0.85"), 6 * HOUR, network=True, url=litellm.URL
    ),
    SourceSpec(
        "llm-prices",
        llm_prices.KIND,
        "llm-prices",
        Decimal("0.7"),
        DAY,
        network=True,
        url=llm_prices.CURRENT_URL,
    ),
    SourceSpec(
        "llm-prices-historical",
        llm_prices.KIND,
        "llm-prices",
        Decimal("0.65"),
        7 * DAY,
        active=False,
        network=True,
        url=llm_prices.HISTORICAL_URL,
    ),
    SourceSpec(
        "openrouter",
        openrouter.KIND,
        "openrouter",
        Decimal("0.6"),
        6 * HOUR,
        network=True,
        url=openrouter.URL,
    ),
)


def source_specs(
    overrides: Mapping[str, Any] | None = None, *, network: bool = True
) -> list[SourceSpec]:
    """Built-in sources with ``overrides`` applied, then the sources they add.

    ``overrides`` maps a source name to a mapping (or an object with the same
    attributes) of ``kind``, ``lineage``, ``active``, ``trust``,
    ``refresh_interval_seconds``, ``url`` and ``options``; None values are
    ignored.
    """
    overrides = dict(overrides or {})
    specs = [_apply(spec, _fields(overrides.pop(spec.name, {}))) for spec in BUILTIN]
    specs += [_new_spec(name, _fields(given)) for name, given in overrides.items()]
    if not network:
        specs = [replace(s, active=False) if s.network else s for s in specs]
    return specs


def build_sources(specs: Iterable[SourceSpec]) -> list[PriceSource]:
    """An adapter for each spec, in the given order."""
    return [KINDS[spec.kind][0](spec) for spec in specs]


def _fields(given: Any) -> dict[str, Any]:
    if hasattr(given, "model_dump"):
        given = given.model_dump()
    return {k: v for k, v in dict(given).items() if v is not None}


def _apply(spec: SourceSpec, fields: dict[str, Any]) -> SourceSpec:
    if "kind" in fields and fields["kind"] != spec.kind:
        raise ValidationError(
            f"price_sources.{spec.name}.kind", fields["kind"], f"built-in source is {spec.kind!r}"
        )
    options = {**spec.options, **fields.get("options", {})}
    changed = {k: v for k, v in fields.items() if k not in ("kind", "options")}
    return _checked(replace(spec, **_typed(spec.name, changed), options=options))


def _new_spec(name: str, fields: dict[str, Any]) -> SourceSpec:
    kind = fields.get("kind")
    if kind not in KINDS:
        raise ValidationError(
            f"price_sources.{name}.kind", kind, f"must be one of {', '.join(sorted(KINDS))}"
        )
    typed = _typed(name, {k: v for k, v in fields.items() if k not in ("kind", "options")})
    spec = SourceSpec(
        name=name,
        kind=kind,
        lineage=typed.pop("lineage", name),
        trust=typed.pop("trust", Decimal("0.5")),
        refresh_interval_seconds=typed.pop("refresh_interval_seconds", DAY),
        network=KINDS[kind][1],
        options=dict(fields.get("options", {})),
        **typed,
    )
    return _checked(spec)


_ALLOWED = {"lineage", "active", "trust", "refresh_interval_seconds", "url"}


def _typed(name: str, fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - _ALLOWED
    if unknown:
        key = sorted(unknown)[0]
        raise ValidationError(f"price_sources.{name}.{key}", fields[key], "unknown setting")
    out = dict(fields)
    if "trust" in out:
        out["trust"] = Decimal(str(out["trust"]))
    return out


def _checked(spec: SourceSpec) -> SourceSpec:
    if not Decimal(0) <= spec.trust <= Decimal(1):
        raise ValidationError(f"price_sources.{spec.name}.trust", spec.trust, "must be in [0, 1]")
    if spec.refresh_interval_seconds < 60:
        raise ValidationError(
            f"price_sources.{spec.name}.refresh_interval_seconds",
            spec.refresh_interval_seconds,
            "must be at least 60 seconds",
        )
    if spec.kind == html_table.KIND and not spec.url:
        raise ValidationError(
            f"price_sources.{spec.name}.url", spec.url, "an html source needs a url"
        )
    return spec
