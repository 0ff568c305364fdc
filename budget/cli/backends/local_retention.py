"""The operator's bulk operations of LocalBackend: prune, acknowledge many alerts.

Like the rest of LocalBackend: the body is validated with the API's request
model, the service is called as the route calls it, and the answer is the
route's response body.
"""

from __future__ import annotations

from typing import Any

from budget.api.schemas_retention import AcknowledgedOut, AcknowledgeManyIn, PruneIn, PruneOut
from budget.cli.backends.base import Json, parse_body


class LocalRetention:
    """Mixed into LocalBackend (which provides ``svc``)."""

    svc: Any

    def prune(self, body: Json) -> Json:
        request = parse_body(PruneIn, body)
        report = self.svc.prune(request.older_than, ledger=request.ledger, dry_run=request.dry_run)
        return PruneOut.of(report).model_dump(mode="json")

    def acknowledge_alerts(self, body: Json) -> Json:
        request = parse_body(AcknowledgeManyIn, body)
        count = self.svc.acknowledge_alerts(
            request.by,
            alert_ids=request.alert_ids,
            all=request.all,
            kind=request.kind,
            budget_id=request.budget_id,
            before=request.before,
        )
        return AcknowledgedOut(acknowledged=count).model_dump(mode="json")
