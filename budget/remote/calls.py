"""The REST request behind each library method, shared by the sync and the
async client: the same arguments as :class:`budget.BudgetService`, checked as
the library checks them where the server would answer differently."""

from __future__ import annotations

from typing import Any

from budget.api.schemas_ledger import AllocationIn, UsageIn
from budget.domain.money import parse_usd
from budget.errors import NotFound, ValidationError
from budget.remote import parse
from budget.remote.wire import Call, encode, new_request_id, query, seg

_ALLOCATE_FIELDS = frozenset(AllocationIn.model_fields)
_USAGE_FIELDS = frozenset(UsageIn.model_fields)
_USAGE_FILTERS = frozenset(
    {
        "component",
        "project",
        "user",
        "api_key",
        "provider",
        "model",
        "context_id",
        "allocation_id",
        "task_type",
        "kind",
        "corrects_id",
    }
)


def _known(method: str, given: dict[str, Any], allowed: frozenset[str]) -> None:
    """Refuse an unknown keyword as the library's own signature does."""
    for name in given:
        if name not in allowed:
            raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")


def _subject(subject: dict[str, str] | None) -> list[str] | None:
    return None if not subject else [f"{k}={v}" for k, v in subject.items()]


def _money(field: str, value: Any) -> Any:
    """USD as the library takes it (Decimal, int or text; never float)."""
    return value if value is None else parse_usd(field, value)


# --- budgets and policies -------------------------------------------------------


def create_budget(name: str, **fields: Any) -> Call:
    body = encode({"name": name, **fields})
    if body.get("metadata") is None:
        body.pop("metadata", None)
    return Call("POST", "/budgets", parse.budget, json=body)


def get_budget(budget_id: str) -> Call:
    return Call("GET", f"/budgets/{seg(budget_id)}", parse.budget, safe=True)


def list_budgets(owner: Any, active: Any, limit: int, offset: int) -> Call:
    params = query(owner=owner, active=active, limit=limit, offset=offset)
    return Call("GET", "/budgets", parse.page(parse.budget), params=params, safe=True)


#: Budgets read per request while looking for one by name.
FIND_PAGE = 1000


def pick_budget(name: str, listing: Any, offset: int) -> Any:
    """The budget called ``name`` in one page of ``list_budgets(limit=FIND_PAGE)``;
    None to read the next page; NotFound after the last one."""
    for item in listing:
        if item.name == name:
            return item
    if not listing or offset + len(listing) >= listing.total:
        raise NotFound("budget", "name", name)
    return None


def only_budgets(every: Any, budget_ids: Any, limit: int, offset: int) -> list[Any]:
    """The budgets of one listing whose ids are among ``budget_ids``, paged."""
    wanted = set(budget_ids)
    return [b for b in every if b.budget_id in wanted][offset : offset + limit]


def update_budget(budget_id: str, changes: dict[str, Any]) -> Call:
    return Call("PATCH", f"/budgets/{seg(budget_id)}", parse.budget, json=encode(changes))


def delete_budget(budget_id: str) -> Call:
    return Call("DELETE", f"/budgets/{seg(budget_id)}", parse.nothing)


def add_policy(budget_id: str, fields: dict[str, Any]) -> Call:
    if "cost_limit" in fields:
        fields = {**fields, "cost_limit": _money("cost_limit", fields["cost_limit"])}
    if "tags" in fields and fields["tags"] is not None:
        fields = {**fields, "tags": sorted(fields["tags"])}
    path = f"/budgets/{seg(budget_id)}/policies"
    return Call("POST", path, parse.policy, json=encode(fields))


def get_policy(policy_id: str) -> Call:
    return Call("GET", f"/policies/{seg(policy_id)}", parse.policy, safe=True)


def list_policies(budget_id: str | None) -> Call:
    path = "/policies" if budget_id is None else f"/budgets/{seg(budget_id)}/policies"
    return Call("GET", path, parse.many(parse.policy), safe=True)


def update_policy(policy_id: str, changes: dict[str, Any]) -> Call:
    if changes.get("cost_limit") is not None:
        changes = {**changes, "cost_limit": _money("cost_limit", changes["cost_limit"])}
    return Call("PATCH", f"/policies/{seg(policy_id)}", parse.policy, json=encode(changes))


def set_policy_enabled(policy_id: str, enabled: bool) -> Call:
    action = "enable" if enabled else "disable"
    return Call("POST", f"/policies/{seg(policy_id)}/{action}", parse.policy, safe=True)


def delete_policy(policy_id: str) -> Call:
    return Call("DELETE", f"/policies/{seg(policy_id)}", parse.nothing)


# --- allocations ----------------------------------------------------------------


def allocate(context_id: Any, request: dict[str, Any]) -> Call:
    """Never sent twice once it may have reached the server: it is not idempotent."""
    _known("allocate", request, _ALLOCATE_FIELDS)
    body = encode({"context_id": context_id, **request})
    body = {k: v for k, v in body.items() if v is not None}
    return Call("POST", "/allocations", parse.allocation, json=body)


def check(context_id: Any, request: dict[str, Any]) -> Call:
    _known("check", request, _ALLOCATE_FIELDS)
    body = encode({"context_id": context_id, **request})
    body = {k: v for k, v in body.items() if v is not None}
    return Call("POST", "/check", parse.check_result, json=body, safe=True)


def release(allocation_id: str) -> Call:
    path = f"/allocations/{seg(allocation_id)}/release"
    return Call("POST", path, parse.allocation, safe=True)


def get_allocation(allocation_id: str) -> Call:
    return Call("GET", f"/allocations/{seg(allocation_id)}", parse.allocation, safe=True)


def list_allocations(context_id: Any, status: Any, api_key: Any, limit: int, offset: int) -> Call:
    if api_key is not None:
        raise ValidationError(
            "api_key",
            api_key,
            "is not a filter over REST: the server lists a client key's own allocations",
        )
    params = query(context_id=context_id, status=status, limit=limit, offset=offset)
    return Call("GET", "/allocations", parse.page(parse.allocation), params=params, safe=True)


def sweep_expired() -> Call:
    return Call("POST", "/allocations/sweep", lambda d: d["expired"], safe=True)


# --- the ledger -------------------------------------------------------------------


def _usage_body(method: str, usage: dict[str, Any]) -> dict[str, Any]:
    _known(method, usage, _USAGE_FIELDS)
    body = {k: v for k, v in encode(usage).items() if v is not None}
    if not body.get("request_id"):
        body["request_id"] = new_request_id()
    return body


def record_usage(usage: dict[str, Any]) -> Call:
    """Safe to repeat: the body always carries a request id."""
    return Call("POST", "/usage", parse.usage, json=_usage_body("record_usage", usage), safe=True)


def record_usage_batch(items: list[dict[str, Any]]) -> Call:
    """Safe to repeat: every item carries a request id."""
    body = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationError(f"items[{index}]", item, "must be a dict of usage fields")
        try:
            body.append(_usage_body("record_usage", item))
        except TypeError as exc:
            raise ValidationError(f"items[{index}]", item, str(exc)) from None
    return Call("POST", "/usage/batch", parse.many(parse.usage), json={"items": body}, safe=True)


def void_usage(usage_id: str, reason: str, request_id: str | None) -> Call:
    body = {"reason": reason, "request_id": request_id}
    return Call(
        "POST",
        f"/usage/{seg(usage_id)}/void",
        parse.usage,
        json={k: v for k, v in body.items() if v is not None},
        safe=request_id is not None,
    )


def adjust_usage(usage_id: str, reason: str, cost: Any, request_id: Any, tokens: dict) -> Call:
    body = encode(
        {"reason": reason, "cost": _money("cost", cost), "request_id": request_id, **tokens}
    )
    return Call(
        "POST",
        f"/usage/{seg(usage_id)}/adjust",
        parse.usage,
        json={k: v for k, v in body.items() if v is not None},
        safe=request_id is not None,
    )


def get_usage(usage_id: str) -> Call:
    return Call("GET", f"/usage/{seg(usage_id)}", parse.usage, safe=True)


def check_filters(filters: dict[str, Any]) -> None:
    """Refuse a usage filter the service does not know (as the service would)."""
    for name, value in filters.items():
        if name not in _USAGE_FILTERS:
            raise ValidationError(
                name, value, "not a usage filter; use one of " + ", ".join(sorted(_USAGE_FILTERS))
            )


def list_usage(params: dict[str, Any], filters: dict[str, Any]) -> Call:
    check_filters(filters)
    return Call(
        "GET",
        "/usage",
        parse.page(parse.usage),
        params=query(**params, **filters),
        safe=True,
    )


def usage_totals(filters: dict[str, Any]) -> Call:
    window = {k: filters.pop(k) for k in ("since", "until", "budget_id") if k in filters}
    check_filters(filters)
    return Call("GET", "/usage/totals", parse.totals, params=query(**window, **filters), safe=True)


# --- state, alerts and prices ---------------------------------------------------------


def summary(budget_id: str, top: int, subject: dict[str, str] | None) -> Call:
    params = query(top=top, subject=_subject(subject))
    return Call(
        "GET", f"/budgets/{seg(budget_id)}/summary", parse.summary, params=params, safe=True
    )


def window_history(policy_id: str, last: int, subject: dict[str, str] | None) -> Call:
    params = query(last=last, subject=_subject(subject))
    path = f"/policies/{seg(policy_id)}/history"
    return Call("GET", path, parse.many(parse.past_window), params=params, safe=True)


def list_alerts(**params: Any) -> Call:
    return Call("GET", "/alerts", parse.page(parse.alert), params=query(**params), safe=True)


def acknowledge_alert(alert_id: str, by: str) -> Call:
    path = f"/alerts/{seg(alert_id)}/acknowledge"
    return Call("POST", path, parse.alert, json={"by": by})


def acknowledge_alerts(by: str, fields: dict[str, Any]) -> Call:
    """Not repeated once it may have arrived: a second send would answer 0."""
    body = {k: v for k, v in encode({"by": by, **fields}).items() if v is not None}
    return Call("POST", "/alerts/acknowledge", lambda d: int(d["acknowledged"]), json=body)


def estimate_cost(fields: dict[str, Any]) -> Call:
    body = {k: v for k, v in encode(fields).items() if v is not None}
    return Call("POST", "/estimate", parse.estimate, json=body, safe=True)
