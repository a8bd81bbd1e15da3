"""Core pages: home, staff and reader login, language and large-text switches, staff desk."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from library import auth
from library.db import db_session
from library.errors import LibraryError
from library.forms import ReaderLoginForm, StaffLoginForm
from library.i18n import LANG_COOKIE

bp = Blueprint("core", __name__)

ONE_YEAR = 365 * 24 * 3600


def _safe_next(default: str) -> str:
    target = request.args.get("next") or request.form.get("next") or ""
    parts = urlsplit(target)
    if target and not parts.scheme and not parts.netloc and target.startswith("/"):
        return target
    return default


@bp.route("/")
def home() -> str:
    return render_template("library/home.html")


@bp.route("/staff/login", methods=["GET", "POST"])
def staff_login() -> str | Response | tuple[str, int]:
    form = StaffLoginForm()
    if form.validate_on_submit():
        session_db = db_session()
        try:
            user = auth.authenticate_staff(
                session_db, form.username.data or "", form.password.data or "", remote_addr=request.remote_addr or ""
            )
        except LibraryError as exc:
            session_db.commit()  # the failed attempt must count
            flash(exc.text, "error")
            return render_template("library/staff_login.html", form=form), exc.status
        session_db.commit()
        login_user(user)
        return redirect(_safe_next(url_for("core.staff_home")))
    return render_template("library/staff_login.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def reader_login() -> str | Response | tuple[str, int]:
    form = ReaderLoginForm()
    if form.validate_on_submit():
        session_db = db_session()
        try:
            reader = auth.authenticate_reader(
                session_db, form.card_number.data or "", form.pin.data or "", remote_addr=request.remote_addr or ""
            )
        except LibraryError as exc:
            session_db.commit()
            flash(exc.text, "error")
            return render_template("library/reader_login.html", form=form), exc.status
        session_db.commit()
        login_user(reader)
        return redirect(_safe_next(url_for("core.reader_home")))
    return render_template("library/reader_login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    logout_user()
    flash(_("您已退出登录"), "info")
    return redirect(url_for("core.home"))


@bp.route("/staff/")
@auth.staff_required()
def staff_home() -> str:
    return render_template("library/staff_home.html")


@bp.route("/me")
@auth.reader_required
def reader_home() -> str:
    return render_template("library/reader_home.html", reader=auth.current_reader())


@bp.route("/lang/<code>", methods=["GET", "POST"])
def set_language(code: str) -> Response:
    from flask import current_app

    ref = urlsplit(request.referrer or "")
    default = url_for("core.home")
    if ref.path and ref.netloc == request.host:
        default = ref.path + ("?" + ref.query if ref.query else "")
    response = redirect(_safe_next(default))
    if code in current_app.config["LANGUAGES"]:
        session[LANG_COOKIE] = code
        response.set_cookie(LANG_COOKIE, code, max_age=ONE_YEAR, samesite="Lax")
    return response


@bp.route("/large-text", methods=["POST"])
def toggle_large_text() -> Response:
    on = request.cookies.get("large_text") != "1"
    response = redirect(_safe_next(url_for("core.home")))
    response.set_cookie("large_text", "1" if on else "0", max_age=ONE_YEAR, samesite="Lax")
    return response


def template_context() -> dict[str, Any]:
    """Values every template sees: the navigation for this user, language, large-text mode."""
    from flask import current_app
    from flask_babel import get_locale
    from flask_login import current_user

    from library.registry import nav_items

    user: Any = current_user
    items = []
    for item in nav_items(current_app):
        if item.audience == "public":
            items.append(item)
        elif item.audience == "reader" and getattr(user, "is_reader", False):
            items.append(item)
        elif item.audience == "staff" and getattr(user, "is_staff", False) and (
            not item.roles or user.has_role(*item.roles)
        ):
            items.append(item)
    locale = get_locale()
    return {
        "nav": [i for i in items if i.endpoint in current_app.view_functions],
        "has_endpoint": lambda name: name in current_app.view_functions,
        "home_panels": current_app.extensions.get("library.home_panels", []),
        "current_lang": str(locale) if locale else "zh_Hans",
        "large_text": request.cookies.get("large_text") == "1",
    }
