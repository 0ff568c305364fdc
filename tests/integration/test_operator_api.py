"""The operator's bulk operations over REST and through budget.connect(), on both
backends: POST /admin/prune (dry run, admin only, the period checked) and POST
/alerts/acknowledge (ids, filters, all; refused without any; one UPDATE)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import budget
from budget.domain.enums import AlertKind
from budget.server.app import create_app

sys.path.insert(0, str(Path(__file__).parent))
from _serve import serving

V1 = "/api/v1"
GPT = {"provider": "openai", "model": "gpt-4o"}


def two_kinds_of_alerts(svc) -> tuple[str, str]:
    """A denied alert of a budget and an unpriced-model alert of none; their ids."""
    team = svc.create_budget("team")
    svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=100)
    with pytest.raises(budget.BudgetExceeded):
        svc.allocate(context_id="big", tokens=500, **GPT)
    svc.record_usage(provider="acme", model="nope-1", input_tokens=5)
    alerts = {a.kind: a.alert_id for a in svc.list_alerts()}
    return alerts[AlertKind.DENIED], alerts[AlertKind.UNPRICED_MODEL]


def test_acknowledging_many_alerts_in_the_library(svc, pinned_clock):
    denied, unpriced = two_kinds_of_alerts(svc)
    with pytest.raises(budget.ValidationError) as nothing:
        svc.acknowledge_alerts("ops")
    assert nothing.value.field == "alert_ids"
    later = pinned_clock.now + timedelta(hours=1)
    assert svc.acknowledge_alerts("ops", before=pinned_clock.now - timedelta(hours=1)) == 0
    assert svc.acknowledge_alerts("ops", kind="denied", alert_ids=[unpriced]) == 0  # both apply
    assert svc.acknowledge_alerts("ops", alert_ids=[denied, "alr_missing"]) == 1
    assert svc.acknowledge_alerts("late", all=True, before=later) == 1
    assert svc.acknowledge_alerts("late", all=True) == 0
    by = {a.alert_id: a.acknowledged_by for a in svc.list_alerts()}
    assert by == {denied: "ops", unpriced: "late"}
    with pytest.raises(budget.ValidationError) as bad_kind:
        svc.acknowledge_alerts("ops", kind="nope")
    assert bad_kind.value.field == "kind"


def test_rest_endpoints_are_admin_only_and_name_bad_input(svc, pinned_clock):
    _, unpriced = two_kinds_of_alerts(svc)
    _, admin = svc.create_api_key("ops", "admin")
    _, client_key = svc.create_api_key("app", "client")
    as_admin = {"Authorization": f"Bearer {admin}"}
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as client:
        as_client = {"Authorization": f"Bearer {client_key}"}
        for path, body in (("/admin/prune", {"older_than": "90d"}), ("/alerts/acknowledge", {})):
            assert client.post(V1 + path, json=body, headers=as_client).status_code == 403
        none = client.post(f"{V1}/alerts/acknowledge", json={"by": "ops"}, headers=as_admin)
        assert none.status_code == 422 and none.json()["field"] == "alert_ids"
        team = svc.find_budget("team").budget_id
        acked = client.post(
            f"{V1}/alerts/acknowledge",
            json={"by": "ops", "budget_id": team, "kind": "denied"},
            headers=as_admin,
        )
        assert acked.status_code == 200 and acked.json() == {"acknowledged": 1}
        assert svc.list_alerts(acknowledged=False)[0].alert_id == unpriced

        bad = client.post(f"{V1}/admin/prune", json={"older_than": "3 months"}, headers=as_admin)
        assert bad.status_code == 422 and bad.json()["field"] == "older_than"
        dry = client.post(
            f"{V1}/admin/prune",
            json={"older_than": "1h", "dry_run": True, "ledger": True},
            headers=as_admin,
        )
        assert dry.status_code == 200, dry.text
        body = dry.json()
        assert body["dry_run"] is True and body["older_than_seconds"] == 3600
        assert set(body["counts"]) == {
            "webhook_deliveries",
            "events",
            "allocation_windows",
            "allocations",
            "usage_records",
        }


@pytest.fixture
def remote(svc) -> Iterator[budget.remote.RemoteService]:
    with serving(svc) as url, budget.connect(url) as client:
        yield client


def test_remote_acknowledges_like_the_library(svc, remote):
    denied, unpriced = two_kinds_of_alerts(svc)
    with pytest.raises(budget.ValidationError) as nothing:
        remote.acknowledge_alerts("ops")
    assert nothing.value.field == "alert_ids"
    assert remote.acknowledge_alerts("ops", kind=AlertKind.UNPRICED_MODEL) == 1
    assert remote.acknowledge_alerts("ops", alert_ids=[denied, unpriced]) == 1
    assert remote.acknowledge_alerts("ops", all=True) == 0
    assert all(a.acknowledged_by == "ops" for a in svc.list_alerts())


def test_async_clients_acknowledge_too(svc, db_url):
    two_kinds_of_alerts(svc)

    async def main() -> tuple[int, int]:
        async with budget.open_async(db_url) as local:
            first = await local.acknowledge_alerts("ops", kind="denied")
        with serving(svc) as served:
            async with budget.connect_async(served) as over_rest:
                second = await over_rest.acknowledge_alerts("ops", all=True)
        return first, second

    assert asyncio.run(main()) == (1, 1)
