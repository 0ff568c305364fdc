"""How often each policy refused an allocation (defined with the metrics capability).

Alerts say *that* a policy window denied (once per window); ``policy_denials``
counts *every* refusal, per policy and limit kind, so ``/metrics`` can serve a
denial counter that every replica agrees on. The refusal's transaction adds to
it (see :mod:`budget.storage.denial_counts`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from budget.domain.limits import KEY_LENGTH
from budget.storage.tables import Base


class PolicyDenialRow(Base):
    """Refusals of one policy for one limit kind (tokens, usd, requests), ever."""

    __tablename__ = "policy_denials"

    policy_id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    limit_kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    budget_id: Mapped[str] = mapped_column(String(KEY_LENGTH))
    denials: Mapped[int] = mapped_column(BigInteger, default=0)
    last_denied_at: Mapped[datetime]


policy_denials = PolicyDenialRow.__table__
