"""Request and response models of the REST API, separate from storage and domain.

Money is a decimal *string* in responses ("0.0094"), never a JSON float. The
CLI prints these same models, so local and remote output are identical.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    create_model,
)
from pydantic import (
    Strict as StrictType,
)

from budget.api.schemas_declared import declared, optional
from budget.api.times import Instant
from budget.domain import limits
from budget.domain import models as m
from budget.domain.enums import Period, PolicyType, Tier
from budget.domain.money_text import decimal_text

T = TypeVar("T")
MAX_TOKENS = limits.MAX_TOKENS


Int = Annotated[int, StrictType(), Field(ge=-limits.INT64_MAX, le=limits.INT64_MAX)]
Bool = Annotated[bool, StrictType()]
Tokens = Annotated[int, StrictType(), Field(ge=0, le=MAX_TOKENS)]


#: A name, or any short text.
Text = declared("name")
LongText = declared("description", min_length=0)
#: An id the caller chooses (context, session, task, request).
Id = declared("context_id")
Usd = Annotated[Decimal, Field(ge=0, le=limits.MAX_USD_LIMIT, max_digits=22, decimal_places=9)]
Share = Annotated[Decimal, Field(gt=0, le=1)]
Tags = Annotated[list[declared("tag")], Field(max_length=limits.MAX_TAGS)]
Metadata = Annotated[dict[str, Any], Field(max_length=limits.MAX_METADATA_KEYS)]
TokenLimit = Annotated[int, StrictType(), Field(gt=0, le=limits.MAX_TOKEN_LIMIT)]
ScopeName = Literal[m.SCOPE_FIELDS]  # type: ignore[valid-type]
Each = Annotated[
    list[ScopeName],
    Field(
        max_length=len(m.SCOPE_FIELDS),
        description="Keep a window per distinct value of these attributes (['user']: every "
        "user gets the limit). A hard_limit policy refuses an allocation that does not "
        "name them.",
    ),
]


_TYPE_TAGS = frozenset(
    {"int", "str", "float", "bool", "decimal", "datetime", "date", "enum", "none", "list", "dict"}
)


def field_of(loc: tuple | list, skip: frozenset[str] = frozenset()) -> str:
    """The field a pydantic error's location names, in the user's terms:
    ``items[0].priority``, not ``items.0.priority.constrained-int``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in skip or part in _TYPE_TAGS or "[" in part or "-" in part:
            continue
        else:
            out += f".{part}" if out else part
    return out or "body"


def money(value: Decimal | None) -> str | None:
    """A USD amount as the API writes it: a plain decimal string; None stays None."""
    return decimal_text(value)


def money_parts(parts: dict[str, Decimal] | None) -> dict[str, str] | None:
    """A cost breakdown (part -> USD) as decimal strings; None stays None."""
    return None if parts is None else {k: money(v) or "0" for k, v in parts.items()}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a listing, with the total that match."""

    items: list[T]
    total: int
    limit: int
    offset: int


# --- budgets -------------------------------------------------------------------


class BudgetIn(Strict):
    name: Text
    description: LongText | None = None
    owner: declared("owner") | None = None
    active: Bool = True
    metadata: Metadata = Field(default_factory=dict)


class BudgetPatch(Strict):
    """Only the fields given change; description and owner may be cleared with null."""

    name: Text = Field(default=None)
    description: LongText | None = None
    owner: declared("owner") | None = None
    active: Bool = Field(default=None)
    metadata: Metadata = Field(default=None)


class BudgetOut(BaseModel):
    budget_id: str
    name: str
    description: str | None
    owner: str | None
    active: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, b: m.Budget) -> BudgetOut:
        return cls(
            budget_id=b.budget_id,
            name=b.name,
            description=b.description,
            owner=b.owner,
            active=b.active,
            metadata=b.metadata,
            created_at=b.created_at,
            updated_at=b.updated_at,
        )


# --- policies ------------------------------------------------------------------


def _scope_fields() -> type[Strict]:
    """The request attributes a body may carry, built from their declarations."""
    fields: dict[str, Any] = {
        name: (Tier | None, None) if name == "tier" else optional(name) for name in m.SCOPE_FIELDS
    }
    fields["tags"] = (Tags | None, None)
    return create_model("ScopeFields", __base__=Strict, __module__=__name__, **fields)


ScopeFields = _scope_fields()


class PolicyIn(ScopeFields):
    type: PolicyType
    period: Period
    token_limit: TokenLimit | None = None
    cost_limit: Usd | None = None
    request_limit: TokenLimit | None = Field(
        default=None,
        description="Requests per window: an allocation, or usage recorded without one "
        "(with period minute: requests per minute).",
    )
    name: Text | None = None
    timezone: declared("timezone") = "UTC"
    warning_thresholds: Annotated[list[Share], Field(max_length=20)] | None = None
    action_threshold: Share | None = Decimal("0.95")
    critical_headroom: Annotated[Decimal, Field(ge=0, lt=1)] = Decimal(0)
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    enabled: Bool = True
    count_existing: Bool = Field(
        default=True,
        description="Windows start from the spend already in the ledger that the policy "
        "covers (true), or from what is recorded after the policy was created (false).",
    )
    each: Each | None = None


class PolicyPatch(ScopeFields):
    """Only the fields given change; limits, dates and scope filters may be
    cleared with null (the policy must keep at least one limit)."""

    type: PolicyType = Field(default=None)
    period: Period = Field(default=None)
    token_limit: TokenLimit | None = None
    cost_limit: Usd | None = None
    request_limit: TokenLimit | None = None
    name: Text = Field(default=None)
    timezone: declared("timezone") = Field(default=None)
    warning_thresholds: Annotated[list[Share], Field(max_length=20)] = Field(default=None)
    action_threshold: Share | None = None
    critical_headroom: Annotated[Decimal, Field(ge=0, lt=1)] = Field(default=None)
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    enabled: Bool = Field(default=None)
    count_existing: Bool = Field(default=None)
    each: Each | None = None


class ScopeOut(BaseModel):
    component: str | None = None
    project: str | None = None
    user: str | None = None
    api_key: str | None = None
    provider: str | None = None
    model: str | None = None
    tier: Tier | None = None
    task_type: str | None = None
    tags: list[str] = Field(default_factory=list)


class PolicyOut(BaseModel):
    policy_id: str
    budget_id: str
    name: str
    type: PolicyType
    period: Period
    timezone: str
    token_limit: int | None
    cost_limit: str | None
    request_limit: int | None
    warning_thresholds: list[str]
    action_threshold: str | None
    critical_headroom: str
    starts_at: datetime | None
    ends_at: datetime | None
    enabled: bool
    count_existing: bool
    each: list[str] = Field(default_factory=list)
    scope: ScopeOut
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: m.Policy) -> PolicyOut:
        s = p.scope
        return cls(
            policy_id=p.policy_id,
            budget_id=p.budget_id,
            name=p.name,
            type=p.type,
            period=p.period,
            timezone=p.timezone,
            token_limit=p.token_limit,
            cost_limit=money(p.cost_limit),
            request_limit=p.request_limit,
            warning_thresholds=[str(x) for x in p.warning_thresholds],
            action_threshold=None if p.action_threshold is None else str(p.action_threshold),
            critical_headroom=str(p.critical_headroom),
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            enabled=p.enabled,
            count_existing=p.count_existing,
            each=list(p.each),
            scope=ScopeOut(
                component=s.component,
                project=s.project,
                user=s.user,
                api_key=s.api_key,
                provider=s.provider,
                model=s.model,
                tier=s.tier,
                task_type=s.task_type,
                tags=sorted(s.tags),
            ),
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class WindowOut(BaseModel):
    policy_id: str
    policy_name: str
    policy_type: PolicyType
    period: Period
    window: str
    starts_at: datetime | None
    resets_at: datetime | None
    token_limit: int | None
    tokens_used: int
    tokens_reserved: int
    tokens_remaining: int | None
    cost_limit: str | None
    cost_used: str
    cost_reserved: str
    cost_remaining: str | None
    utilization: str | None
    state: str = Field(
        description="Whether the policy applies now: active, disabled, not_started or ended."
    )
    unpriced_records: int | None = Field(
        default=None,
        description="With a USD limit: usage records in the window that had no price "
        "(their tokens count, their cost cannot); null for session and task windows.",
    )
    unpriced_tokens: int | None = None
    request_limit: int | None = None
    requests_used: int = 0
    subject: dict[str, str] | None = Field(
        default=None,
        description="For a policy with each: the values this window counts ({} while no "
        "subject has a window in this period).",
    )
    subject_windows: int | None = Field(
        default=None,
        description="For a policy with each: how many windows match in this period "
        "(the summary lists the fullest of them).",
    )

    @classmethod
    def of(cls, w: m.WindowStatus) -> WindowOut:
        return cls(
            policy_id=w.policy_id,
            policy_name=w.policy_name,
            policy_type=w.policy_type,
            period=w.period,
            window=w.window,
            starts_at=w.starts_at,
            resets_at=w.resets_at,
            token_limit=w.token_limit,
            tokens_used=w.tokens_used,
            tokens_reserved=w.tokens_reserved,
            tokens_remaining=w.tokens_remaining,
            cost_limit=money(w.cost_limit),
            cost_used=money(w.cost_used) or "0",
            cost_reserved=money(w.cost_reserved) or "0",
            cost_remaining=money(w.cost_remaining),
            utilization=None if w.utilization is None else str(w.utilization),
            state=w.state,
            unpriced_records=w.unpriced_records,
            unpriced_tokens=w.unpriced_tokens,
            request_limit=w.request_limit,
            requests_used=w.requests_used,
            subject=w.subject,
            subject_windows=w.subject_windows,
        )


class PastWindowOut(BaseModel):
    window: str
    starts_at: datetime | None
    ends_at: datetime | None
    tokens_used: int
    cost_used: str
    token_limit: int | None
    cost_limit: str | None
    peak_fill: str | None = Field(
        description="The highest share of a limit the window's usage reached (usage only "
        "grows: where it ended, or stands now); against the policy's limits as they are now."
    )
    superseded_at: datetime | None
    subject: dict[str, str] | None = None

    @classmethod
    def of(cls, w: m.PastWindow) -> PastWindowOut:
        return cls(
            window=w.window,
            starts_at=w.starts_at,
            ends_at=w.ends_at,
            tokens_used=w.tokens_used,
            cost_used=money(w.cost_used) or "0",
            token_limit=w.token_limit,
            cost_limit=money(w.cost_limit),
            peak_fill=decimal_text(w.peak_fill),
            superseded_at=w.superseded_at,
            subject=w.subject,
        )


class SummaryOut(BaseModel):
    budget: BudgetOut
    windows: list[WindowOut]
    as_of: datetime

    @classmethod
    def of(cls, s: m.BudgetSummary) -> SummaryOut:
        return cls(
            budget=BudgetOut.of(s.budget),
            windows=[WindowOut.of(w) for w in s.windows],
            as_of=s.as_of,
        )


class Problem(BaseModel):
    """RFC 9457 problem details (extension members vary by error)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
