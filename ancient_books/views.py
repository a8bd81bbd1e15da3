"""Census pages for the ancient-books registrar and reviewer, and the public IIIF manifest,
images and viewer of published books."""

from __future__ import annotations

import mimetypes
import uuid
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response as WResponse
from wtforms.fields.choices import SelectChoice

from ancient_books import ROLES, census_prefix_of
from ancient_books.digitization import (
    COLOUR_LABELS,
    STATE_LABELS,
    STEP_LABELS,
    board,
    current_step,
    dashboard,
    finish_step,
    register_scan_batch,
    start_digitization,
    start_step,
)
from ancient_books.errors import CensusInvalid, ImportFailed, NotPublished
from ancient_books.exchange import export_catalogue, export_registration, import_registration
from ancient_books.forms import CensusForm, ImportForm, PhotoForm, ReviewForm, ScanBatchForm, TermForm
from ancient_books.iiif import build_manifest
from ancient_books.models import (
    STEP_NAMES,
    TERM_KINDS,
    CensusPhoto,
    CensusRecord,
    CensusTerm,
    DigitizationStep,
    PublishedImage,
    ScanBatch,
)
from ancient_books.services import (
    BANXIN,
    BIANLAN,
    FIELDS,
    STAT_DIMENSIONS,
    STATUS_LABELS,
    YUWEI,
    AuthorInput,
    approve_record,
    create_record,
    return_record,
    review_queue,
    save_term,
    search_records,
    statistics,
    status_counts,
    submit_record,
    term_labels,
    terms,
    update_record,
)
from library import audit, clock
from library.auth import current_staff, staff_required
from library.charts import Series, bar_chart, column_chart
from library.db import db_session
from library.errors import LibraryError
from library.models import StaffUser

bp = Blueprint("ancient_books", __name__, url_prefix="/ancient-books")
public_bp = Blueprint("ancient_books_public", __name__)

REGISTRAR = "ancient_books"
REVIEWER = "ancient_books_reviewer"
PER_PAGE = 30
TERM_KIND_LABELS = {"bu": _l("部"), "lei": _l("类"), "edition_type": _l("版本类型"), "binding": _l("装帧"),
                    "grade": _l("定级"), "grade_class": _l("等次"), "damage_level": _l("破损等级"),
                    "damage_type": _l("破损类型"), "author_role": _l("著作方式")}
CHANGE_LABELS = {"create": _l("登记"), "update": _l("修改"), "submit": _l("提交审核"), "approve": _l("审核通过"),
                 "return": _l("退回修改"), "photo": _l("上传照片")}
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}


@bp.app_context_processor
def _census_context() -> dict[str, Any]:
    return {"census_status_labels": STATUS_LABELS, "step_labels": STEP_LABELS, "state_labels": STATE_LABELS,
            "change_labels": CHANGE_LABELS}


def _choices(pairs: list[tuple[str, str]], *, empty: bool = True) -> list[SelectChoice]:
    return ([SelectChoice("", "—")] if empty else []) + [SelectChoice(v, label) for v, label in pairs]


def _fill_choices(form: CensusForm) -> None:
    session = db_session()

    def of(kind: str) -> list[tuple[str, str]]:
        return [(t.code, t.label) for t in terms(session, kind)]

    form.bu_code.choices = _choices(of("bu"))
    form.lei_code.choices = _choices([(t.code, f"{t.label}（{t.parent_code}）") for t in terms(session, "lei")])
    form.edition_type_code.choices = _choices(of("edition_type"))
    form.binding_code.choices = _choices(of("binding"))
    form.grade_code.choices = _choices(of("grade"))
    form.grade_class.choices = _choices(of("grade_class"))
    form.damage_level_code.choices = _choices(of("damage_level"))
    form.damage_types.choices = _choices(of("damage_type"), empty=False)
    form.layout_bianlan.choices = _choices([(v, v) for v in BIANLAN])
    form.layout_banxin.choices = _choices([(v, v) for v in BANXIN])
    form.layout_yuwei.choices = _choices([(v, v) for v in YUWEI])
    roles = _choices([(t.label, t.label) for t in terms(session, "author_role")])
    for entry in form.authors:
        entry.form.role.choices = roles


def _form_data(form: CensusForm) -> tuple[dict[str, Any], list[AuthorInput]]:
    data = {name: getattr(form, name).data for name in FIELDS if hasattr(form, name)}
    authors = [AuthorInput(dynasty=e.form.dynasty.data or "", name=e.form.name.data or "", role=e.form.role.data or "")
               for e in form.authors]
    return data, authors


def _attach_errors(form: CensusForm, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        if name.startswith("authors-"):
            _prefix, idx, sub = name.split("-", 2)
            target = getattr(form.authors[int(idx)].form, sub, None)
        else:
            target = getattr(form, name, None)
        if target is not None:
            target.errors = [*list(target.errors or []), message]
        else:
            flash(message, "error")


def _workers() -> list[StaffUser]:
    """Active staff who may be assigned digitization steps (the census registrars)."""
    users = db_session().scalars(select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.username))
    return [u for u in users if REGISTRAR in u.role_names()]


def _record_or_404(census_no: str) -> CensusRecord:
    record = db_session().scalar(select(CensusRecord).where(CensusRecord.census_no == census_no))
    if record is None:
        abort(404)
    return record


# ---------------------------------------------------------------------------- census list and records

@bp.route("/")
@staff_required(*ROLES)
def census_list() -> str:
    session = db_session()
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    status = status if status in STATUS_LABELS else ""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    records, total = search_records(session, query=q, status=status or None, page=page, per_page=PER_PAGE)
    return render_template("ancient_books/list.html", records=records, total=total, q=q, status=status, page=page,
                           pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), counts=status_counts(session),
                           labels=term_labels(session))


@bp.route("/new", methods=["GET", "POST"])
@staff_required(REGISTRAR)
def census_new() -> str | WResponse | tuple[str, int]:
    form = CensusForm()
    _fill_choices(form)
    if request.method == "GET":
        form.holding_unit.data = current_app.config["LIBRARY_CENSUS_UNIT_NAME"]
    if form.validate_on_submit():
        session = db_session()
        data, authors = _form_data(form)
        try:
            record = create_record(session, data=data, authors=authors, prefix=census_prefix_of(current_app),
                                   staff=current_staff(), now=clock.now(),
                                   holding_unit=current_app.config["LIBRARY_CENSUS_UNIT_NAME"])
        except CensusInvalid as exc:
            session.rollback()
            _attach_errors(form, exc.errors)
            return render_template("ancient_books/form.html", form=form, record=None), 422
        audit.record(session, action="census.create", staff=current_staff(), target_type="census_record",
                     target_id=record.census_no)
        session.commit()
        flash(_("已登记，普查编号 %(no)s", no=record.census_no), "success")
        return redirect(url_for(".census_detail", census_no=record.census_no))
    status = 422 if request.method == "POST" else 200
    return render_template("ancient_books/form.html", form=form, record=None), status


@bp.route("/r/<census_no>")
@staff_required(*ROLES)
def census_detail(census_no: str) -> str:
    session = db_session()
    record = _record_or_404(census_no)
    steps = session.scalars(select(DigitizationStep).where(DigitizationStep.record_id == record.id)
                            .order_by(DigitizationStep.volume_no, DigitizationStep.position)).all()
    volumes: dict[int, list[DigitizationStep]] = {}
    for s in steps:
        volumes.setdefault(s.volume_no, []).append(s)
    batches = session.scalars(select(ScanBatch).where(ScanBatch.record_id == record.id).order_by(ScanBatch.id)).all()
    images = session.scalar(select(PublishedImage.id).where(PublishedImage.record_id == record.id).limit(1))
    return render_template("ancient_books/detail.html", record=record, labels=term_labels(session),
                           volumes=volumes, batches=batches, has_images=images is not None,
                           review_form=ReviewForm(), photo_form=PhotoForm(), batch_form=ScanBatchForm(),
                           colour_labels=COLOUR_LABELS, workers=_workers(),
                           field_labels={**FIELDS, "authors": _l("著者"), "photo": _l("书影")}, current_step=current_step)


@bp.route("/r/<census_no>/edit", methods=["GET", "POST"])
@staff_required(REGISTRAR)
def census_edit(census_no: str) -> str | WResponse | tuple[str, int]:
    session = db_session()
    record = _record_or_404(census_no)
    if request.method == "GET":
        form = CensusForm(obj=record)
        while len(form.authors) < len(record.authors) + 1:
            form.authors.append_entry()
        for entry, author in zip(form.authors, record.authors, strict=False):
            entry.form.dynasty.data, entry.form.name.data, entry.form.role.data = (author.dynasty, author.name,
                                                                                  author.role)
        form.grade_code.data = record.grade_code or ""
        form.grade_class.data = record.grade_class or ""
    else:
        form = CensusForm()
    _fill_choices(form)
    if form.validate_on_submit():
        try:
            update_record(session, record, data=_form_data(form)[0], authors=_form_data(form)[1],
                          staff=current_staff(), now=clock.now())
        except CensusInvalid as exc:
            session.rollback()
            _attach_errors(form, exc.errors)
            return render_template("ancient_books/form.html", form=form, record=record), 422
        except LibraryError as exc:
            session.rollback()
            flash(exc.text, "error")
            return render_template("ancient_books/form.html", form=form, record=record), exc.status
        session.commit()
        flash(_("已保存"), "success")
        return redirect(url_for(".census_detail", census_no=record.census_no))
    return render_template("ancient_books/form.html", form=form, record=record), (422 if request.method == "POST"
                                                                                  else 200)


def _workflow(census_no: str, action: str) -> WResponse:
    session = db_session()
    record = _record_or_404(census_no)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    staff = current_staff()
    comment = form.comment.data or ""
    try:
        if action == "submit":
            submit_record(session, record, staff=staff, now=clock.now())
        elif action == "approve":
            approve_record(session, record, reviewer=staff, now=clock.now(), comment=comment)
        else:
            return_record(session, record, reviewer=staff, now=clock.now(), comment=comment)
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
        return redirect(url_for(".census_detail", census_no=census_no))
    audit.record(session, action=f"census.{action}", staff=staff, target_type="census_record", target_id=census_no)
    session.commit()
    flash({"submit": _("已提交审核"), "approve": _("已审核通过"), "return": _("已退回修改")}[action], "success")
    if action in ("approve", "return"):
        return redirect(url_for(".review"))
    return redirect(url_for(".census_detail", census_no=census_no))


@bp.route("/r/<census_no>/submit", methods=["POST"])
@staff_required(REGISTRAR)
def census_submit(census_no: str) -> WResponse:
    return _workflow(census_no, "submit")


@bp.route("/r/<census_no>/approve", methods=["POST"])
@staff_required(REVIEWER)
def census_approve(census_no: str) -> WResponse:
    return _workflow(census_no, "approve")


@bp.route("/r/<census_no>/return", methods=["POST"])
@staff_required(REVIEWER)
def census_return(census_no: str) -> WResponse:
    return _workflow(census_no, "return")


@bp.route("/review")
@staff_required(*ROLES)
def review() -> str:
    session = db_session()
    return render_template("ancient_books/review.html", records=review_queue(session), labels=term_labels(session),
                           review_form=ReviewForm())


# ---------------------------------------------------------------------------- photographs

def _photo_dir() -> Path:
    return Path(current_app.config["LIBRARY_UPLOAD_DIR"]) / "census"


@bp.route("/r/<census_no>/photos", methods=["POST"])
@staff_required(REGISTRAR)
def photo_upload(census_no: str) -> WResponse:
    session = db_session()
    record = _record_or_404(census_no)
    form = PhotoForm()
    upload = request.files.get("photo")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        flash(_("请选择照片文件"), "error")
        return redirect(url_for(".census_detail", census_no=census_no))
    content_type = upload.mimetype or mimetypes.guess_type(upload.filename)[0] or ""
    if content_type not in PHOTO_TYPES:
        flash(_("只能上传 JPEG、PNG、WebP 或 GIF 图片"), "error")
        return redirect(url_for(".census_detail", census_no=census_no))
    data = upload.read()
    ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}[content_type]
    rel = f"{record.census_no}/{uuid.uuid4().hex}.{ext}"
    target = _photo_dir() / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    now = clock.now()
    session.add(CensusPhoto(record_id=record.id, path=rel, filename=upload.filename[:200], content_type=content_type,
                            size=len(data), caption=(form.caption.data or "").strip(), uploaded_at=now,
                            uploaded_by_id=current_staff().id))
    from ancient_books.models import CensusChange

    session.add(CensusChange(record_id=record.id, at=now, staff_id=current_staff().id,
                             actor=current_staff().username, action="photo",
                             changes={"photo": [None, upload.filename[:200]]}))
    session.commit()
    flash(_("照片已上传"), "success")
    return redirect(url_for(".census_detail", census_no=census_no))


@bp.route("/r/<census_no>/photos/<int:photo_id>")
@staff_required(*ROLES)
def photo_file(census_no: str, photo_id: int) -> Response:
    record = _record_or_404(census_no)
    photo = db_session().get(CensusPhoto, photo_id)
    if photo is None or photo.record_id != record.id:
        abort(404)
    path = _photo_dir() / photo.path
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=photo.content_type, max_age=3600)


# ---------------------------------------------------------------------------- digitization

@bp.route("/digitization")
@staff_required(*ROLES)
def digitization_board() -> str:
    session = db_session()
    step = request.args.get("step", "")
    step = step if step in (*STEP_NAMES, "finished") else ""
    books = board(session, step=step or None)
    waiting = session.scalars(
        select(CensusRecord).where(CensusRecord.status == "approved",
                                   ~CensusRecord.id.in_(select(DigitizationStep.record_id)))
        .order_by(CensusRecord.census_no).limit(50)).all()
    return render_template("ancient_books/board.html", books=books, step=step, step_names=STEP_NAMES,
                           waiting=waiting, current_step=current_step, review_form=ReviewForm(), workers=_workers())


@bp.route("/digitization/start/<census_no>", methods=["POST"])
@staff_required(REGISTRAR)
def digitization_start(census_no: str) -> WResponse:
    session = db_session()
    record = _record_or_404(census_no)
    if not ReviewForm().validate_on_submit():
        abort(400)
    try:
        start_digitization(session, record, staff=current_staff(), now=clock.now())
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
        return redirect(url_for(".digitization_board"))
    audit.record(session, action="census.digitization_start", staff=current_staff(), target_type="census_record",
                 target_id=census_no)
    session.commit()
    flash(_("已进入数字化流程"), "success")
    return redirect(url_for(".census_detail", census_no=census_no))


@bp.route("/digitization/step/<int:step_id>", methods=["POST"])
@staff_required(REGISTRAR)
def digitization_step(step_id: int) -> WResponse:
    session = db_session()
    step = session.get(DigitizationStep, step_id)
    if step is None:
        abort(404)
    if not ReviewForm().validate_on_submit():
        abort(400)
    record = session.get(CensusRecord, step.record_id)
    assert record is not None
    action = request.form.get("action", "")
    outcome = request.form.get("outcome", "")
    note = request.form.get("note", "")
    targets = [step]
    if request.form.get("all_volumes") == "1":
        targets = list(session.scalars(select(DigitizationStep).where(
            DigitizationStep.record_id == step.record_id, DigitizationStep.step == step.step,
            DigitizationStep.state == step.state).order_by(DigitizationStep.volume_no)))
    staff, now = current_staff(), clock.now()
    assignee = None
    assignee_id = request.form.get("assignee_id", type=int)
    if assignee_id:
        assignee = session.get(StaffUser, assignee_id)
        if assignee is None or not assignee.active or not assignee.has_role(REGISTRAR):
            flash(_("只能指派给古籍编目人员"), "error")
            return redirect(url_for(".census_detail", census_no=record.census_no))
    try:
        for target in targets:
            if action == "start":
                start_step(session, target, staff=staff, now=now, assignee=assignee)
            elif action == "finish":
                finish_step(session, target, staff=staff, now=now, outcome=outcome, note=note)
            else:
                abort(400)
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
        return redirect(request.form.get("back") or url_for(".census_detail", census_no=record.census_no))
    audit.record(session, action=f"census.step_{action}", staff=staff, target_type="census_record",
                 target_id=record.census_no, details={"step": step.step, "outcome": outcome,
                                                      "volumes": [t.volume_no for t in targets]})
    session.commit()
    flash(_("“%(step)s”已更新（%(n)s 册）", step=STEP_LABELS[step.step], n=len(targets)), "success")
    back = request.form.get("back", "")
    if not back.startswith("/"):
        back = url_for(".census_detail", census_no=record.census_no)
    return redirect(back)


@bp.route("/r/<census_no>/batches", methods=["POST"])
@staff_required(REGISTRAR)
def batch_create(census_no: str) -> WResponse:
    session = db_session()
    record = _record_or_404(census_no)
    form = ScanBatchForm()
    if not form.validate_on_submit():
        for name, errs in form.errors.items():
            flash(f"{getattr(form, name).label.text}：{'；'.join(str(e) for e in errs)}", "error")
        return redirect(url_for(".census_detail", census_no=census_no))
    files = [Path(line.strip()) for line in (form.files.data or "").splitlines() if line.strip()]
    now = clock.now()
    try:
        batch = register_scan_batch(session, record, volume_no=form.volume_no.data or 1,
                                    image_count=form.image_count.data or 0,
                                    resolution_ppi=form.resolution_ppi.data or 400, colour=form.colour.data or "colour",
                                    file_format=form.file_format.data or "TIFF", device=form.device.data or "",
                                    scanned_at=now, operator=current_staff().display_name, files=files, now=now)
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
        return redirect(url_for(".census_detail", census_no=census_no))
    audit.record(session, action="census.scan_batch", staff=current_staff(), target_type="census_record",
                 target_id=census_no, details={"batch": batch.batch_no, "files": len(files)})
    session.commit()
    flash(_("扫描批次 %(no)s 已登记", no=batch.batch_no), "success")
    return redirect(url_for(".census_detail", census_no=census_no))


# The census pages' own colours (old paper brown, a green and an ink blue).
BROWN, GREEN, BLUE = "#8a4b2b", "#5b7f3a", "#2b5f8a"


def _monthly_columns(per_month: list[tuple[str, int]], *, title: str, colour: str) -> Markup:
    """A column per month ("YYYY-MM"), the month number under it."""
    return column_chart([m for m, _n in per_month], [Series(title, [n for _m, n in per_month], colour)],
                        title=title, axis_labels=[m[5:] for m, _n in per_month])


@bp.route("/dashboard")
@staff_required(*ROLES)
def digitization_dashboard() -> str:
    session = db_session()
    d = dashboard(session, now=clock.now())
    step_order = (*STEP_NAMES, "finished")
    label = {**STEP_LABELS, "finished": _("已完成")}
    charts = {
        "books": bar_chart([(label[s], d.books_at[s]) for s in step_order], title=_("各环节图书（部）"),
                           colours=[BROWN]),
        "volumes": bar_chart([(label[s], d.volumes_at[s]) for s in step_order], title=_("各环节册数"),
                             colours=[GREEN]),
        "images": _monthly_columns(d.images_per_month, title=_("每月扫描图像数"), colour=BLUE),
        "throughput": _monthly_columns(d.volumes_archived_per_month, title=_("每月归档册数"), colour=BROWN),
    }
    return render_template("ancient_books/dashboard.html", d=d, charts=charts, step_order=step_order, label=label)


@bp.route("/statistics")
@staff_required(*ROLES)
def census_statistics() -> str:
    session = db_session()
    scope = request.args.get("scope", "approved")
    statuses = tuple(STATUS_LABELS) if scope == "all" else ("approved",)
    stats = statistics(session, statuses=statuses)
    charts = {dim: bar_chart([(r.label, r.books) for r in rows], title=str(STAT_DIMENSIONS[dim][0]), colours=[BROWN])
              for dim, rows in stats.items()}
    titles = {dim: STAT_DIMENSIONS[dim][0] for dim in stats}
    return render_template("ancient_books/statistics.html", stats=stats, charts=charts, titles=titles, scope=scope)


# ---------------------------------------------------------------------------- exchange

@bp.route("/export.xlsx")
@staff_required(*ROLES)
def export_xlsx() -> Response:
    session = db_session()
    layout = request.args.get("layout", "registration")
    status = request.args.get("status", "")
    stmt = select(CensusRecord).order_by(CensusRecord.census_no)
    if status in STATUS_LABELS:
        stmt = stmt.where(CensusRecord.status == status)
    records = list(session.scalars(stmt))
    if layout == "catalogue":
        data, name = export_catalogue(records, current_app.config["LIBRARY_CENSUS_UNIT_NAME"]), "census-catalogue.xlsx"
    else:
        data, name = export_registration(session, records), "census-registration.xlsx"
    from io import BytesIO

    return send_file(BytesIO(data), as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/import", methods=["GET", "POST"])
@staff_required(REGISTRAR)
def import_xlsx() -> str | tuple[str, int]:
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        session = db_session()
        upload = request.files.get("file")
        content = upload.read() if upload is not None else b""
        try:
            report = import_registration(session, content, prefix=census_prefix_of(current_app), staff=current_staff(),
                                         now=clock.now(), holding_unit=current_app.config["LIBRARY_CENSUS_UNIT_NAME"])
        except ImportFailed as exc:
            session.rollback()
            flash(exc.text, "error")
            return render_template("ancient_books/import.html", form=form, report=exc.report), 422
        except CensusInvalid as exc:
            session.rollback()
            flash(exc.text, "error")
            return render_template("ancient_books/import.html", form=form, report=None), 422
        audit.record(session, action="census.import", staff=current_staff(), details={"count": len(report.created)})
        session.commit()
        flash(_("已导入 %(n)s 条普查登记（草稿）", n=len(report.created)), "success")
    elif request.method == "POST":
        return render_template("ancient_books/import.html", form=form, report=None), 422
    return render_template("ancient_books/import.html", form=form, report=report)


# ---------------------------------------------------------------------------- controlled lists

@bp.route("/terms", methods=["GET", "POST"])
@staff_required("admin")
def term_list() -> str | WResponse | tuple[str, int]:
    session = db_session()
    kind = request.values.get("kind", "edition_type")
    kind = kind if kind in TERM_KINDS else "edition_type"
    form = TermForm()
    form.kind.choices = _choices([(k, TERM_KIND_LABELS[k]) for k in TERM_KINDS], empty=False)
    edit_id = request.args.get("edit", type=int)
    if request.method == "GET":
        form.kind.data = kind
        if edit_id:
            term = session.get(CensusTerm, edit_id)
            if term is not None:
                form = TermForm(obj=term)
                form.kind.choices = _choices([(k, TERM_KIND_LABELS[k]) for k in TERM_KINDS], empty=False)
    status = 200
    if form.validate_on_submit():
        if form.kind.data not in TERM_KINDS:
            abort(400)
        try:
            save_term(session, kind=form.kind.data, code=form.code.data or "", label=form.label.data or "",
                      parent_code=form.parent_code.data or "", description=form.description.data or "",
                      sort_order=form.sort_order.data or 0, active=bool(form.active.data))
        except CensusInvalid as exc:
            session.rollback()
            for name, message in exc.errors.items():
                target = getattr(form, name, None)
                if target is not None:
                    target.errors = [message]
            status = 422
        else:
            audit.record(session, action="census.term_save", staff=current_staff(),
                         details={"kind": form.kind.data, "code": form.code.data})
            session.commit()
            flash(_("规范表已更新"), "success")
            return redirect(url_for(".term_list", kind=form.kind.data))
    elif request.method == "POST":
        status = 422
    rows = terms(session, kind, active_only=False)
    return render_template("ancient_books/terms.html", form=form, rows=rows, kind=kind,
                           kind_labels=TERM_KIND_LABELS), status


# ---------------------------------------------------------------------------- public IIIF

def _published(census_no: str) -> tuple[CensusRecord, list[PublishedImage]]:
    session = db_session()
    record = session.scalar(select(CensusRecord).where(CensusRecord.census_no == census_no))
    if record is None or record.published_at is None:
        raise NotPublished(no=census_no)
    images = list(session.scalars(select(PublishedImage).where(PublishedImage.record_id == record.id)
                                  .order_by(PublishedImage.seq)))
    return record, images


@public_bp.route("/iiif/<census_no>/manifest")
def manifest(census_no: str) -> Response:
    try:
        record, images = _published(census_no)
    except NotPublished as exc:
        response = jsonify(exc.to_dict())
        response.status_code = 404
        return response
    base = url_for(".viewer", census_no=census_no, _external=True).rstrip("/")
    doc = build_manifest(record, images, base_url=base, labels=term_labels(db_session()),
                         holder=current_app.config["LIBRARY_CENSUS_UNIT_NAME"],
                         rights=current_app.config["LIBRARY_IIIF_RIGHTS"])
    response = jsonify(doc)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.mimetype = "application/ld+json"
    response.headers["Content-Type"] = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'
    return response


@public_bp.route("/iiif/<census_no>/images/<int:seq>.<ext>")
def image(census_no: str, seq: int, ext: str) -> Response:
    try:
        record, images = _published(census_no)
    except NotPublished:
        abort(404)
    img = next((i for i in images if i.seq == seq), None)
    if img is None:
        abort(404)
    root = (Path(current_app.config["LIBRARY_DATA_DIR"]) / "iiif").resolve()
    path = (root / img.path).resolve()
    if root not in path.parents or not path.is_file():
        abort(404)
    response = send_file(path, mimetype=img.media_type, max_age=86400)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@public_bp.route("/iiif/<census_no>/")
def viewer(census_no: str) -> str:
    try:
        record, images = _published(census_no)
    except NotPublished:
        abort(404)
    return render_template("ancient_books/viewer.html", record=record, images=images,
                           labels=term_labels(db_session()))


@public_bp.route("/guji/")
def published() -> str:
    session = db_session()
    records = session.scalars(select(CensusRecord).where(CensusRecord.published_at.is_not(None))
                              .order_by(CensusRecord.published_at.desc())).all()
    return render_template("ancient_books/published.html", records=records, labels=term_labels(session))
