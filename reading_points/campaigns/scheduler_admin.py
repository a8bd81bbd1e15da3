"""The admin page of the scheduler (``library.scheduler``): every job, its trigger, next run,
last run and result, and "run now". It lives here because its texts belong to this package's
translation catalogue; the scheduler itself is core."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.wrappers import Response

from library import audit, scheduler
from library.auth import current_staff, staff_required
from library.db import db_session
from library.scheduler_models import JobRun

bp = Blueprint("scheduler_admin", __name__, url_prefix="/admin/scheduler")
RUN_STATUS_LABELS = {"running": _l("运行中"), "success": _l("成功"), "error": _l("出错"), "missed": _l("错过"),
                     "interrupted": _l("中断")}


@bp.route("/")
@staff_required("admin")
def jobs_page() -> str:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    recent = db_session().scalars(select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(30)).all()
    now, stale = scheduler.wall_now(), scheduler.stale_after(app)
    return render_template("campaigns/scheduler.html", jobs=scheduler.job_overview(app),
                           leader=scheduler.leader_info(app), recent=[(r, r.shown_status(now, stale)) for r in recent],
                           status_labels=RUN_STATUS_LABELS)


@bp.route("/<job_id>/run", methods=["POST"])
@staff_required("admin")
def run_now(job_id: str) -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    staff = current_staff()
    runner = f"admin:{staff.username}"
    session = db_session()
    session.rollback()  # end the request's transaction: the job opens its own (SQLite has one writer)
    try:
        record = scheduler.run_now(app, job_id, runner=runner)
    except KeyError:
        abort(404)
    audit.record(session, action="scheduler.run_now", staff=staff, target_type="job", target_id=job_id)
    session.commit()
    if record is not None and record.status == "success":
        flash(_("任务已运行：%(result)s", result=record.result or "-"), "success")
    else:
        flash(_("任务运行出错，详见下方记录"), "error")
    return redirect(url_for("scheduler_admin.jobs_page"))
