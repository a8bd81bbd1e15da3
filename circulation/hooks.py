"""Extension points of circulation for packages that build on it (import direction: they import
this module, never the other way).

A loan-quota provider is ``fn(session, reader_id, today) -> int``: extra items the reader may
have out on ``today`` beyond the rule's ``max_items`` (e.g. a points reward "5 more loans for 30
days"). The extras of every provider add up. Providers register when their package is set up.

A history-retention provider is ``fn(session, now) -> list[RetentionWindow]``: loans checked out
in one of the windows are not anonymised yet (``circulation.privacy``), because another package
still counts them per reader (e.g. the books of a running reading challenge). A window ends when
that need does: the provider stops returning it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

LoanQuotaProvider = Callable[[Session, int, dt.date], int]

_quota_providers: list[LoanQuotaProvider] = []


@dataclass(frozen=True)
class RetentionWindow:
    """Loans checked out in [start, end) (at ``branch_ids``, or anywhere when None) are kept."""

    start: dt.datetime
    end: dt.datetime
    branch_ids: tuple[int, ...] | None = None


RetentionProvider = Callable[[Session, dt.datetime], list[RetentionWindow]]

_retention_providers: list[RetentionProvider] = []


def register_history_retention(fn: RetentionProvider) -> RetentionProvider:
    """Add a history-retention provider (idempotent). Returns ``fn``."""
    if fn not in _retention_providers:
        _retention_providers.append(fn)
    return fn


def retention_windows(session: Session, now: dt.datetime) -> list[RetentionWindow]:
    """The windows of every provider."""
    return [w for fn in list(_retention_providers) for w in fn(session, now)]


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
