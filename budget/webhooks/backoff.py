"""When to try a failed webhook delivery again: exponential backoff with a cap."""

from __future__ import annotations

import random


def backoff_seconds(
    attempt: int, base: float, cap: float, jitter: float = 0.1, rng: random.Random | None = None
) -> float:
    """Delay after the ``attempt``-th failure (1-based): ``base * 2**(attempt-1)``,
    at most ``cap``, spread by up to ``jitter`` (a share) so retries of many
    deliveries do not arrive together."""
    if attempt < 1:
        raise ValueError(f"attempt={attempt!r}: must be 1 or more")
    delay = min(cap, base * 2 ** min(attempt - 1, 62))
    if jitter:
        delay *= 1 + (rng or random).uniform(-jitter, jitter)
    return max(0.0, min(delay, cap))
