"""Extension points through which the domain packages plug into the core without the core
importing them: navigation entries, demo steps, scheduled jobs, OpenAPI paths, search hooks.

Each package's ``init_app(app)`` registers what it offers; ``library`` only reads the lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask


@dataclass(frozen=True)
class NavItem:
    """A link in the navigation. ``audience`` is "staff", "reader" or "public"; ``roles`` limits
    staff links to users holding any of those roles (empty: every staff user)."""

    endpoint: str
    label: Any  # lazy translatable string
    audience: str = "staff"
    roles: tuple[str, ...] = ()
    order: int = 100


@dataclass(frozen=True)
class DemoStep:
    """One step of ``library demo``: ``run(session, ctx)`` adds its data and writes what a user
    needs to know (logins, barcodes ...) into ``ctx.out`` (which becomes demo.json)."""

    name: str
    order: int
    run: Callable[[Any, Any], None]


@dataclass(frozen=True)
class JobSpec:
    """A scheduled job: ``func(app)`` opens its own session. ``trigger`` and ``trigger_args`` are
    APScheduler's (e.g. "cron", {"minute": 5})."""

    id: str
    func: Callable[[Flask], Any]
    trigger: str
    trigger_args: dict[str, Any] = field(default_factory=dict)
    description: str = ""


def _ext(app: Flask, key: str) -> list[Any]:
    lst: list[Any] = app.extensions.setdefault(key, [])
    return lst


def register_nav(app: Flask, item: NavItem) -> None:
    _ext(app, "library.nav").append(item)


def nav_items(app: Flask) -> list[NavItem]:
    return sorted(_ext(app, "library.nav"), key=lambda n: n.order)


def register_demo_step(app: Flask, step: DemoStep) -> None:
    _ext(app, "library.demo_steps").append(step)


def demo_steps(app: Flask) -> list[DemoStep]:
    return sorted(_ext(app, "library.demo_steps"), key=lambda s: s.order)


def register_job(app: Flask, job: JobSpec) -> None:
    jobs = _ext(app, "library.jobs")
    if any(j.id == job.id for j in jobs):
        raise ValueError(f"job id {job.id!r} registered twice")
    jobs.append(job)


def jobs(app: Flask) -> list[JobSpec]:
    return list(_ext(app, "library.jobs"))


def register_openapi_paths(app: Flask, paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
    """Add paths (and component schemas) to the OpenAPI document served at /api/v1/openapi.json."""
    doc = app.extensions.setdefault("library.openapi", {"paths": {}, "schemas": {}})
    doc["paths"].update(paths)
    doc["schemas"].update(schemas or {})


def register_translation_dir(app: Flask, path: str) -> None:
    _ext(app, "library.translation_dirs").append(path)


@dataclass(frozen=True)
class SeedStep:
    """Default configuration rows (reader categories, item types, rules ...) that an admin may
    edit later. ``run(session)`` must be idempotent: insert only what is missing. Run by
    ``library db upgrade`` after the migrations, and by the test fixtures."""

    name: str
    order: int
    run: Callable[[Any], None]


def register_seed(app: Flask, step: SeedStep) -> None:
    _ext(app, "library.seeds").append(step)


def seeds(app: Flask) -> list[SeedStep]:
    return sorted(_ext(app, "library.seeds"), key=lambda s: s.order)


def run_seeds(app: Flask, session: Any) -> None:
    for step in seeds(app):
        step.run(session)


def register_home_panel(app: Flask, template: str) -> None:
    """A template included on the home page (new arrivals, upcoming events ...)."""
    _ext(app, "library.home_panels").append(template)


def register_admin_link(app: Flask, endpoint: str, label: Any) -> None:
    """A link on the admin index page (rules matrix, kiosks, controlled lists ...)."""
    _ext(app, "library.admin_links").append((endpoint, label))
