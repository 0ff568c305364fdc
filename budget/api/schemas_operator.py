"""Response models of ``GET /admin/doctor``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

Status = Literal["ok", "warn", "fail"]


class CheckOut(BaseModel):
    name: str
    status: Status
    summary: str
    details: dict[str, Any]


class DoctorOut(BaseModel):
    """The report: fail if any check failed, else warn if any warned, else ok."""

    status: Status
    version: str
    checked_at: datetime
    checks: list[CheckOut]

    @classmethod
    def of(cls, report) -> DoctorOut:
        return cls.model_validate(report.to_dict())
