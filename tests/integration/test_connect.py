"""budget.connect(): the library's methods over the real REST app.

One script through ``budget.open`` and through ``budget.connect`` gives equal
results (allocations, usage, summaries, alerts, estimates, and the same
exceptions with the same fields); retries count usage once and never repeat
an allocation that may have arrived; 8 threads through one client never
overspend a hard limit; a client key's identity binds over connect.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from enum import Enum
from pathlib import Path

import pytest

import budget
from budget.remote import RemoteService, RetryPolicy, ServerUnavailable, Unauthorized

sys.path.insert(0, str(Path(__file__).parent))
from _serve import Flaky, free_port, serving

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)


@pytest.fixture
def server(svc) -> Iterator[str]:
    with serving(svc) as url:
        yield url


@pytest.fixture
def remote(server) -> Iterator[RemoteService]:
    with budget.connect(server, retry=FAST) as client:
        yield client


def _failure(run) -> dict:
    """What an exception says, for comparison: class and public fields. Bad
    input is compared by class, field and value: the server's request
    validation may word the reason differently."""
    try:
        run()
    except budget.BudgetError as exc:
        fields = {k: v for k, v in vars(exc).items() if not k.startswith("_")}
        if isinstance(exc, budget.BudgetExceeded):
            fields["retry_after_seconds"] = exc.retry_after_seconds
        if isinstance(exc, budget.ValidationError):
            return {"class": type(exc).__name__, "field": exc.field, "value": exc.value}
        return {"class": type(exc).__name__, "message": str(exc), **fields}
    raise AssertionError("no error raised")


def scenario(s, tag: str) -> dict:
    """The README's quickstart and its errors, on a budget of its own."""
    out: dict = {}
    team = s.create_budget(name=f"team-{tag}", owner="platform")
    call = {"project": tag, "provider": "openai", "model": "gpt-4o"}
    out["hard"] = s.add_policy(
        team.budget_id, type="hard_limit", period="daily", cost_limit=Decimal("0.05"),
        timezone="Europe/Berlin", name="daily-usd", project=tag, provider="openai",
    )  # fmt: skip
    out["warn"] = s.add_policy(
        team.budget_id, type="warn", period="monthly", token_limit=6000,
        warning_thresholds=[Decimal("0.5"), Decimal("0.8")], project=tag, name="tokens",
    )  # fmt: skip
    alloc = s.allocate(context_id="task-42", input_tokens=1200, max_output_tokens=800, **call)
    out["allocation"] = alloc
    out["check_allowed"] = s.check(context_id="task-43", tokens=300, **call)
    usage = {"input_tokens": 1200, "output_tokens": 640, "request_id": f"{tag}-req-1", **call}
    out["usage"] = s.record_usage(allocation_id=alloc.allocation_id, **usage)
    out["usage_again"] = s.record_usage(allocation_id=alloc.allocation_id, **usage)
    out["released"] = s.release(alloc.allocation_id)
    out["released_again"] = s.release(alloc.allocation_id)
    with s.spend(
        context_id=f"task-44-{tag}", input_tokens=1200, max_output_tokens=800, **call
    ) as c:
        c.record(output_tokens=640, request_id=f"{tag}-req-2", latency_ms=900)
    out["spent"] = (c.allocation, c.usage, s.get_allocation(c.allocation_id))
    out["batch"] = s.record_usage_batch(
        [
            {"input_tokens": 1000, "output_tokens": 200, "request_id": f"{tag}-b1", **call},
            {
                **call,
                "input_tokens": 500,
                "cached_input_tokens": 400,
                "output_tokens": 100,
                "reasoning_tokens": 50,
                "request_id": f"{tag}-b2",
                "metadata": {"step": 2},
            },
        ]
    )
    out["check_denied"] = s.check(context_id="task-45", tokens=500_000, **call)
    out["denied"] = _failure(lambda: s.allocate(context_id="task-45", tokens=500_000, **call))
    out["bad_tokens"] = _failure(
        lambda: s.allocate(context_id="x", input_tokens=-1, max_output_tokens=10, **call)
    )
    out["bad_text"] = _failure(lambda: s.record_usage(input_tokens="many", **call))
    out["bad_period"] = _failure(
        lambda: s.add_policy(team.budget_id, type="hard_limit", period="fortnightly", token_limit=5)
    )
    out["float_money"] = _failure(
        lambda: s.add_policy(team.budget_id, type="hard_limit", period="daily", cost_limit=0.1)
    )
    out["missing"] = _failure(lambda: s.get_allocation("no-such-allocation"))
    out["duplicate"] = _failure(lambda: s.create_budget(name=f"team-{tag}"))
    out["idempotency"] = _failure(
        lambda: s.record_usage(**{**usage, "output_tokens": 641, "allocation_id": None})
    )
    unknown = {**call, "model": "no-such-model-xyz"}
    out["price_unknown"] = _failure(lambda: s.allocate(context_id="x", tokens=10, **unknown))
    summary = s.summary(team.budget_id)  # ids are random, so is the order of equal policies
    out["summary"] = (summary.budget, sorted(summary.windows, key=lambda w: w.policy_name))
    out["history"] = s.window_history(out["hard"].policy_id)
    out["policies"] = sorted(s.list_policies(team.budget_id), key=lambda p: p.name)
    out["found"] = s.find_budget(f"team-{tag}")
    out["budget"] = s.get_budget(team.budget_id)
    usage_list = s.list_usage(project=tag)
    out["usage_list"] = (sorted(usage_list, key=lambda u: u.request_id), usage_list.total)
    out["totals"] = s.usage_totals(project=tag)
    out["alerts"] = sorted(s.list_alerts(budget_id=team.budget_id), key=lambda a: a.message)
    out["allocations"] = s.list_allocations(context_id=f"task-44-{tag}")
    out["estimate"] = s.estimate_cost(
        provider="openai", model="gpt-4o", input_tokens=1000, output_tokens=500,
        cached_input_tokens=200,
    )  # fmt: skip
    return out


def _plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, Enum):
        return value.value
    return value


_ID_KEYS = re.compile(r"(_id|_ids|^existing_usage_id|^usage_id)$")


def normalized(result: dict, tag: str) -> dict:
    """The results with ids named by order of appearance and the tag replaced,
    so two runs on one database compare equal."""
    ids: dict[str, str] = {}

    def collect(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                collect(v, k)
        elif isinstance(value, list):
            for v in value:
                collect(v, key)
        elif isinstance(value, str) and _ID_KEYS.search(key) and len(value) >= 8:
            ids.setdefault(value, f"<id{len(ids)}>")

    def rename(value):
        if isinstance(value, dict):  # ids are random: their order in a list is not kept
            return {
                k: sorted(rename(v)) if k == "policy_ids" else rename(v) for k, v in value.items()
            }
        if isinstance(value, list):
            return [rename(v) for v in value]
        if isinstance(value, str):
            for original, name in ids.items():
                value = value.replace(original, name)
            return value.replace(tag, "<tag>")
        return value

    plain = _plain(result)
    collect(plain)
    return rename(plain)


def test_connect_and_open_give_the_same_results(svc, server, pinned_clock):
    local = normalized(scenario(svc, "tagone"), "tagone")
    with budget.connect(server) as client:
        remote = normalized(scenario(client, "tagtwo"), "tagtwo")
    assert local.keys() == remote.keys()
    for key in local:
        assert remote[key] == local[key], (key, remote[key], local[key])
    # the exceptions are the library's own, with the fields a caller reads
    assert local["denied"]["class"] == "BudgetExceeded" and local["denied"]["limit_kind"] == "usd"
    assert local["bad_tokens"]["field"] == "input_tokens"
    assert local["bad_text"]["field"] == "input_tokens"
    assert local["bad_period"]["field"] == "period"
    assert local["missing"]["class"] == "NotFound"
    assert local["idempotency"]["class"] == "IdempotencyConflict"
    assert local["price_unknown"]["class"] == "PriceUnknown"
    assert sorted(a["kind"] for a in local["alerts"]) == ["denied", *["threshold_crossed"] * 2]


def test_a_lost_answer_to_usage_is_sent_again_and_counted_once(svc, server):
    flaky = Flaky("drop")
    with RemoteService(server, retry=FAST, transport=flaky) as client:
        rec = client.record_usage(
            provider="openai", model="gpt-4o", input_tokens=10, output_tokens=5, request_id="r-1"
        )
    assert [a for _, _, a in flaky.seen] == ["drop", "pass"]
    assert rec.request_id == "r-1"
    assert svc.usage_totals()["records"] == 1


def test_usage_without_a_request_id_gets_one_so_retries_count_once(svc, server):
    flaky = Flaky("503", "drop")
    with RemoteService(server, retry=FAST, transport=flaky) as client:
        rec = client.record_usage(provider="openai", model="gpt-4o", input_tokens=10)
        batch = client.record_usage_batch([{"provider": "openai", "model": "gpt-4o"}] * 2)
    assert len(flaky.seen) == 4
    assert rec.request_id.startswith("auto-")
    assert len({r.request_id for r in batch}) == 2
    assert svc.usage_totals()["records"] == 3


def test_an_allocation_that_may_have_arrived_is_not_sent_twice(svc, server):
    svc.create_budget(name="t")
    request = {"context_id": "c", "provider": "openai", "model": "gpt-4o", "tokens": 100}
    client = RemoteService(server, retry=FAST, transport=Flaky("drop"))
    with client, pytest.raises(ServerUnavailable) as lost:
        client.allocate(**request)
    assert "POST http://127.0.0.1:" in str(lost.value) and "/api/v1/allocations" in str(lost.value)
    assert isinstance(lost.value, budget.StorageError)
    assert len(svc.list_allocations()) == 1  # it did arrive, once
    client = RemoteService(server, retry=FAST, transport=Flaky("503"))
    with client, pytest.raises(ServerUnavailable):
        client.allocate(**request)
    assert len(svc.list_allocations()) == 1
    flaky = Flaky("refuse")
    with RemoteService(server, retry=FAST, transport=flaky) as client:
        allocation = client.allocate(**request)  # never sent: safe to send
        assert client.release(allocation.allocation_id).status == "released"
    assert [a for _, _, a in flaky.seen] == ["refuse", "pass", "pass"]
    assert len(svc.list_allocations()) == 2


def test_release_is_sent_again_after_a_lost_answer(svc, server):
    allocation = svc.allocate(context_id="c", provider="openai", model="gpt-4o", tokens=100)
    with RemoteService(server, retry=FAST, transport=Flaky("drop")) as client:
        assert client.release(allocation.allocation_id).status == "released"


def test_an_unreachable_server_names_the_url_without_secrets():
    url = f"http://user:s3cret@127.0.0.1:{free_port()}"
    client = budget.connect(url, key="bgt_supersecretvalue", retry=FAST, timeout=2)
    with client, pytest.raises(ServerUnavailable) as failed:
        client.get_budget("b")
    message = str(failed.value)
    assert "127.0.0.1" in message and "cannot connect" in message
    assert "s3cret" not in message and "supersecret" not in message
    with pytest.raises(budget.ValidationError) as bad:
        budget.connect("ftp://example.com")
    assert bad.value.field == "url"


def test_eight_threads_never_overspend_a_hard_limit(svc, remote):
    team = svc.create_budget(name="shared")
    svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=1000)
    granted, denied, errors = [], [], []

    def worker() -> None:
        for _ in range(5):
            try:
                granted.append(remote.allocate(context_id="t", tokens=100, provider="openai"))
            except budget.BudgetExceeded as exc:
                denied.append(exc)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(granted) == 10 and len(denied) == 30
    window = remote.summary(team.budget_id).windows[0]
    assert window.tokens_reserved == 1000 and window.tokens_remaining == 0
    assert all(d.limit == 1000 and d.requested == 100 for d in denied)


def test_a_client_key_binds_its_identity_over_connect(svc, server):
    team = svc.create_budget(name="alpha")
    svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=10_000)
    _, admin_secret = svc.create_api_key("ops", role="admin")
    _, secret = svc.create_api_key("alice-app", role="client", user="alice", budgets=["alpha"])
    with budget.connect(server, key=secret) as alice:
        allocation = alice.allocate(context_id="c", provider="openai", model="gpt-4o", tokens=100)
        assert allocation.attributes.user == "alice"
        assert allocation.attributes.api_key == "alice-app"
        with pytest.raises(budget.Forbidden) as claimed:
            alice.allocate(context_id="c", tokens=100, user="bob")
        assert claimed.value.field == "user" and claimed.value.value == "bob"
        assert alice.summary(team.budget_id).windows[0].tokens_reserved == 100
        assert [a.allocation_id for a in alice.list_allocations()] == [allocation.allocation_id]
        with pytest.raises(budget.Forbidden):
            alice.create_budget(name="mine")
    other = svc.allocate(context_id="c", tokens=5, user="carol")
    with budget.connect(server, key=secret) as alice, pytest.raises(budget.NotFound):
        alice.get_allocation(other.allocation_id)
    with budget.connect(server) as anonymous, pytest.raises(Unauthorized):
        anonymous.get_budget(team.budget_id)
    with budget.connect(server, key=admin_secret) as admin:
        assert admin.get_allocation(allocation.allocation_id) == allocation
