"""The token mix a model comparison is priced on: what calls looked like lately.

What the ledger says calls to the model looked like over the last 30 days
(requests; input, cached-read, cache-write, output and reasoning tokens), read
from the rollups (one aggregate query, never a ledger scan); without such
usage, the mix of all usage in the same filters; without any, a default of
3,000 input and 1,000 output tokens per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from budget.domain.prices import Price, TokenUsage
from budget.domain.rollups import EPOCH, epoch_hour
from budget.engine.insight import aggregate as agg
from budget.engine.insight.buckets import Bucketing, plan

if TYPE_CHECKING:
    from budget.storage.unit import Unit

MIX_DAYS = 30
DEFAULT_MIX = TokenUsage(input_tokens=3000, output_tokens=1000)


@dataclass(frozen=True)
class TokenMix:
    """Requests and token totals a comparison is priced on, and where they came from."""

    requests: int
    usage: TokenUsage  # totals over the requests
    basis: str  # "model", "all" or "default"
    description: str

    def per_request(self) -> TokenUsage:
        """The average request (whole tokens, the convention's bounds kept)."""
        n = max(self.requests, 1)

        def avg(x: int) -> int:
            return int((Decimal(x) / n).to_integral_value(ROUND_HALF_EVEN))

        u = self.usage
        inp, out = avg(u.input_tokens), avg(u.output_tokens)
        cached = min(avg(u.cached_input_tokens), inp)
        written = min(avg(u.cache_write_tokens), inp - cached)
        return TokenUsage(inp, out, cached, written, min(avg(u.reasoning_tokens), out))

    def to_dict(self) -> dict[str, Any]:
        u = self.usage
        return {
            "requests": self.requests,
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "cached_input_tokens": u.cached_input_tokens,
            "cache_write_tokens": u.cache_write_tokens,
            "reasoning_tokens": u.reasoning_tokens,
            "basis": self.basis,
            "description": self.description,
        }


def token_mix(
    tx: Unit,
    price: Price,
    now: datetime,
    task_type: str | None = None,
    budget_policies: tuple | None = None,
) -> TokenMix:
    """The recent token mix of calls to the model (else of all calls, else a default)."""
    until = EPOCH + timedelta(hours=epoch_hour(now) + 1)
    since = until - timedelta(days=MIX_DAYS)
    base = {"task_type": task_type} if task_type else {}
    model = {**base, "provider": price.provider, "model": price.model}
    whole = Bucketing.of(None, "UTC")
    for filters, basis in ((model, "model"), (base, "all")):
        query = agg.Query(since, until, whole, (), filters, frozenset(), budget_policies)
        totals = agg.run(tx, query, plan(since, until, whole)).totals
        if totals.records:
            usage = TokenUsage(
                totals.input_tokens,
                totals.output_tokens,
                totals.cached_input_tokens,
                totals.cache_write_tokens,
                totals.reasoning_tokens,
            )
            what = f"{price.provider}/{price.model}" if basis == "model" else "all models"
            text = f"your {totals.records:,} requests to {what} over the last {MIX_DAYS} days"
            return TokenMix(totals.records, usage, basis, text)
    return TokenMix(1, DEFAULT_MIX, "default", "a default request of 3,000 input + 1,000 output")
