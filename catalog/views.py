"""Staff pages of the catalogue: record list and look-up, record page, MARC editor with
templates and edit history, copies (add, edit, move, withdraw), barcode labels, MARC import
(upload with progress and report) and export."""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import re
import threading
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pymarc import Field, Indicators, Leader, Record, Subfield
from sqlalchemy import select
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from catalog import labels, services
from catalog.errors import ImportNotResumable, ImportSuperseded, InvalidMarc, RecordHasCopies
from catalog.exporter import export_records
from catalog.forms import ImportForm, ItemEditForm, ItemForm, MoveItemForm, WithdrawItemForm
from catalog.importer import (
    claim_resume,
    create_batch,
    default_branch,
    report_rows,
    run_batch,
    summary_of,
    write_report_csv,
)
from catalog.jobs import configure, import_stale_after, interrupted_imports
from catalog.marc import detect_flavour, is_control_tag, json_to_record, to_iso2709, to_marcxml
from catalog.models import ITEM_STATUSES, BibRecord, ImportBatch, Item, ItemType, RecordHistory
from library import clock
from library.auth import current_staff, staff_required
from library.db import db_session, get_database
from library.models import Branch
from library.registry import JobSpec, NavItem, register_job, register_nav

log = logging.getLogger(__name__)
bp = Blueprint("catalog", __name__, url_prefix="/staff/catalog")
ROLES = ("cataloguer",)
PER_PAGE = 30

STATUS_LABELS = {
    "available": _l("在架"), "on_loan": _l("借出"), "in_transit": _l("在途"), "on_hold_shelf": _l("预约架上"),
    "lost": _l("遗失"), "missing": _l("下落不明"), "in_repair": _l("修补中"), "withdrawn": _l("已注销"),
}
MATERIAL_LABELS = {
    "book": _l("图书"), "periodical": _l("连续出版物"), "manuscript": _l("手稿"), "score": _l("乐谱"),
    "map": _l("地图"), "video": _l("视频"), "audio": _l("录音"), "image": _l("图像"), "electronic": _l("电子资源"),
    "mixed": _l("混合资料"), "object": _l("实物"),
}
FLAVOUR_LABELS = {"marc21": "MARC21", "unimarc": "CNMARC / UNIMARC"}
ACTION_LABELS = {"create": _l("新建"), "edit": _l("编辑"), "import": _l("导入"), "update": _l("导入更新"),
                 "delete": _l("删除"), "restore": _l("恢复")}
IMPORT_STATUS_LABELS = {"pending": _l("等待中"), "running": _l("导入中"), "done": _l("已完成"), "failed": _l("失败"),
                        "interrupted": _l("中断")}
REASON_LABELS = {"bad_record": _l("坏记录"), "authority": _l("规范记录"), "holdings_record": _l("馆藏记录"),
                 "repaired": _l("已修复"), "duplicate_barcode": _l("条码重复"), "no_branch": _l("无馆藏地"),
                 "match_isbn": _l("按 ISBN 匹配"), "match_control_number": _l("按控制号匹配")}
DOLLAR = "{dollar}"


def _after_commit() -> None:
    """Let the search index follow (the search package may not provide the hook yet)."""
    from catalog import search

    hook = getattr(search, "after_commit", None)
    if hook is not None:
        hook(current_app._get_current_object())  # type: ignore[attr-defined]


def _branches() -> list[Branch]:
    q = select(Branch).order_by(Branch.id)
    if hasattr(Branch, "active"):
        q = q.where(Branch.active.is_(True))
    return list(db_session().scalars(q))


def _item_types() -> list[SelectChoice]:
    types = db_session().scalars(select(ItemType).order_by(ItemType.sort_order))
    return [SelectChoice(t.code, t.name) for t in types]


# --------------------------------------------------------------------------- records

@bp.route("/")
@staff_required(*ROLES)
def index() -> str:
    q = request.args.get("q", "").strip()
    page = max(1, request.args.get("page", 1, type=int))
    records, total = services.search_records(db_session(), q, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render_template("catalog/index.html", q=q, records=records, total=total, page=page,
                           pages=max(1, math.ceil(total / PER_PAGE)), material_labels=MATERIAL_LABELS,
                           flavour_labels=FLAVOUR_LABELS)


def _marc_lines(bib: BibRecord) -> list[tuple[str, str, str]]:
    """(tag, indicators, content) rows for the MARC view."""
    rows = [("LDR", "", bib.marc.get("leader", ""))]
    for entry in bib.marc.get("fields", []):
        for tag, value in entry.items():
            if isinstance(value, dict):
                ind = ((value.get("ind1") or " ") + (value.get("ind2") or " ")).replace(" ", "_")
                content = " ".join(f"${code} {val}" for sf in value.get("subfields", []) for code, val in sf.items())
                rows.append((tag, ind, content))
            else:
                rows.append((tag, "", value))
    return rows


@bp.route("/records/<int:record_id>")
@staff_required(*ROLES)
def record(record_id: int) -> str:
    session = db_session()
    bib = services.get_record(session, record_id, include_deleted=True)
    items = list(session.scalars(select(Item).where(Item.record_id == bib.id).order_by(Item.home_branch_id,
                                                                                          Item.barcode)))
    by_branch: dict[str, list[Item]] = {}
    for item in items:
        by_branch.setdefault(item.home_branch.name, []).append(item)
    history = list(session.scalars(select(RecordHistory).where(RecordHistory.record_id == bib.id)
                                   .order_by(RecordHistory.at.desc(), RecordHistory.id.desc()).limit(50)))
    opac_url = (url_for("opac.record", record_id=bib.id)
                if "opac.record" in current_app.view_functions and bib.deleted_at is None else None)
    return render_template("catalog/record.html", bib=bib, by_branch=by_branch, items=items, history=history,
                           opac_url=opac_url,
                           marc_rows=_marc_lines(bib), status_labels=STATUS_LABELS,
                           material_labels=MATERIAL_LABELS, flavour_labels=FLAVOUR_LABELS,
                           action_labels=ACTION_LABELS, move_form=MoveItemForm(), withdraw_form=WithdrawItemForm(),
                           branches=_branches())


@bp.route("/records/<int:record_id>/export.<fmt>")
@staff_required(*ROLES)
def export_record(record_id: int, fmt: str) -> Response:
    bib = services.get_record(db_session(), record_id, include_deleted=True)
    rec = json_to_record(bib.marc)
    if fmt == "mrc":
        return Response(to_iso2709(rec), mimetype="application/marc",
                        headers={"Content-Disposition": f"attachment; filename=record-{bib.id}.mrc"})
    if fmt == "xml":
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">'
                + to_marcxml(rec) + "</collection>\n")
        return Response(body, mimetype="application/marcxml+xml",
                        headers={"Content-Disposition": f"attachment; filename=record-{bib.id}.xml"})
    abort(404)


@bp.route("/records/<int:record_id>/delete", methods=["POST"])
@staff_required(*ROLES)
def delete_record(record_id: int) -> Response:
    session = db_session()
    bib = services.get_record(session, record_id)
    live = services.live_copies(session, bib)
    if live:
        raise RecordHasCopies(n=live)
    services.delete_record(session, bib, now=clock.now(), staff=current_staff())
    session.commit()
    _after_commit()
    flash(_("书目记录已删除"), "success")
    return redirect(url_for("catalog.index"))


# --------------------------------------------------------------------------- MARC editor

def _template(kind: str) -> Record:
    today = clock.now().date()
    ymd = today.strftime("%Y%m%d")
    rec = Record(to_unicode=True, force_utf8=True)
    if kind == "marc21":
        rec.leader = Leader("00000nam a2200000 i 4500")
        rec.add_field(Field("003", data="ZY"))
        rec.add_field(Field("008", data=f"{today:%y%m%d}s{today.year}    cc            000 0 chi d"))
        for tag, ind, codes in (("020", "  ", "aq"), ("040", "  ", "ab"), ("084", "  ", "a2"), ("100", "1 ", "a"),
                                ("245", "10", "abc"), ("264", " 1", "abc"), ("300", "  ", "ac"), ("650", " 0", "a"),
                                ("700", "1 ", "a")):
            defaults = {"040b": "chi", "0842": "clc", "040a": "ZY"}
            rec.add_field(Field(tag, Indicators(ind[0], ind[1]),
                                [Subfield(c, defaults.get(tag + c, "")) for c in codes]))
        return rec
    rec.leader = Leader("00000nam0 2200000   450 ")
    for tag, ind, pairs in (
        ("010", "  ", [("a", ""), ("d", "")]),
        ("100", "  ", [("a", f"{ymd}d{today.year}    em y0chiy50      ea")]),
        ("101", "0 ", [("a", "chi")]),
        ("102", "  ", [("a", "CN"), ("b", "430000")]),
        ("105", "  ", [("a", "y   z   000yy")]),
        ("106", "  ", [("a", "r")]),
        ("200", "1 ", [("a", ""), ("A", ""), ("f", "")]),
        ("210", "  ", [("a", ""), ("c", ""), ("d", "")]),
        ("215", "  ", [("a", ""), ("d", "")]),
        ("225", "2 ", [("a", "")]),
        ("330", "  ", [("a", "")]),
        ("606", "0 ", [("a", "")]),
        ("690", "  ", [("a", ""), ("v", "5")]),
        ("701", " 0", [("a", ""), ("4", "著")]),
        ("801", " 0", [("a", "CN"), ("b", "ZY"), ("c", ymd)]),
    ):
        rec.add_field(Field(tag, Indicators(ind[0], ind[1]), [Subfield(c, v) for c, v in pairs]))
    return rec


def _rows_from_record(rec: Record) -> list[dict[str, str]]:
    rows = []
    for f in rec.fields:
        if f.is_control_field():
            rows.append({"tag": f.tag, "ind1": "", "ind2": "", "value": f.data or ""})
        else:
            value = "".join(f"${sf.code}{sf.value.replace('$', DOLLAR)}" for sf in f.subfields)
            rows.append({"tag": f.tag, "ind1": f.indicator1 or " ", "ind2": f.indicator2 or " ", "value": value})
    return rows


_SUB_RE = re.compile(r"\$(.)")


def _record_from_form() -> tuple[Record, list[dict[str, str]], list[Any]]:
    """The record the cataloguer typed, the rows as typed (to show them again) and the
    problems found while reading them."""
    form = request.form
    leader = form.get("leader", "").replace("\r", "").replace("\n", "")
    tags, ind1s, ind2s, values = (form.getlist(k) for k in ("tag", "ind1", "ind2", "value"))
    rows: list[dict[str, str]] = []
    problems: list[Any] = []
    rec = Record(to_unicode=True, force_utf8=True)
    if len(leader) == 24:
        rec.leader = Leader(leader)
    else:
        problems.append(_("头标必须是 24 个字符（现在是 %(n)s 个）", n=len(leader)))
    for i, tag in enumerate(tags):
        tag = tag.strip()
        ind1 = (ind1s[i] if i < len(ind1s) else "")[:1] or " "
        ind2 = (ind2s[i] if i < len(ind2s) else "")[:1] or " "
        value = (values[i] if i < len(values) else "").replace("\r", "").replace("\n", " ")
        if not tag and not value.strip():
            continue  # an empty row
        rows.append({"tag": tag, "ind1": ind1, "ind2": ind2, "value": value})
        if is_control_tag(tag):
            if value.strip():
                rec.add_field(Field(tag, data=value))
            continue
        if not value.strip():
            continue
        if not value.startswith("$"):
            problems.append(_("%(tag)s：数据字段的内容以 $ 和子字段代码开始，如 $a", tag=tag))
            continue
        parts = _SUB_RE.split(value)[1:]
        subs = []
        for code, text in zip(parts[0::2], parts[1::2], strict=False):
            text = text.replace(DOLLAR, "$").strip()
            if text:
                subs.append(Subfield(code, text))
        if subs:
            rec.add_field(Field(tag or "???", Indicators(ind1, ind2), subs))
    if not rows:
        problems.append(_("记录没有字段"))
    return rec, rows, problems


def _editor(bib: BibRecord | None, rec: Record, rows: list[dict[str, str]] | None = None,
            problems: list[Any] | None = None, status: int = 200) -> tuple[str, int]:
    rows = rows if rows is not None else _rows_from_record(rec)
    rows = rows + [{"tag": "", "ind1": " ", "ind2": " ", "value": ""} for _ in range(3)]
    leader = request.form.get("leader", str(rec.leader)) if request.method == "POST" else str(rec.leader)
    flavour = request.form.get("flavour") or detect_flavour(rec)
    return render_template("catalog/editor.html", bib=bib, leader=leader, rows=rows,
                           problems=problems or [], flavour=flavour), status


def _save_from_editor(bib: BibRecord | None) -> Response | tuple[str, int]:
    rec, rows, problems = _record_from_form()
    flavour = request.form.get("flavour", "")
    if not problems:
        problems = services.validate_record(rec, flavour if flavour in ("marc21", "unimarc") else None)
    if problems:
        return _editor(bib, rec, rows, problems, 422)
    session = db_session()
    now = clock.now()
    try:
        saved = services.save_record(session, rec, now=now, staff=current_staff(), existing=bib,
                                     control_prefix="ZY" if bib is None else None)
    except InvalidMarc as exc:  # pragma: no cover - validate_record refuses what save_record would
        session.rollback()
        return _editor(bib, rec, rows, [exc.text], 422)
    session.commit()
    _after_commit()
    flash(_("书目记录已保存"), "success")
    return redirect(url_for("catalog.record", record_id=saved.id))


@bp.route("/records/new", methods=["GET", "POST"])
@staff_required(*ROLES)
def new_record() -> Response | tuple[str, int]:
    if request.method == "POST":
        return _save_from_editor(None)
    kind = request.args.get("template", "cnmarc")
    return _editor(None, _template("marc21" if kind == "marc21" else "cnmarc"))


@bp.route("/records/<int:record_id>/edit", methods=["GET", "POST"])
@staff_required(*ROLES)
def edit_record(record_id: int) -> Response | tuple[str, int]:
    bib = services.get_record(db_session(), record_id)
    if request.method == "POST":
        return _save_from_editor(bib)
    return _editor(bib, json_to_record(bib.marc))


# --------------------------------------------------------------------------- copies

def _item_form(form: ItemForm, bib: BibRecord) -> ItemForm:
    form.branch_id.choices = [SelectChoice(b.id, f"{b.name}（{b.code}）") for b in _branches()]
    form.item_type_code.choices = _item_types()
    return form


@bp.route("/records/<int:record_id>/items/new", methods=["GET", "POST"])
@staff_required(*ROLES)
def new_item(record_id: int) -> Response | tuple[str, int]:
    session = db_session()
    bib = services.get_record(session, record_id)
    form = _item_form(ItemForm(), bib)
    if request.method == "GET":
        form.call_number.data = bib.call_number
        central = default_branch(session)
        if central is not None:
            form.branch_id.data = central.id
    if form.validate_on_submit():
        branch = session.get(Branch, form.branch_id.data)
        if branch is None:
            abort(400)
        try:
            services.add_item(session, record=bib, barcode=form.barcode.data or "", branch=branch,
                              item_type_code=form.item_type_code.data or "book",
                              call_number=form.call_number.data or "", shelf_location=form.shelf_location.data or "",
                              price=form.price.data, now=clock.now(), staff=current_staff(),
                              notes=form.notes.data or "")
        except Exception as exc:
            from library.errors import LibraryError

            if not isinstance(exc, LibraryError):
                raise
            session.rollback()
            form.barcode.errors = [*form.barcode.errors, exc.text]
            return render_template("catalog/item_form.html", form=form, bib=bib, item=None), exc.status
        session.commit()
        _after_commit()
        flash(_("已添加复本 %(barcode)s", barcode=form.barcode.data), "success")
        if request.form.get("another"):
            return redirect(url_for("catalog.new_item", record_id=bib.id))
        return redirect(url_for("catalog.record", record_id=bib.id))
    status = 422 if request.method == "POST" else 200
    return render_template("catalog/item_form.html", form=form, bib=bib, item=None), status


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@staff_required(*ROLES)
def edit_item(item_id: int) -> Response | tuple[str, int]:
    session = db_session()
    item = services.get_item(session, item_id)
    form = ItemEditForm(obj=item if request.method == "GET" else None)
    form.item_type_code.choices = _item_types()
    form.status.choices = [SelectChoice(s, str(STATUS_LABELS[s])) for s in ITEM_STATUSES
                           if s in ("available", "missing", "in_repair", "lost") or s == item.status]
    if form.validate_on_submit():
        from library.errors import LibraryError

        try:
            services.update_item(session, item, now=clock.now(), staff=current_staff(),
                                 call_number=form.call_number.data or "", shelf_location=form.shelf_location.data or "",
                                 item_type_code=form.item_type_code.data, price=form.price.data,
                                 notes=form.notes.data or "", status=form.status.data)
        except LibraryError as exc:
            session.rollback()
            form.status.errors = [*form.status.errors, exc.text]
            return render_template("catalog/item_form.html", form=form, bib=item.record, item=item), exc.status
        session.commit()
        _after_commit()
        flash(_("复本已保存"), "success")
        return redirect(url_for("catalog.record", record_id=item.record_id))
    status = 422 if request.method == "POST" else 200
    return render_template("catalog/item_form.html", form=form, bib=item.record, item=item), status


@bp.route("/items/<int:item_id>/move", methods=["POST"])
@staff_required(*ROLES)
def move_item(item_id: int) -> Response:
    session = db_session()
    item = services.get_item(session, item_id)
    form = MoveItemForm()
    form.branch_id.choices = [SelectChoice(b.id, b.name) for b in _branches()]
    if not form.validate_on_submit():
        flash(_("请选择要调往的馆"), "error")
        return redirect(url_for("catalog.record", record_id=item.record_id))
    branch = session.get(Branch, form.branch_id.data)
    if branch is None:
        abort(400)
    services.move_item(session, item, branch=branch, now=clock.now(), staff=current_staff())
    session.commit()
    _after_commit()
    flash(_("复本 %(barcode)s 已调往 %(branch)s", barcode=item.barcode, branch=branch.name), "success")
    return redirect(url_for("catalog.record", record_id=item.record_id))


@bp.route("/items/<int:item_id>/withdraw", methods=["POST"])
@staff_required(*ROLES)
def withdraw_item(item_id: int) -> Response:
    session = db_session()
    item = services.get_item(session, item_id)
    form = WithdrawItemForm()
    if not form.validate_on_submit():
        flash(_("注销复本需要填写原因"), "error")
        return redirect(url_for("catalog.record", record_id=item.record_id))
    services.withdraw_item(session, item, now=clock.now(), staff=current_staff(), reason=form.reason.data or "")
    session.commit()
    _after_commit()
    flash(_("复本 %(barcode)s 已注销", barcode=item.barcode), "success")
    return redirect(url_for("catalog.record", record_id=item.record_id))


# --------------------------------------------------------------------------- labels

@bp.route("/items/<barcode>/label.svg")
@staff_required(*ROLES)
def label_svg(barcode: str) -> Response:
    item = services.get_item_by_barcode(db_session(), barcode)
    return Response(labels.svg(item.barcode, caption=item.call_number or item.record.title[:20]),
                    mimetype="image/svg+xml")


@bp.route("/labels")
@staff_required(*ROLES)
def label_sheet() -> str:
    """A printable sheet of labels: the copies of a record, or the barcodes listed."""
    session = db_session()
    record_id = request.args.get("record_id", type=int)
    if record_id:
        items = list(session.scalars(select(Item).where(Item.record_id == record_id, Item.status != "withdrawn")
                                     .order_by(Item.barcode)))
    else:
        wanted = [b for b in re.split(r"[\s,，]+", request.args.get("barcodes", "")) if b][:200]
        items = list(session.scalars(select(Item).where(Item.barcode.in_(wanted)).order_by(Item.barcode))) if wanted else []
    sheet = [(item, labels.svg(item.barcode, caption=item.call_number or item.record.title[:20])) for item in items]
    return render_template("catalog/labels.html", sheet=sheet, record_id=record_id,
                           barcodes=request.args.get("barcodes", ""))


# --------------------------------------------------------------------------- import / export

def _import_dir(app: Flask) -> Path:
    path = Path(app.config["LIBRARY_DATA_DIR"]) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run_import_thread(app: Flask, batch_id: int, path: Path, resume: bool) -> None:
    """The uploaded file is deleted once the import has ended (done or failed). It stays while
    the import runs, and when the process dies with it, so that the import can be resumed."""
    with app.app_context():
        db = get_database(app)
        try:
            run_batch(db, batch_id, path.read_bytes(), resume=resume)
        except ImportSuperseded:
            log.warning("import batch %s was taken over by another attempt; this one stops", batch_id)
            return
        except Exception:
            log.exception("import batch %s failed", batch_id)
        path.unlink(missing_ok=True)
        from catalog import search

        hook = getattr(search, "after_commit", None)
        try:
            if hook is not None:
                hook(app)
        except Exception:
            log.exception("search index not updated after import batch %s", batch_id)


def start_import(app: Flask, batch_id: int, path: Path, *, resume: bool = False) -> threading.Thread:
    """Run the import in a background thread with its own sessions; the page polls its status."""
    thread = threading.Thread(target=_run_import_thread, args=(app, batch_id, path, resume), name=f"import-{batch_id}",
                              daemon=True)
    app.extensions.setdefault("catalog.import_threads", {})[batch_id] = thread
    thread.start()
    return thread


@bp.route("/import", methods=["GET", "POST"])
@staff_required(*ROLES)
def import_page() -> Response | tuple[str, int]:
    session = db_session()
    form = ImportForm()
    form.branch_id.choices = [SelectChoice(b.id, f"{b.name}（{b.code}）") for b in _branches()]
    if request.method == "GET":
        central = default_branch(session)
        if central is not None:
            form.branch_id.data = central.id
    if form.validate_on_submit():
        upload = form.file.data
        name = secure_filename(upload.filename or "upload.mrc") or "upload.mrc"
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        staff = current_staff()
        batch = create_batch(session, filename=upload.filename or name, match=form.match.data or "isbn",
                             now=clock.now(), branch_id=form.branch_id.data, staff_id=staff.id, source="upload")
        path = _import_dir(app) / f"{batch.id}-{name}"
        upload.save(str(path))
        batch.path = str(path)
        batch.total_bytes = path.stat().st_size
        session.commit()
        start_import(app, batch.id, path)
        return redirect(url_for("catalog.import_status", batch_id=batch.id))
    now, stale = clock.now(), import_stale_after(current_app)
    batches = [(b, b.shown_status(now, stale))
               for b in session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(20))]
    status = 422 if request.method == "POST" else 200
    return render_template("catalog/import.html", form=form, batches=batches,
                           status_labels=IMPORT_STATUS_LABELS), status


def _resumable(batch: ImportBatch) -> bool:
    """An upload whose file is still here (a command-line import keeps no copy of its file: it is
    run again, with a match mode, from the command line)."""
    return batch.source == "upload" and bool(batch.path) and Path(batch.path).is_file()


@bp.route("/import/<int:batch_id>")
@staff_required(*ROLES)
def import_status(batch_id: int) -> str:
    session = db_session()
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    lines = report_rows(session, [batch.id])[:500]
    shown = batch.shown_status(clock.now(), import_stale_after(current_app))
    return render_template("catalog/import_status.html", batch=batch, summary=summary_of(batch), lines=lines,
                           shown=shown, can_resume=shown == "interrupted" and _resumable(batch),
                           status_labels=IMPORT_STATUS_LABELS, reason_labels=REASON_LABELS)


@bp.route("/import/<int:batch_id>/resume", methods=["POST"])
@staff_required(*ROLES)
def import_resume(batch_id: int) -> Response:
    """Carry on an interrupted upload from the first record not yet committed."""
    session = db_session()
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not _resumable(batch):
        flash(_("上传的文件已不在服务器上，无法继续，请重新上传"), "error")
        return redirect(url_for("catalog.import_status", batch_id=batch_id))
    try:
        claim_resume(session, batch_id, now=clock.now(), stale_after=import_stale_after(app))
    except ImportNotResumable:
        session.rollback()
        flash(_("这次导入不能继续：它仍在进行或已经结束"), "error")
        return redirect(url_for("catalog.import_status", batch_id=batch_id))
    path = Path(batch.path)
    session.commit()
    start_import(app, batch_id, path, resume=True)
    flash(_("导入已从第 %(n)s 条记录之后继续", n=batch.read), "success")
    return redirect(url_for("catalog.import_status", batch_id=batch_id))


@bp.route("/import/<int:batch_id>/status.json")
@staff_required(*ROLES)
def import_status_json(batch_id: int) -> Response:
    batch = db_session().get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    data = summary_of(batch)
    data["status"] = batch.shown_status(clock.now(), import_stale_after(current_app))
    data["status_label"] = str(IMPORT_STATUS_LABELS.get(data["status"], data["status"]))
    return jsonify(data)


@bp.route("/import/<int:batch_id>/report.csv")
@staff_required(*ROLES)
def import_report(batch_id: int) -> Response:
    session = db_session()
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    buf = io.StringIO()
    buf.write("\ufeff")  # Excel opens UTF-8 CSV correctly with a BOM
    write_report_csv(report_rows(session, [batch.id]), buf)
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=import-{batch.id}-report.csv"})


@bp.route("/export")
@staff_required(*ROLES)
def export_all() -> Response:
    fmt = request.args.get("format", "iso2709")
    flavour = request.args.get("flavour", "all")
    if fmt not in ("iso2709", "marcxml") or flavour not in ("all", "marc21", "unimarc"):
        abort(400)
    buf = io.BytesIO()
    export_records(get_database(), buf, fmt=fmt, flavour=None if flavour == "all" else flavour)
    ext = "mrc" if fmt == "iso2709" else "xml"
    stamp = dt.date.today().strftime("%Y%m%d")
    return Response(buf.getvalue(), mimetype="application/octet-stream",
                    headers={"Content-Disposition": f"attachment; filename=catalogue-{stamp}.{ext}"})


def init_app(app: Flask) -> None:
    """Register the cataloguing blueprints, CLI commands and demo steps."""
    from catalog.cli import catalog_cli
    from catalog.demo import init_demo
    configure(app)
    app.register_blueprint(bp)
    app.cli.add_command(catalog_cli)
    register_job(app, JobSpec("catalog.interrupted_imports", interrupted_imports, "interval", {"minutes": 5},
                              description="mark imports whose process died as interrupted"))
    register_nav(app, NavItem("catalog.index", _l("编目"), audience="staff", roles=ROLES, order=20))
    init_demo(app)
