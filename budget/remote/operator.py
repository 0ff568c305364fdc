"""``doctor`` and ``export_usage`` over REST: the requests and how to read them.

``GET /admin/doctor`` answers the report as JSON; ``GET /usage/export`` streams
JSON lines (``format=jsonl``), one usage object each, read line by line so
memory stays bounded on the client too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from budget.domain.models import UsageRecord
from budget.remote import calls, parse
from budget.remote.wire import Call, query

EXPORT_PATH = "/usage/export"


def doctor() -> Call:
    return Call("GET", "/admin/doctor", doctor_report, safe=True)


def doctor_report(body: dict[str, Any]):
    """The answer as :class:`budget.engine.doctor.DoctorReport`."""
    from budget.engine.doctor import Check, DoctorReport

    return DoctorReport(
        version=body["version"],
        checked_at=datetime.fromisoformat(body["checked_at"]),
        checks=[
            Check(c["name"], c["status"], c["summary"], c.get("details") or {})
            for c in body["checks"]
        ],
    )


def export_params(
    since: Any, until: Any, budget_id: str | None, priced: bool | None, filters: dict[str, Any]
) -> dict[str, Any]:
    """The query of ``GET /usage/export?format=jsonl`` (unknown filters refused here)."""
    calls.check_filters(filters)
    window = {"since": since, "until": until, "budget_id": budget_id, "priced": priced}
    return query(**window, **filters, format="jsonl")


def usage_lines(lines: Iterable[str]) -> Iterable[UsageRecord]:
    """Each non-blank JSON line as a UsageRecord."""
    for line in lines:
        if line.strip():
            yield parse.usage(json.loads(line))
