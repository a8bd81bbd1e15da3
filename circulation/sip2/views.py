"""Administration of kiosk accounts (admin role): list, add, edit, disable."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from circulation.sip2.forms import KioskForm
from circulation.sip2.models import Kiosk
from circulation.sip2.services import create_kiosk, update_kiosk
from library import clock
from library.auth import current_staff, staff_required
from library.db import db_session
from library.errors import LibraryError
from library.models import AuditEntry, Branch

bp = Blueprint("sip2", __name__, url_prefix="/admin/sip2")


def _form(kiosk: Kiosk | None = None) -> KioskForm:
    form = KioskForm(obj=kiosk)
    branches = db_session().scalars(select(Branch).where(Branch.active.is_(True)).order_by(Branch.code)).all()
    form.branch_id.choices = [(b.id, f"{b.code} {b.name}") for b in branches]
    return form


@bp.route("/kiosks")
@staff_required("admin")
def kiosks() -> str:
    session = db_session()
    rows = session.scalars(select(Kiosk).order_by(Kiosk.sip_login)).all()
    rows_seen = session.execute(
        select(AuditEntry.actor, func.max(AuditEntry.at)).where(AuditEntry.action.startswith("sip2."),
                                                                AuditEntry.actor.startswith("kiosk:"))
        .group_by(AuditEntry.actor)
    ).all()
    last_seen: dict[str, Any] = {actor: at for actor, at in rows_seen}
    return render_template("sip2/kiosks.html", kiosks=rows, last_seen=last_seen)


@bp.route("/kiosks/new", methods=["GET", "POST"])
@staff_required("admin")
def kiosk_new() -> str | Response | tuple[str, int]:
    form = _form()
    if form.is_submitted():
        if not form.password.data:
            form.validate()
            form.password.errors = [*form.password.errors, _("新账号必须设置密码")]
            return render_template("sip2/kiosk_form.html", form=form, kiosk=None), 422
        if form.validate():
            session = db_session()
            branch = session.get(Branch, form.branch_id.data)
            if branch is None:
                abort(422)
            try:
                kiosk = create_kiosk(session, sip_login=form.sip_login.data or "", password=form.password.data,
                                     branch=branch, charset=form.charset.data or "utf-8",
                                     description=form.description.data or "", now=clock.now(),
                                     staff=current_staff(), terminal_password=form.terminal_password.data or None)
                kiosk.active = bool(form.active.data)
            except LibraryError as exc:
                form.sip_login.errors = [*form.sip_login.errors, exc.text]
                return render_template("sip2/kiosk_form.html", form=form, kiosk=None), exc.status
            session.commit()
            flash(_("已新增自助设备账号 %(login)s", login=kiosk.sip_login), "success")
            return redirect(url_for("sip2.kiosks"))
        return render_template("sip2/kiosk_form.html", form=form, kiosk=None), 422
    return render_template("sip2/kiosk_form.html", form=form, kiosk=None)


@bp.route("/kiosks/<int:kiosk_id>", methods=["GET", "POST"])
@staff_required("admin")
def kiosk_edit(kiosk_id: int) -> str | Response | tuple[str, int]:
    session = db_session()
    kiosk = session.get(Kiosk, kiosk_id)
    if kiosk is None:
        abort(404)
    form = _form(kiosk)
    form.sip_login.data = kiosk.sip_login  # the login name is the kiosk's identity: not editable
    if form.is_submitted():
        if form.validate():
            branch = session.get(Branch, form.branch_id.data)
            if branch is None:
                abort(422)
            try:
                update_kiosk(session, kiosk, branch=branch, charset=form.charset.data or "utf-8",
                             description=form.description.data or "", active=bool(form.active.data),
                             password=form.password.data or None, now=clock.now(), staff=current_staff(),
                             terminal_password=form.terminal_password.data or None,
                             clear_terminal_password=bool(form.clear_terminal_password.data))
            except LibraryError as exc:
                form.password.errors = [*form.password.errors, exc.text]
                session.rollback()
                return render_template("sip2/kiosk_form.html", form=form, kiosk=kiosk), exc.status
            session.commit()
            flash(_("已保存自助设备账号 %(login)s", login=kiosk.sip_login), "success")
            return redirect(url_for("sip2.kiosks"))
        return render_template("sip2/kiosk_form.html", form=form, kiosk=kiosk), 422
    return render_template("sip2/kiosk_form.html", form=form, kiosk=kiosk)
