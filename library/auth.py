"""Logging in: staff with username and password, readers with card number and PIN, API clients
with bearer tokens. Failed attempts are counted in the database and rate-limited."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, abort, current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from library import clock
from library.db import db_session
from library.errors import LibraryError
from library.models import ApiToken, LoginAttempt, Reader, ReplacedCard, StaffUser
from library.security import token_digest, verify_secret

F = TypeVar("F", bound=Callable[..., Any])

TOKEN_USE_RESOLUTION = dt.timedelta(minutes=5)  # "last used" is kept to this precision (fewer writes)

login_manager = LoginManager()
login_manager.login_view = "core.staff_login"
login_manager.login_message = _l("请先登录")
login_manager.login_message_category = "warning"


class TooManyAttempts(LibraryError):
    code = "too_many_attempts"
    status = 429
    message = _l("登录失败次数过多，请 %(minutes)s 分钟后再试")


class BadCredentials(LibraryError):
    code = "bad_credentials"
    status = 401
    message = _l("账号或密码错误")


class CardNotUsable(LibraryError):
    code = "card_not_usable"
    status = 403
    message = _l("此读者证已挂失或已被替换，请到服务台办理")


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | Reader | None:
    kind, _, raw = user_id.partition(":")
    if not raw.isdigit():
        return None
    session = db_session()
    if kind == "s":
        user = session.get(StaffUser, int(raw))
        return user if user is not None and user.active else None
    if kind == "r":
        return session.get(Reader, int(raw))
    return None


@login_manager.request_loader
def _load_user_from_token(req: Any) -> StaffUser | None:
    """A staff user from ``Authorization: Bearer <token>`` (not revoked, user active). The token's
    "last used" time is written in its own short transaction, before the request opens its
    session, so that a SQLite write lock is never awaited by the request that holds it."""
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    digest = token_digest(header[7:].strip())
    lookup = select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
    if "db_session" in g:  # the request already has its session: look up only
        token = db_session().scalar(lookup)
        if token is None or not token.user.active:
            return None
        g.api_token_id = token.id
        return token.user
    from library.db import get_database

    database = get_database()
    now = clock.now()
    with database.ReadSession() as reader:
        token = reader.scalar(lookup)
        if token is None or not token.user.active:
            return None
        token_id, user_id, last_used = token.id, token.user_id, token.last_used_at
    if last_used is None or now - last_used > TOKEN_USE_RESOLUTION:
        from sqlalchemy import update

        with database.transaction() as writer:
            writer.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
    g.api_token_id = token_id
    return db_session().get(StaffUser, user_id)


def _window(app: Flask) -> dt.timedelta:
    return dt.timedelta(minutes=int(app.config["LIBRARY_LOGIN_WINDOW_MINUTES"]))


def check_rate_limit(session: Session, *, kind: str, identifier: str, now: dt.datetime) -> None:
    """Refuse when the identifier had too many failed attempts in the window (since its last
    success). Raises TooManyAttempts."""
    app = current_app
    since = now - _window(app)
    last_ok = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.kind == kind, LoginAttempt.identifier == identifier, LoginAttempt.success.is_(True)
        )
    )
    if last_ok is not None and last_ok > since:
        since = last_ok
    failures = session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.kind == kind,
            LoginAttempt.identifier == identifier,
            LoginAttempt.success.is_(False),
            LoginAttempt.at > since,
        )
    ) or 0
    if failures >= int(app.config["LIBRARY_LOGIN_MAX_FAILURES"]):
        raise TooManyAttempts(minutes=int(app.config["LIBRARY_LOGIN_WINDOW_MINUTES"]))


def record_attempt(session: Session, *, kind: str, identifier: str, success: bool, now: dt.datetime,
                   remote_addr: str = "") -> None:
    session.add(LoginAttempt(kind=kind, identifier=identifier, success=success, at=now, remote_addr=remote_addr))


def authenticate_staff(session: Session, username: str, password: str, *, remote_addr: str = "") -> StaffUser:
    """Check a staff login. Raises TooManyAttempts or BadCredentials; records the attempt
    (the caller commits, also on failure, so that failures count)."""
    now = clock.now()
    identifier = username.strip().lower()
    check_rate_limit(session, kind="staff", identifier=identifier, now=now)
    user = session.scalar(select(StaffUser).where(func.lower(StaffUser.username) == identifier))
    ok = user is not None and user.active and verify_secret(user.password_hash, password)
    record_attempt(session, kind="staff", identifier=identifier, success=ok, now=now, remote_addr=remote_addr)
    if not ok or user is None:
        raise BadCredentials()
    return user


def authenticate_reader(session: Session, card_number: str, pin: str, *, remote_addr: str = "",
                        kind: str = "reader") -> Reader:
    """Check a reader's card number and PIN. Raises TooManyAttempts, CardNotUsable or
    BadCredentials; records the attempt."""
    now = clock.now()
    identifier = card_number.strip()
    check_rate_limit(session, kind=kind, identifier=identifier, now=now)
    if session.scalar(select(ReplacedCard.id).where(ReplacedCard.card_number == identifier)) is not None:
        record_attempt(session, kind=kind, identifier=identifier, success=False, now=now, remote_addr=remote_addr)
        raise CardNotUsable()
    reader = session.scalar(select(Reader).where(Reader.card_number == identifier))
    ok = reader is not None and verify_secret(reader.pin_hash, pin)
    record_attempt(session, kind=kind, identifier=identifier, success=ok, now=now, remote_addr=remote_addr)
    if not ok or reader is None:
        raise BadCredentials(_l("读者证号或密码错误"))
    if reader.status == "lost_card":
        raise CardNotUsable()
    return reader


def current_staff() -> StaffUser:
    user = cast(Any, current_user)
    if not user.is_authenticated or not getattr(user, "is_staff", False):
        abort(401)
    return cast(StaffUser, user)


def current_reader() -> Reader:
    user = cast(Any, current_user)
    if not user.is_authenticated or not getattr(user, "is_reader", False):
        abort(401)
    return cast(Reader, user)


def staff_required(*roles: str) -> Callable[[F], F]:
    """Only staff holding any of ``roles`` (admin holds all) may enter; others get 403,
    anonymous users are sent to the staff login page."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = cast(Any, current_user)
            if not user.is_authenticated:
                if request.path.startswith("/api/"):
                    abort(401)
                return login_manager.unauthorized()
            if not getattr(user, "is_staff", False):
                abort(403)
            if roles and not user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def reader_required(view: F) -> F:
    """Only a logged-in reader may enter; others are sent to the reader login page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from flask import redirect, url_for

        user = cast(Any, current_user)
        if not user.is_authenticated or not getattr(user, "is_reader", False):
            if request.path.startswith("/api/"):
                abort(401)
            return redirect(url_for("core.reader_login", next=request.full_path))
        return view(*args, **kwargs)

    return cast(F, wrapped)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
