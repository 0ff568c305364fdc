"""All-time usage by provider and model as ``/metrics`` serves it, from rollup totals.

Token kinds are made disjoint so that a sum over them is every token once:
``input`` is the uncached input (Budget's ``input_tokens`` counts cache reads
and writes too), ``output`` excludes ``reasoning`` (which Budget counts inside
``output_tokens``). Recorded usage and corrections of it (void, adjust) are
kept apart: usage only grows, so it makes counters; corrections may go
either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from budget.storage.metrics_reads import ModelTotals

#: Disjoint token kinds, in the order they are served.
TOKEN_KINDS = ("input", "cache_read", "cache_write", "output", "reasoning")


@dataclass
class ModelUsage:
    """Usage of one provider and model (``correction``: the corrections of it)."""

    provider: str
    model: str
    correction: bool
    records: int = 0
    cost_nanos: int = 0
    unpriced_records: int = 0
    unpriced_tokens: int = 0
    #: Budget's own counts: input, output, cached input, cache write, reasoning.
    counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])

    def add(self, m: ModelTotals) -> None:
        """Add one rollup total (priced or unpriced) of this provider and model."""
        self.records += m.records
        if m.priced:
            self.cost_nanos += m.cost_nanos
        else:
            self.unpriced_records += m.records
            self.unpriced_tokens += m.input_tokens + m.output_tokens
        parts = (
            m.input_tokens,
            m.output_tokens,
            m.cached_input_tokens,
            m.cache_write_tokens,
            m.reasoning_tokens,
        )
        self.counts = [a + b for a, b in zip(self.counts, parts, strict=True)]

    def tokens(self) -> dict[str, int]:
        """Tokens per disjoint kind (see the module's docstring)."""
        inp, out, cached, written, reasoning = self.counts
        values = (inp - cached - written, cached, written, out - reasoning, reasoning)
        return dict(zip(TOKEN_KINDS, values, strict=True))


def model_usage(totals: Iterable[ModelTotals]) -> tuple[ModelUsage, ...]:
    """Priced and unpriced totals of each provider, model and correction flag, added."""
    out: dict[tuple[str, str, bool], ModelUsage] = {}
    for m in totals:
        key = (m.provider, m.model, m.correction)
        found = out.get(key)
        if found is None:
            found = out[key] = ModelUsage(*key)
        found.add(m)
    return tuple(out.values())
