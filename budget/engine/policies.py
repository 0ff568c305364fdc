"""Policies of a budget: create, read, update, delete."""

from __future__ import annotations

from typing import Any

from budget.clock import utcnow
from budget.domain import limits
from budget.domain import validation as v
from budget.domain.defaults import ACTION_THRESHOLD, DEFAULT_TIMEZONE, WARNING_THRESHOLD
from budget.domain.enums import Period, PolicyType, Tier
from budget.domain.models import SCOPE_FIELDS, Policy, ScopeFilter
from budget.domain.money import parse_usd, usd_to_nanos
from budget.domain.periods import load_timezone
from budget.engine.budgets import live_budget
from budget.engine.context import POLICIES, EngineContext, bump_version
from budget.errors import NotFound, ValidationError
from budget.storage.mapping import SCOPE_COLUMNS, scope_to_columns
from budget.storage.unit import Unit

_UNSET: Any = object()

_SCOPE_ARGS = (
    "component",
    "project",
    "user",
    "api_key",
    "provider",
    "model",
    "tier",
    "task_type",
    "tags",
)


def add_policy(
    ctx: EngineContext,
    budget_id: str,
    *,
    type: Any,
    period: Any,
    token_limit: Any = None,
    cost_limit: Any = None,
    request_limit: Any = None,
    name: Any = None,
    timezone: Any = DEFAULT_TIMEZONE,
    warning_thresholds: Any = None,
    action_threshold: Any = _UNSET,
    critical_headroom: Any = 0,
    starts_at: Any = None,
    ends_at: Any = None,
    enabled: Any = True,
    count_existing: Any = True,
    each: Any = None,
    **scope: Any,
) -> Policy:
    """A policy on a budget. At least one of ``token_limit`` and ``cost_limit``
    (USD, as Decimal, int or str) is required; scope filters (component,
    project, user, api_key, provider, model, tier, task_type, tags) narrow
    which requests it covers.

    Its windows start from the spend already in the ledger that its scope
    covers (a $1 daily cap added after $0.95 of today's spend leaves $0.05);
    ``count_existing=False`` starts them from what is recorded from now on.

    ``each=["user"]`` (any scope attribute but tags, or several) keeps a
    window per distinct value: every user gets the limit. A hard ``each``
    policy refuses an allocation that does not name the attribute."""
    unknown = set(scope) - set(_SCOPE_ARGS)
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationError(field, scope[field], "unknown policy field")
    fields = _policy_fields(
        type=type,
        period=period,
        token_limit=token_limit,
        cost_limit=cost_limit,
        request_limit=request_limit,
        timezone=timezone,
        warning_thresholds=warning_thresholds,
        action_threshold=ACTION_THRESHOLD if action_threshold is _UNSET else action_threshold,
        critical_headroom=critical_headroom,
        starts_at=starts_at,
        ends_at=ends_at,
        enabled=enabled,
        count_existing=count_existing,
        each=each,
        scope=_scope(scope),
    )
    policy_type, policy_period = fields["type"], fields["period"]
    fields["name"] = v.text("name", name, max_len=200) or f"{policy_period}-{policy_type}"
    with ctx.db.write() as tx:
        live_budget(tx, budget_id)
        policy_id = tx.policies.insert(budget_id, fields, utcnow())
        bump_version(tx, POLICIES)
    return get_policy(ctx, policy_id)


def _policy_fields(
    *,
    type,
    period,
    token_limit,
    cost_limit,
    request_limit,
    timezone,
    warning_thresholds,
    action_threshold,
    critical_headroom,
    starts_at,
    ends_at,
    enabled,
    count_existing,
    each,
    scope: ScopeFilter,
) -> dict[str, Any]:
    policy_type = v.choice("type", type, PolicyType)
    policy_period = v.choice("period", period, Period)
    tokens = v.positive_tokens("token_limit", token_limit, maximum=limits.MAX_TOKEN_LIMIT)
    usd = parse_usd("cost_limit", cost_limit)
    if usd is not None and usd <= 0:
        raise ValidationError("cost_limit", cost_limit, "must be greater than zero")
    requests = v.positive_tokens("request_limit", request_limit, maximum=limits.MAX_TOKEN_LIMIT)
    if tokens is None and usd is None and requests is None:
        raise ValidationError(
            "token_limit", None, "a policy needs a token_limit, a cost_limit or a request_limit"
        )
    tz_name = v.text("timezone", timezone, required=True, max_len=64)
    load_timezone(tz_name)
    thresholds = v.fractions(
        "warning_thresholds",
        warning_thresholds if warning_thresholds is not None else [WARNING_THRESHOLD],
    )
    action = None if action_threshold is None else v.fraction("action_threshold", action_threshold)
    start = v.instant("starts_at", starts_at)
    end = v.instant("ends_at", ends_at)
    if start and end and end <= start:
        raise ValidationError("ends_at", ends_at, f"must be after starts_at ({start.isoformat()})")
    return {
        "type": policy_type.value,
        "period": policy_period.value,
        "timezone": tz_name,
        "token_limit": tokens,
        "cost_limit_nanos": None if usd is None else usd_to_nanos(usd),
        "request_limit": requests,
        "warning_thresholds": [str(x) for x in thresholds],
        "action_threshold": None if action is None else str(action),
        "critical_headroom": str(v.headroom("critical_headroom", critical_headroom)),
        "starts_at": start,
        "ends_at": end,
        "enabled": v.flag("enabled", enabled),
        "count_existing": v.flag("count_existing", count_existing),
        "each": _each(each),
        **scope_to_columns(scope),
    }


def _each(value: Any) -> list[str] | None:
    """The attributes a policy keeps a window per value of: scope attributes
    (tags aside, a request carries several), each once."""
    if value is None or value == [] or value == ():
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list | tuple):
        raise ValidationError("each", value, "must be a list of attribute names such as ['user']")
    for name in names:
        if name not in SCOPE_FIELDS:
            raise ValidationError(
                "each", name, f"must be one of {', '.join(SCOPE_FIELDS)} (a window per value)"
            )
    if len(set(names)) != len(names):
        raise ValidationError("each", list(names), "names an attribute twice")
    return list(names)


def _scope(values: dict[str, Any]) -> ScopeFilter:
    tier = v.choice("tier", values.get("tier"), Tier, required=False)
    return ScopeFilter(
        component=v.text("component", values.get("component")),
        project=v.text("project", values.get("project")),
        user=v.text("user", values.get("user")),
        api_key=v.text("api_key", values.get("api_key")),
        provider=v.provider("provider", values.get("provider")),
        model=v.model("model", values.get("model")),
        tier=tier,
        task_type=v.text("task_type", values.get("task_type")),
        tags=v.tag_set("tags", values.get("tags")),
    )


def get_policy(ctx: EngineContext, policy_id: str) -> Policy:
    with ctx.db.read() as tx:
        policy = tx.policies.get(policy_id)
    if policy is None:
        raise NotFound("policy", "policy_id", policy_id)
    return policy


def _stored_columns(tx: Unit, policy_id: str) -> dict[str, Any]:
    columns = tx.policies.columns(policy_id)
    if columns is None:
        raise NotFound("policy", "policy_id", policy_id)
    return columns


def list_policies(ctx: EngineContext, budget_id: str | None = None) -> list[Policy]:
    """Live policies, of one budget or of all."""
    with ctx.db.read() as tx:
        if budget_id is not None:
            live_budget(tx, budget_id)
        return tx.policies.live(budget_id)


def update_policy(ctx: EngineContext, policy_id: str, **changes: Any) -> Policy:
    """Change some fields of a policy; the result is validated as a whole."""
    current = get_policy(ctx, policy_id)
    merged = _policy_as_args(current)
    unknown = set(changes) - set(merged) - {"name"}
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationError(field, changes[field], "unknown policy field")
    merged.update({k: val for k, val in changes.items() if k != "name"})
    scope = _scope({k: merged.pop(k) for k in _SCOPE_ARGS})
    fields = _policy_fields(scope=scope, **merged)
    if "name" in changes:
        fields["name"] = v.text("name", changes["name"], required=True, max_len=200)
    now = utcnow()
    with ctx.db.write() as tx:
        before = _stored_columns(tx, policy_id)
        tx.policies.update(policy_id, fields, now)
        if reshapes_windows(before, fields):
            tx.policies.retire_windows(policy_id, now)
        bump_version(tx, POLICIES)
    return get_policy(ctx, policy_id)


def reshapes_windows(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether a policy's change (its stored columns before and after) makes its
    live windows count different usage, so they must be replaced."""
    return any(before[name] != after[name] for name in _WINDOW_SHAPING)


#: Columns whose change makes the policy's live windows count different usage:
#: they are replaced by fresh windows computed from the ledger. (A limit,
#: threshold or name change keeps them: what they counted stays right.)
_WINDOW_SHAPING = (
    "period",
    "timezone",
    "starts_at",
    "ends_at",
    "enabled",
    "count_existing",
    "each",
    *SCOPE_COLUMNS,
)


def _policy_as_args(policy: Policy) -> dict[str, Any]:
    scope = policy.scope
    return {
        "type": policy.type,
        "period": policy.period,
        "token_limit": policy.token_limit,
        "cost_limit": policy.cost_limit,
        "request_limit": policy.request_limit,
        "timezone": policy.timezone,
        "warning_thresholds": list(policy.warning_thresholds),
        "action_threshold": policy.action_threshold,
        "critical_headroom": policy.critical_headroom,
        "starts_at": policy.starts_at,
        "ends_at": policy.ends_at,
        "enabled": policy.enabled,
        "count_existing": policy.count_existing,
        "each": list(policy.each) or None,
        "component": scope.component,
        "project": scope.project,
        "user": scope.user,
        "api_key": scope.api_key,
        "provider": scope.provider,
        "model": scope.model,
        "tier": scope.tier,
        "task_type": scope.task_type,
        "tags": scope.tags,
    }


def delete_policy(ctx: EngineContext, policy_id: str) -> None:
    """Soft delete: the policy stops applying; its windows and alerts stay."""
    with ctx.db.write() as tx:
        _stored_columns(tx, policy_id)
        tx.policies.soft_delete(policy_id, utcnow())
        bump_version(tx, POLICIES)
