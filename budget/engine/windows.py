"""Which windows a request touches: its matching policies' current windows.

The counters themselves change only through the windows repository
(:mod:`budget.storage.windows`: one statement over all the windows of an
operation, the hard limits checked in its WHERE clause); this module finds
a request's windows among those that exist. Windows a request meets for the
first time are created before its transaction by
:mod:`budget.engine.new_windows` (which starts them from the ledger).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from budget.domain.enums import PolicyType
from budget.domain.models import Policy, RequestAttributes
from budget.domain.periods import (
    CALENDAR_PERIODS,
    WindowSpan,
    calendar_window,
    load_timezone,
    window_for,
)
from budget.engine.context import EngineContext, StaleCache
from budget.errors import ValidationError
from budget.storage.unit import Unit


@dataclass(frozen=True)
class Target:
    """One policy's window for one request."""

    policy: Policy
    span: WindowSpan
    window_id: int = 0

    @property
    def is_hard(self) -> bool:
        return self.policy.type is PolicyType.HARD_LIMIT


def matching_spans(
    ctx: EngineContext,
    attrs: RequestAttributes,
    at: datetime,
    *,
    gate: bool = False,
) -> list[tuple[Policy, WindowSpan]]:
    """The policies that cover a request at ``at``, each with its window.

    A policy with ``each`` comes narrowed to the request's values (its window
    counts that subject alone). A request that lacks one of them is outside
    the policy, except at the gate (``gate``: allocate and check), where a
    hard ``each`` policy refuses it: its limit could not bind otherwise."""
    out = []
    spans = ctx.calendar_spans
    for policy in ctx.policies:
        if not policy.applies_to(attrs, at):
            continue
        subject = ()
        if policy.each:
            subject = policy.subject_of(attrs)
            if subject is None:
                if gate and policy.type is PolicyType.HARD_LIMIT:
                    _refuse_missing(policy, attrs)
                continue
            policy = policy.narrowed(subject)
        if policy.period in CALENDAR_PERIODS:
            # The calendar window holding ``at`` is unique: reuse the last one
            # while ``at`` stays inside it (computing one costs ~15 us).
            key = (policy.policy_id, policy.period, policy.timezone)
            span = spans.get(key)
            if span is None or not (span.starts_at <= at < span.ends_at):
                span = spans[key] = calendar_window(
                    policy.period, load_timezone(policy.timezone), at
                )
        else:
            span = window_for(
                policy.period,
                load_timezone(policy.timezone),
                at,
                session_id=attrs.session_id,
                task_id=attrs.task_id,
            )
        if span is not None:
            out.append((policy, span.for_subject(subject)))
    return out


def _refuse_missing(policy: Policy, attrs: RequestAttributes) -> None:
    name = policy.missing_each(attrs)
    raise ValidationError(
        name,
        None,
        f"hard_limit policy {policy.name!r} ({policy.policy_id}) keeps a window per {name}; "
        f"a request it covers must name its {name}",
    )


def window_targets(
    ctx: EngineContext,
    tx: Unit,
    spans: list[tuple[Policy, WindowSpan]],
    now: datetime,
    created: dict[tuple[str, str], int],
) -> list[Target]:
    """Targets with their window ids (``ensure_windows`` made them before the
    transaction). Ids looked up here go to ``created``; the caller caches them
    once the transaction commits. A window gone since (a policy change
    replaced it) means the plan is stale: :class:`StaleCache`."""
    ids = ctx.window_ids
    targets = []
    for policy, span in spans:
        key = (policy.policy_id, span.key)
        window_id = ids.get(key) or created.get(key)
        if window_id is None:
            window_id = tx.windows.find(policy.policy_id, span.key)
            if window_id is None:
                raise StaleCache()
            created[key] = window_id
        targets.append(Target(policy, span, window_id))
    return targets
