"""Core pages: home, staff and reader login, language and large-text switches, staff desk."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from library import auth, services
from library.db import db_session
from library.errors import LibraryError
from library.forms import (
    ApiTokenForm,
    ChangePinForm,
    OwnPasswordForm,
    PrivacyForm,
    ReaderLoginForm,
    StaffLoginForm,
)
from library.i18n import LANG_COOKIE

bp = Blueprint("core", __name__)

ONE_YEAR = 365 * 24 * 3600


def safe_next_url(target: str) -> bool:
    """A ``next=`` target is followed only when it is a path on this site: it starts with one
    "/", has no scheme or host, and no backslash or control character (browsers read "/\\x"
    as "//x", another site)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def _safe_next(default: str) -> str:
    target = request.args.get("next") or request.form.get("next") or ""
    return target if safe_next_url(target) else default


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
    reader = auth.current_reader()
    return _reader_page(reader)[0]


def _reader_page(reader: Any, *, pin_form: ChangePinForm | None = None, privacy_form: PrivacyForm | None = None,
                 status: int = 200) -> tuple[str, int]:
    if privacy_form is None:
        privacy_form = PrivacyForm(prefix="privacy", formdata=None, obj=reader)
    return render_template("library/reader_home.html", reader=reader, privacy_form=privacy_form,
                           pin_form=pin_form or ChangePinForm(prefix="pin", formdata=None)), status


@bp.route("/me/privacy", methods=["POST"])
@auth.reader_required
def reader_privacy() -> Response | tuple[str, int]:
    """The reader's own privacy choices (reading history, leaderboards); both off by default."""
    reader = auth.current_reader()
    form = PrivacyForm(prefix="privacy")
    if not form.validate_on_submit():
        return _reader_page(reader, privacy_form=form, status=422)
    services.set_reader_privacy(db_session(), reader, keep_history=bool(form.keep_history.data),
                                show_on_leaderboards=bool(form.show_on_leaderboards.data))
    db_session().commit()
    flash(_("隐私设置已保存"), "success")
    return redirect(url_for("core.reader_home") + "#privacy")


@bp.route("/me/pin", methods=["POST"])
@auth.reader_required
def reader_change_pin() -> Response | tuple[str, int]:
    reader = auth.current_reader()
    form = ChangePinForm(prefix="pin")
    if not form.validate_on_submit():
        return _reader_page(reader, pin_form=form, status=422)
    session_db = db_session()
    try:
        services.change_reader_pin(session_db, reader, form.current_pin.data or "", form.new_pin.data or "")
    except LibraryError as exc:
        session_db.rollback()
        form.current_pin.errors = [*form.current_pin.errors, exc.text]
        return _reader_page(reader, pin_form=form, status=exc.status)
    session_db.commit()
    flash(_("密码已修改，下次登录请使用新密码"), "success")
    return redirect(url_for("core.reader_home"))


# --- the staff member's own profile: API tokens and password ---------------------------------------


def _profile_page(*, token_form: ApiTokenForm | None = None, password_form: OwnPasswordForm | None = None,
                  new_token: str | None = None, status: int = 200) -> tuple[str, int]:
    from sqlalchemy import select

    from library.models import ApiToken

    user = auth.current_staff()
    tokens = db_session().scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.revoked_at.is_not(None),
                                                                      ApiToken.created_at.desc())
    ).all()
    return render_template(
        "library/staff_profile.html", user=user, tokens=tokens, new_token=new_token,
        token_form=token_form or ApiTokenForm(prefix="token", formdata=None),
        password_form=password_form or OwnPasswordForm(prefix="pw", formdata=None),
    ), status


@bp.route("/staff/profile")
@auth.staff_required()
def staff_profile() -> tuple[str, int]:
    return _profile_page()


@bp.route("/staff/profile/tokens", methods=["POST"])
@auth.staff_required()
def staff_token_create() -> tuple[str, int]:
    """Create an API token; it is shown once on the answer page (only its hash is kept)."""
    form = ApiTokenForm(prefix="token")
    if not form.validate_on_submit():
        return _profile_page(token_form=form, status=422)
    token, _row = services.create_api_token(db_session(), auth.current_staff(), form.name.data or "")
    db_session().commit()
    return _profile_page(new_token=token)


@bp.route("/staff/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@auth.staff_required()
def staff_token_revoke(token_id: int) -> Response:
    services.revoke_api_token(db_session(), auth.current_staff(), token_id)
    db_session().commit()
    flash(_("令牌已吊销"), "success")
    return redirect(url_for("core.staff_profile"))


@bp.route("/staff/profile/password", methods=["POST"])
@auth.staff_required()
def staff_own_password() -> Response | tuple[str, int]:
    from library.security import verify_secret

    user = auth.current_staff()
    form = OwnPasswordForm(prefix="pw")
    if not form.validate_on_submit():
        return _profile_page(password_form=form, status=422)
    if not verify_secret(user.password_hash, form.current_password.data or ""):
        form.current_password.errors = [*form.current_password.errors, _("当前密码不正确")]
        return _profile_page(password_form=form, status=422)
    services.reset_staff_password(db_session(), user, form.new_password.data or "", staff=user)
    db_session().commit()
    flash(_("密码已修改"), "success")
    return redirect(url_for("core.staff_profile"))


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
    from library.admin import ROLE_LABELS

    locale = get_locale()
    return {
        "role_labels": ROLE_LABELS,
        "nav": [i for i in items if i.endpoint in current_app.view_functions],
        "has_endpoint": lambda name: name in current_app.view_functions,
        "home_panels": current_app.extensions.get("library.home_panels", []),
        "current_lang": str(locale) if locale else "zh_Hans",
        "large_text": request.cookies.get("large_text") == "1",
    }
