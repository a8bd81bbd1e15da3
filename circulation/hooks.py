"""Extension points of circulation for packages that build on it (import direction: they import
this module, never the other way).

A loan-quota provider is ``fn(session, reader_id, today) -> int``: extra items the reader may
have out on ``today`` beyond the rule's ``max_items`` (e.g. a points reward "5 more loans for 30
days"). The extras of every provider add up. Providers register when their package is set up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

LoanQuotaProvider = Callable[[Session, int, dt.date], int]

_quota_providers: list[LoanQuotaProvider] = []


def register_loan_quota_provider(fn: LoanQuotaProvider) -> LoanQuotaProvider:
    """Add a provider (idempotent). Returns ``fn``."""
    if fn not in _quota_providers:
        _quota_providers.append(fn)
    return fn


def unregister_loan_quota_provider(fn: LoanQuotaProvider) -> None:
    if fn in _quota_providers:
        _quota_providers.remove(fn)


def extra_loans(session: Session, reader_id: int, today: dt.date) -> int:
    """Extra loans granted by every provider on ``today`` (never negative)."""
    return max(0, sum(int(fn(session, reader_id, today)) for fn in list(_quota_providers)))
