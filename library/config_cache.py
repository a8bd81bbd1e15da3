"""Configuration kept in each process's memory while its database token is unchanged.

Rules and calendars are read on every checkout but change a few times a year. Each group of
configuration tables has a token in ``config_versions`` that database triggers replace on every
write to those tables (``library.models.ConfigVersion``), so a process may keep what it read and
compare the token, which a hot statement can return as one more column (the checkout's look-up
does), instead of reading the tables again.

The value is only kept when the token read before loading it equals the token read after: a
change committed in between is never cached under the old token. A transaction that changed
the tables itself sees its own new token, so it never gets the cached value of the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from library.models import ConfigVersion

T = TypeVar("T")

_VERSION = select(ConfigVersion.version).where(ConfigVersion.name == bindparam("name"))
UNKNOWN: Any = object()  # the caller has not read the token


def version_column(name: str) -> Any:
    """The group's token as a scalar subquery, to add to a statement the caller runs anyway."""
    return select(ConfigVersion.version).where(ConfigVersion.name == name).scalar_subquery()


class VersionedCache(Generic[T]):
    """One value per process: ``load(session)`` while the token of ``name`` is unchanged."""

    def __init__(self, name: str, load: Callable[[Session], T]) -> None:
        self.name = name
        self._load = load
        self._entry: tuple[int, T] | None = None
        self.loads = 0  # how many times the value was read from the database (for tests)

    def version(self, session: Session) -> int | None:
        return session.scalar(_VERSION, {"name": self.name})

    def get(self, session: Session, version: int | None = UNKNOWN) -> T:
        """The value as of ``version`` (the token the caller read in this transaction; read here
        when not given). A missing token (NULL) means: do not cache, read every time."""
        if version is UNKNOWN:
            version = self.version(session)
        entry = self._entry
        if version is not None and entry is not None and entry[0] == version:
            return entry[1]
        value = self._load(session)
        self.loads += 1
        if version is not None and self.version(session) == version:
            self._entry = (version, value)  # one assignment: threads see the old entry or the new
        return value
