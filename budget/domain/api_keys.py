"""An API key of the REST service, as the engine and its callers see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ROLES = ("admin", "client")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    role: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    #: A client key's identity (None: not bound) and the budgets it sees (None: all).
    user: str | None = None
    project: str | None = None
    component: str | None = None
    budget_ids: tuple[str, ...] | None = None

    def bound(self) -> dict[str, str]:
        """The attributes a request by this key carries: its own name as
        ``api_key`` always, and the user, project and component it is bound to."""
        out = {"api_key": self.name}
        for name in ("user", "project", "component"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out
