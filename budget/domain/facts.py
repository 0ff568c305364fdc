"""Model facts: what a model holds, what it does, and whether it is still offered.

Facts sit next to prices (a price says what a model costs, facts say whether
it is a sensible thing to call): the context window, the largest output, the
modalities and capabilities, the kind of model (``mode``) and the lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

#: The kinds of model; only ``chat`` models answer a conversation.
MODES = (
    "chat",
    "completion",
    "embedding",
    "image",
    "audio",
    "realtime",
    "video",
    "moderation",
    "rerank",
    "search",
    "ocr",
    "other",
)

CURRENT = "current"
DEPRECATED = "deprecated"
RETIRED = "retired"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ModelFacts:
    """What the sources state about one model of one provider (None: not stated).

    ``context_window`` counts input and output together; ``max_input_tokens``
    and ``max_output_tokens`` are the separate caps where a source gives them.
    ``retires_on`` is the provider's announced shutdown date; ``listed`` says a
    source that tracks models still offered lists this one, so that a model
    no such source lists has an *unknown* lifecycle rather than a current one.
    """

    provider: str
    model: str
    mode: str | None = None
    context_window: int | None = None
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    input_modalities: tuple[str, ...] = ()
    output_modalities: tuple[str, ...] = ()
    capabilities: frozenset[str] = frozenset()
    deprecated: bool = False
    retires_on: date | None = None
    successor: str | None = None
    listed: bool = False
    base: bool = False
    fine_tuned: bool = False
    sources: dict[str, str] = field(default_factory=dict)

    def lifecycle(self, today: date) -> str:
        """``retired`` (the shutdown date has passed), ``deprecated`` (announced,
        still served), ``current``, or ``unknown`` (no source vouches for it)."""
        if self.retires_on is not None:
            return RETIRED if today >= self.retires_on else DEPRECATED
        if self.deprecated:
            return DEPRECATED
        return CURRENT if self.listed else UNKNOWN

    def holds(self, input_tokens: int, output_tokens: int) -> bool | None:
        """Whether a request of this size fits (None: no window is known)."""
        limits = (
            (self.context_window, input_tokens + output_tokens),
            (self.max_input_tokens, input_tokens),
            (self.max_output_tokens if output_tokens else None, output_tokens),
        )
        if self.context_window is None and self.max_input_tokens is None:
            return None
        return all(limit is None or need <= limit for limit, need in limits)

    @property
    def window(self) -> int | None:
        """The most tokens a request can hold in all (the context window, else
        the input cap)."""
        return self.context_window if self.context_window is not None else self.max_input_tokens

    def to_dict(self, today: date) -> dict[str, Any]:
        """JSON-ready, with the lifecycle as of ``today``."""
        return {
            "provider": self.provider,
            "model": self.model,
            "mode": self.mode,
            "context_window": self.context_window,
            "max_input_tokens": self.max_input_tokens,
            "max_output_tokens": self.max_output_tokens,
            "input_modalities": list(self.input_modalities),
            "output_modalities": list(self.output_modalities),
            "capabilities": sorted(self.capabilities),
            "lifecycle": self.lifecycle(today),
            "deprecated": self.deprecated or self.retires_on is not None,
            "retires_on": None if self.retires_on is None else self.retires_on.isoformat(),
            "successor": self.successor,
            "base": self.base,
            "fine_tuned": self.fine_tuned,
            "sources": dict(sorted(self.sources.items())),
        }
