"""The ``library`` command: ``library db upgrade``, ``library demo``, ``library serve``,
``library user create``, ``library user token``; packages add their own groups."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from library import migrate
from library.db import get_database


def _create_app(*_args: Any) -> Flask:
    from library.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False, load_dotenv=False, set_debug_flag=False)
def main() -> None:
    """District library system (区图书馆总分馆系统)."""


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.argument("revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Bring the database schema up to date (SQLite or PostgreSQL)."""
    url = current_app.config["LIBRARY_DATABASE_URL"]
    migrate.upgrade(url, revision)
    from library.registry import run_seeds

    with get_database().transaction() as session:
        run_seeds(current_app, session)
    click.echo(f"database at {get_database().engine.url.render_as_string(hide_password=True)} is up to date")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Step the schema back to REVISION (e.g. base)."""
    migrate.downgrade(current_app.config["LIBRARY_DATABASE_URL"], revision)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--scheduler/--no-scheduler", default=True, show_default=True,
              help="Run scheduled jobs in this process (guarded by a database lock).")
@with_appcontext
def serve(host: str, port: int, threads: int, scheduler: bool) -> None:
    """Serve the web application with a production WSGI server (waitress)."""
    from waitress import serve as waitress_serve

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if scheduler:
        starter = app.extensions.get("library.start_embedded_scheduler")
        if starter is not None:
            starter(app)
    click.echo(f"serving on http://{host}:{port}/")
    sys.stdout.flush()
    waitress_serve(app, host=host, port=port, threads=threads, ident="library")


@click.group("user")
def user_group() -> None:
    """Staff users."""


@user_group.command("create")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default="")
@click.option("--role", "roles", multiple=True, required=True,
              help="admin, circulation, cataloguer, organiser, ancient_books; circulation:BRANCHCODE scopes it")
@with_appcontext
def user_create(username: str, password: str, display_name: str, roles: tuple[str, ...]) -> None:
    """Create a staff user."""
    from library import audit
    from library.errors import LibraryError
    from library.services import create_staff, get_branch_by_code

    with get_database().transaction() as session:
        try:
            parsed = []
            for spec in roles:
                role, _, code = spec.partition(":")
                parsed.append((role, get_branch_by_code(session, code) if code else None))
            user = create_staff(session, username=username, password=password, display_name=display_name,
                                roles=parsed)
            audit.record(session, action="staff.create", actor="cli", target_type="staff", target_id=user.id)
        except LibraryError as exc:
            raise click.ClickException(exc.text) from exc
    click.echo(f"created staff user {username}")


@user_group.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="What the token is for")
@with_appcontext
def user_token(username: str, name: str) -> None:
    """Print a new API token for USERNAME (shown once; only its hash is stored)."""
    from sqlalchemy import select

    from library import clock
    from library.models import ApiToken, StaffUser
    from library.security import new_api_token

    with get_database().transaction() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is None:
            raise click.ClickException(f"no staff user {username!r}")
        token, digest = new_api_token()
        session.add(ApiToken(user_id=user.id, name=name, token_hash=digest, created_at=clock.now()))
    click.echo(token)


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(serve)
    app.cli.add_command(user_group)
