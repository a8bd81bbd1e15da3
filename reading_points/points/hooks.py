"""Extension points of the points scheme.

A multiplier provider is ``fn(session, reader_id, kind, now, branch_id) -> Decimal`` (1 = no
change; ``branch_id`` is where the points were earned — the loan's branch — or None). When
a reader earns points of ``kind``, every provider is asked and the largest multiplier applies
(never below 1: a campaign raises earnings, it does not cut them). Providers register at import
time of their module (the campaigns package registers one for running campaigns).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy.orm import Session

MultiplierProvider = Callable[[Session, int, str, dt.datetime, int | None], Decimal]

_providers: list[MultiplierProvider] = []


def register_multiplier_provider(fn: MultiplierProvider) -> MultiplierProvider:
    """Add a multiplier provider (idempotent: registering the same function twice keeps one).
    Returns ``fn`` so it can be used as a decorator."""
    if fn not in _providers:
        _providers.append(fn)
    return fn


def unregister_multiplier_provider(fn: MultiplierProvider) -> None:
    if fn in _providers:
        _providers.remove(fn)


def multiplier_for(session: Session, reader_id: int, kind: str, now: dt.datetime,
                   branch_id: int | None = None) -> Decimal:
    """The largest multiplier any provider gives (at least 1)."""
    best = Decimal(1)
    for fn in list(_providers):
        value = Decimal(fn(session, reader_id, kind, now, branch_id))
        if value > best:
            best = value
    return best
