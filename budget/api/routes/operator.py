"""/usage/export (the whole ledger, streamed) and /admin/doctor."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from budget.api.deps import AdminDep, ClientDep, ServiceDep
from budget.api.routes.ledger import Filter, LedgerFiltersDep
from budget.api.schemas_operator import DoctorOut
from budget.api.strict import StrictRoute
from budget.api.times import Instant
from budget.api.usage_export import MEDIA_TYPES, export_chunks

router = APIRouter(route_class=StrictRoute)
EXPORT = {
    200: {
        "description": "Every matching ledger entry, oldest first: CSV (docs/cli.md lists "
        "the columns) or JSON lines (one usage object each)",
        "content": {"text/csv": {}, "application/x-ndjson": {}},
    }
}


@router.get(
    "/usage/export",
    response_class=StreamingResponse,
    responses=EXPORT,
    tags=["allocations and usage"],
)
def export_usage(
    svc: ServiceDep,
    caller: ClientDep,
    filters: LedgerFiltersDep,
    format: Literal["csv", "jsonl"] = "jsonl",
    since: Instant | None = None,
    until: Instant | None = None,
    budget_id: Filter = None,
    priced: bool | None = None,
    kind: Literal["usage", "void", "adjust"] | None = None,
    corrects_id: Filter = None,
) -> StreamingResponse:
    """The whole matching ledger (the filters of ``GET /usage``), oldest first,
    streamed without a page cap; the server reads it a page at a time."""
    records = svc.export_usage(
        since=since,
        until=until,
        budget_id=caller.budget(budget_id),
        priced=priced,
        kind=kind,
        corrects_id=corrects_id,
        **filters,
    )
    return StreamingResponse(
        export_chunks(records, format),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="usage.{format}"'},
    )


@router.get("/admin/doctor", response_model=DoctorOut, tags=["admin"])
def doctor(svc: ServiceDep, _: AdminDep) -> DoctorOut:
    """Database (URL masked), schema revision against head, installed extras,
    API keys, price-source health and the database's clock skew, each ok, warn
    or fail; ``status`` is the worst of them."""
    return DoctorOut.of(svc.doctor())
