"""Turning index hits into what pages and the API show: the records and their copies come from
the database (so availability is never stale), matches are highlighted, facet values get
labels."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import BibRecord, Item
from catalog.search import analysis
from catalog.search.backend import SearchResult
from catalog.search.query import Node, words
from library.models import Branch

CLC_CLASSES: dict[str, Any] = {
    "A": _l("马克思主义、列宁主义、毛泽东思想、邓小平理论"), "B": _l("哲学、宗教"), "C": _l("社会科学总论"),
    "D": _l("政治、法律"), "E": _l("军事"), "F": _l("经济"), "G": _l("文化、科学、教育、体育"),
    "H": _l("语言、文字"), "I": _l("文学"), "J": _l("艺术"), "K": _l("历史、地理"), "N": _l("自然科学总论"),
    "O": _l("数理科学和化学"), "P": _l("天文学、地球科学"), "Q": _l("生物科学"), "R": _l("医药、卫生"),
    "S": _l("农业科学"), "T": _l("工业技术"), "U": _l("交通运输"), "V": _l("航空、航天"),
    "X": _l("环境科学、安全科学"), "Z": _l("综合性图书"),
}
MATERIALS: dict[str, Any] = {
    "book": _l("图书"), "periodical": _l("期刊"), "manuscript": _l("手稿"), "score": _l("乐谱"),
    "map": _l("地图"), "video": _l("视频资料"), "audio": _l("录音资料"), "image": _l("图片"),
    "electronic": _l("电子资源"), "mixed": _l("混合资料"), "object": _l("实物"),
}
LANGUAGES: dict[str, Any] = {
    "chi": _l("中文"), "zho": _l("中文"), "eng": _l("英文"), "jpn": _l("日文"), "fre": _l("法文"),
    "ger": _l("德文"), "rus": _l("俄文"), "kor": _l("朝鲜文"), "spa": _l("西班牙文"),
}
FACET_TITLES: dict[str, Any] = {
    "branch": _l("有可借副本的分馆"), "material": _l("资料类型"), "language": _l("语种"),
    "decade": _l("出版年代"), "clc": _l("中图法大类"),
}
STATUS_LABELS: dict[str, Any] = {
    "available": _l("在架可借"), "on_loan": _l("已借出"), "in_transit": _l("运送中"),
    "on_hold_shelf": _l("预约保留"), "lost": _l("遗失"), "missing": _l("下落不明"),
    "in_repair": _l("修补中"), "withdrawn": _l("已剔除"),
}
HIDDEN_STATUSES = ("withdrawn",)


@dataclass
class BranchCopies:
    branch: Branch
    available: int
    total: int


@dataclass
class HitView:
    record: BibRecord
    title_html: Markup
    authors_html: Markup
    branches: list[BranchCopies] = field(default_factory=list)

    @property
    def available(self) -> int:
        return sum(b.available for b in self.branches)


def highlight_terms(node: Node | None) -> list[str]:
    """Folded words to mark in titles: every query word and the CJK words inside it."""
    out: set[str] = set()
    for w in words(node):
        if w.field not in (None, "title", "author", "subject", "publisher", "series", "notes"):
            continue
        for term, _pos, _sc, _ec in analysis.tokens(w.text, stemming=True):
            if term and len(term) >= 1:
                out.add(term)
    return sorted(out, key=len, reverse=True)


def highlight(text: str, terms: list[str]) -> Markup:
    """``text`` with the matched words in <mark>. Matching is done on the folded text (so a
    simplified query marks traditional characters); folding keeps one character per
    character, except in rare phrases, where nothing is marked."""
    if not text or not terms:
        return escape(text or "")
    folded = analysis.fold(text)
    if len(folded) != len(text):
        return escape(text)
    low = folded.lower()
    marks = [False] * len(text)
    for term in terms:
        if term.isascii():
            # a stem: mark whole words that start with it
            for m in re.finditer(r"\b" + re.escape(term) + r"[a-z]*", low):
                for i in range(m.start(), m.end()):
                    marks[i] = True
        else:
            start = low.find(term)
            while start >= 0:
                for i in range(start, start + len(term)):
                    marks[i] = True
                start = low.find(term, start + 1)
    out: list[str] = []
    inside = False
    for ch, marked in zip(text, marks, strict=True):
        if marked and not inside:
            out.append("<mark>")
            inside = True
        elif not marked and inside:
            out.append("</mark>")
            inside = False
        out.append(str(escape(ch)))
    if inside:
        out.append("</mark>")
    return Markup("".join(out))


def copies_by_branch(session: Session, record_ids: list[int]) -> dict[int, list[BranchCopies]]:
    """Available and total copies per branch (where they are now), from the database."""
    if not record_ids:
        return {}
    rows = session.execute(
        select(Item.record_id, Item.current_branch_id, Item.status, func.count(Item.id))
        .where(Item.record_id.in_(record_ids), Item.status.not_in(HIDDEN_STATUSES))
        .group_by(Item.record_id, Item.current_branch_id, Item.status)
    ).all()
    branch_ids = {r[1] for r in rows}
    branches = {b.id: b for b in session.scalars(select(Branch).where(Branch.id.in_(branch_ids)))} if branch_ids else {}
    acc: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for rid, bid, status, n in rows:
        cell = acc[rid][bid]
        cell[1] += n
        if status == "available":
            cell[0] += n
    out: dict[int, list[BranchCopies]] = {}
    for rid, per_branch in acc.items():
        lst = [BranchCopies(branches[bid], a, t) for bid, (a, t) in per_branch.items() if bid in branches]
        lst.sort(key=lambda c: (-c.available, c.branch.code))
        out[rid] = lst
    return out


def hit_views(session: Session, result: SearchResult, node: Node | None) -> list[HitView]:
    ids = [h.record_id for h in result.hits]
    if not ids:
        return []
    records = {r.id: r for r in session.scalars(select(BibRecord).where(BibRecord.id.in_(ids)))}
    copies = copies_by_branch(session, ids)
    terms = highlight_terms(node)
    out = []
    for rid in ids:
        rec = records.get(rid)
        if rec is None or rec.deleted_at is not None:
            continue  # deleted since the index was read
        authors = rec.responsibility or "; ".join(rec.authors or [])
        out.append(HitView(rec, highlight(rec.title, terms), highlight(authors, terms), copies.get(rid, [])))
    return out


def facet_views(session: Session, facets: dict[str, list[tuple[str, int]]]) -> list[dict[str, Any]]:
    """Facets with labels, in a fixed order."""
    branch_ids = [int(v) for v, _ in facets.get("branch", []) if v.isdigit()]
    names = {b.id: b.name for b in session.scalars(select(Branch).where(Branch.id.in_(branch_ids)))} if branch_ids else {}
    out = []
    for name in ("branch", "material", "language", "decade", "clc"):
        values = facets.get(name, [])
        if not values:
            continue
        if name == "decade":
            values = sorted(values, key=lambda kv: kv[0], reverse=True)
        items = []
        for value, count in values[:30]:
            items.append({"value": value, "count": count, "label": facet_label(name, value, names)})
        out.append({"name": name, "title": FACET_TITLES[name], "values": items})
    return out


def facet_label(name: str, value: str, branch_names: dict[int, str] | None = None) -> str:
    if name == "branch":
        return (branch_names or {}).get(int(value), value) if value.isdigit() else value
    if name == "material":
        return str(MATERIALS.get(value, value))
    if name == "language":
        return str(LANGUAGES.get(value, value))
    if name == "decade":
        return f"{value}s"
    if name == "clc":
        return f"{value} {CLC_CLASSES.get(value, '')}".strip()
    return value
