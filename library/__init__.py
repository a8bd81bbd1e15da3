"""The core of the district library system: app factory, configuration, database, branches,
readers, staff, authentication, errors, scheduler registry, CLI and clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Any = None) -> Flask:
    from library.app import create_app as _create_app

    return _create_app(config)


__all__ = ["create_app"]
