"""The public catalogue (OPAC): search, results with facets and availability, the record page
with copies by branch, new arrivals. Public pages, phone first."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from werkzeug.datastructures import MultiDict

from catalog.models import BibRecord, Item
from catalog.search import results as res
from catalog.search import service
from catalog.search.params import ADV_ROWS, has_criteria, query_from_args
from catalog.search.query import SORTS
from library.db import db_session

bp = Blueprint("opac", __name__, url_prefix="/opac")

ADV_FIELDS = [("", _l("任意字段")), ("title", _l("题名")), ("author", _l("作者")), ("subject", _l("主题")),
              ("isbn", "ISBN"), ("callno", _l("索书号")), ("publisher", _l("出版社")), ("series", _l("丛书"))]
SORT_LABELS = {"relevance": _l("相关度"), "year": _l("出版年（新→旧）"), "year_asc": _l("出版年（旧→新）"),
               "title": _l("题名拼音")}


def _facet_links(args: MultiDict[str, str], facets: list[dict[str, Any]]) -> None:
    """Add to each facet value the URL that toggles it (and resets paging)."""
    for facet in facets:
        name = facet["name"]
        chosen = set(args.getlist(name))
        for item in facet["values"]:
            new = MultiDict(args)
            new.poplist("page")
            values = [v for v in new.poplist(name) if v != item["value"]]
            if item["value"] not in chosen:
                values.append(item["value"])
            item["selected"] = item["value"] in chosen
            for v in values:
                new.add(name, v)
            item["url"] = _search_url(new)


@bp.route("/search")
def search() -> str:
    """Results for the search box, the fielded boxes or the advanced form; the form when empty."""
    args = request.args
    if not has_criteria(args):
        return render_template("opac/search.html", searched=False, adv_fields=ADV_FIELDS, adv_rows=ADV_ROWS,
                               sorts=SORTS, sort_labels=SORT_LABELS, args=args)
    q = query_from_args(args)
    result = service.search(current_app, q)
    session = db_session()
    hits = res.hit_views(session, result, q.node)
    facets = res.facet_views(session, result.facets)
    _facet_links(MultiDict(args), facets)
    pages = max(1, (result.total + q.per_page - 1) // q.per_page)
    chosen = [
        {"name": name, "value": v, "label": res.facet_label(name, v, _branch_names(session, values if name == "branch" else [])),
         "url": _without(args, name, v)}
        for name, values in q.filters.items() for v in values
    ]
    return render_template(
        "opac/results.html", searched=True, result=result, hits=hits, facets=facets, query=q, pages=pages,
        args=args, sorts=SORTS, sort_labels=SORT_LABELS, chosen=chosen, adv_fields=ADV_FIELDS, adv_rows=ADV_ROWS,
        suggestion_urls=[(s, url_for("opac.search", q=s)) for s in result.suggestions],
        sort_urls={s: _with(args, sort=s) for s in SORTS},
    )


def _search_url(args: MultiDict[str, str]) -> str:
    params: dict[str, Any] = {k: args.getlist(k) for k in args}
    return url_for("opac.search", **params)


def _branch_names(session: Any, values: list[str]) -> dict[int, str]:
    from library.models import Branch

    ids = [int(v) for v in values if v.isdigit()]
    if not ids:
        return {}
    return {b.id: b.name for b in session.scalars(select(Branch).where(Branch.id.in_(ids)))}


def _without(args: Any, name: str, value: str) -> str:
    new = MultiDict(args)
    new.poplist("page")
    kept = [v for v in new.poplist(name) if v != value]
    for v in kept:
        new.add(name, v)
    return _search_url(new)


def _with(args: Any, **changes: str) -> str:
    new = MultiDict(args)
    new.poplist("page")
    for k, v in changes.items():
        new.setlist(k, [v])
    return _search_url(new)


@bp.route("/advanced")
def advanced() -> str:
    return render_template("opac/search.html", searched=False, adv_fields=ADV_FIELDS, adv_rows=ADV_ROWS,
                           sorts=SORTS, sort_labels=SORT_LABELS, args=request.args, advanced=True)


@bp.route("/record/<int:record_id>")
def record(record_id: int) -> str:
    """The public record page: description and copies by branch with their status."""
    session = db_session()
    rec = session.get(BibRecord, record_id)
    if rec is None or rec.deleted_at is not None:
        abort(404)
    items = list(
        session.scalars(
            select(Item).where(Item.record_id == rec.id, Item.status.not_in(res.HIDDEN_STATUSES)).order_by(Item.barcode)
        )
    )
    by_branch: dict[int, dict[str, Any]] = {}
    for item in items:
        entry = by_branch.setdefault(item.current_branch_id, {"branch": item.current_branch, "items": [], "available": 0})
        entry["items"].append(item)
        if item.status == "available":
            entry["available"] += 1
    groups = sorted(by_branch.values(), key=lambda g: (-g["available"], g["branch"].code))
    hold_endpoint = "circulation_reader.place_hold"
    hold_url = url_for(hold_endpoint, record_id=rec.id) if hold_endpoint in current_app.view_functions else None
    return render_template(
        "opac/record.html", rec=rec, groups=groups, total=len(items),
        available=sum(g["available"] for g in groups), hold_url=hold_url, statuses=res.STATUS_LABELS,
        material=res.facet_label("material", rec.material_type), language=res.facet_label("language", rec.language),
        clc=res.CLC_CLASSES.get((rec.classification_clc or " ")[0].upper()),
    )


def new_arrivals(session: Any, limit: int = 10) -> list[BibRecord]:
    """Records most recently catalogued that have at least one copy on the shelves."""
    has_copy = exists().where(Item.record_id == BibRecord.id, Item.status.not_in(res.HIDDEN_STATUSES))
    return list(
        session.scalars(
            select(BibRecord)
            .where(BibRecord.deleted_at.is_(None), has_copy)
            .order_by(BibRecord.created_at.desc(), BibRecord.id.desc())
            .limit(limit)
        )
    )


@bp.route("/new")
def new() -> str:
    session = db_session()
    records = new_arrivals(session, 40)
    copies = res.copies_by_branch(session, [r.id for r in records])
    return render_template("opac/new.html", records=records, copies=copies)
