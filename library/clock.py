"""The one source of "now". Code asks ``clock.now()`` (or takes ``now``) so tests can move time."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

_state = threading.local()
_global_override: list[dt.datetime | None] = [None]
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    """The current time, timezone-aware in UTC (or the frozen time set by a test)."""
    frozen = getattr(_state, "frozen", None) or _global_override[0]
    if frozen is not None:
        return frozen
    return dt.datetime.now(dt.UTC)


def set_now(value: dt.datetime | None) -> None:
    """Freeze the clock for every thread (tests and time-travel only); ``None`` unfreezes."""
    if value is not None and value.tzinfo is None:
        raise ValueError("set_now needs an aware datetime")
    _global_override[0] = value.astimezone(dt.UTC) if value is not None else None


@contextmanager
def frozen(value: dt.datetime) -> Iterator[None]:
    """Freeze the clock for the duration of the block (all threads)."""
    previous = _global_override[0]
    set_now(value)
    try:
        yield
    finally:
        _global_override[0] = previous


def local_now(tz: dt.tzinfo = DEFAULT_TZ) -> dt.datetime:
    return now().astimezone(tz)


def local_today(tz: dt.tzinfo = DEFAULT_TZ) -> dt.date:
    return local_now(tz).date()


def to_local(value: dt.datetime, tz: dt.tzinfo = DEFAULT_TZ) -> dt.datetime:
    return value.astimezone(tz)
