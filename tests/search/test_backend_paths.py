"""The query fast paths of the Whoosh backend give exactly what Whoosh's own evaluation gives:
document sets read by posting blocks, BM25F with cached field lengths, section (fielded) checks
after a term intersection, one-pass scoring, and facets counted from per-document codes."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from whoosh import query as wq
from whoosh import scoring
from whoosh.searching import Searcher

from catalog.search.backend import (
    SECTIONS,
    SectionChecked,
    SpanBetween,
    WhooshBackend,
    defer_sections,
    query_docs,
)
from catalog.search.documents import document
from catalog.search.query import SearchQuery, Word, and_

TITLE_WORDS = ["中国历史", "图书馆", "论语", "故事", "湖南", "书法", "小说"]
SUBJECTS = ["中国历史", "小说", "书法", "图书馆学", "诗集"]


def record(i: int, rng: random.Random) -> SimpleNamespace:
    title = "".join(rng.sample(TITLE_WORDS, 2))
    return SimpleNamespace(
        id=i, title=title, responsibility="", authors=[rng.choice(["张三", "李四", "王五"])],
        publisher=rng.choice(["湖南人民出版社", "中华书局"]), pub_place="", year=rng.choice([1988, 2001, 2015, None]),
        isbns=[], language=rng.choice(["chi", "eng"]), material_type=rng.choice(["book", "serial"]),
        subjects=rng.sample(SUBJECTS, 2), series="", notes=rng.choice(["", "故事", "书法"]),
        classification_clc=rng.choice(["K20", "I24", "J29", ""]), classification_lc="", classification_ddc="",
        call_number="", title_pinyin="",
    )


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> WhooshBackend:
    rng = random.Random(7)
    be = WhooshBackend(Path(tmp_path_factory.mktemp("ix")) / "ix")
    # two commits, two segments, then deletions in the first one
    be.index(document(record(i, rng), rng.sample(range(1, 6), rng.randint(0, 3))) for i in range(1, 121))
    be.index(document(record(i, rng), rng.sample(range(1, 6), rng.randint(0, 3))) for i in range(121, 241))
    be.delete(range(1, 241, 9))
    assert len(be.searcher().reader().leaf_readers()) >= 2
    return be


QUERIES = [
    wq.Term("all", "故事"),
    wq.Term("title", "湖南"),
    wq.And([wq.Term("all", "书法"), wq.Term("all", "小说")]),
    wq.Or([wq.Term("title", "论语"), wq.Term("all", "诗集")]),
    wq.AndNot(wq.Term("all", "中国"), wq.Term("title", "图书馆")),
    wq.Term("all", "no-such-word"),
]


@pytest.mark.parametrize("q", QUERIES, ids=repr)
def test_document_sets_match_whoosh(backend: WhooshBackend, q: wq.Query) -> None:
    s = backend.searcher()
    expected = set(s.docs_for_query(q))
    assert query_docs(s, q) == expected
    deleted = {d + off for r, off in s.reader().leaf_readers() for d in r.deleted_docs_set}
    assert deleted and not (expected & deleted)


@pytest.mark.parametrize("q", QUERIES[:5], ids=repr)
def test_scores_equal_plain_bm25f(backend: WhooshBackend, q: wq.Query) -> None:
    ours = backend.searcher()
    base = Searcher(ours.reader(), weighting=scoring.BM25F())
    assert type(ours.weighting) is not scoring.BM25F
    a = ours.search(q, limit=None).top_n
    b = base.search(q, limit=None).top_n
    assert a and a == b


def test_section_check_matches_span_query(backend: WhooshBackend) -> None:
    s = backend.searcher()
    lo = SECTIONS["subject"] * 1000
    span = wq.And([wq.Term("title", "故事"), SpanBetween(wq.Term("all", "小说"), lo, lo + 1000)])
    deferred = defer_sections(span)
    assert isinstance(deferred, SectionChecked)
    expected = set(s.docs_for_query(span))
    plain = set(s.docs_for_query(wq.And([wq.Term("title", "故事"), wq.Term("all", "小说")])))
    assert expected and expected < plain  # some records have 小说 only in the title, not as subject
    assert set(s.docs_for_query(deferred)) == expected
    assert s.search(deferred, limit=None).top_n == s.search(span, limit=None).top_n


def _direct_facets(be: WhooshBackend, docs: set[int]) -> dict[str, Counter[str]]:
    s = be.searcher()
    out: dict[str, Counter[str]] = {}
    for name, fld in [("material", "material"), ("language", "language"), ("decade", "decade"), ("clc", "clc_top")]:
        col = be._facet_column(s, fld)
        out[name] = Counter(col[d] for d in docs if col[d])
    branches = be._facet_column(s, "branches_col")
    out["branch"] = Counter(b for d in docs for b in (branches[d] or ()))
    return out


@pytest.mark.parametrize("node", [Word("故事"), and_(Word("中国历史", field="title"), Word("小说", field="subject")),
                                  and_(Word("书法"), Word("小说"))], ids=repr)
def test_search_counts_and_facets(backend: WhooshBackend, node: Any) -> None:
    s = backend.searcher()
    q = SearchQuery(node, per_page=5)
    result = backend.search(q)
    wquery = backend.compile(q, s.reader())
    assert wquery is not None
    docs = set(s.docs_for_query(wquery))
    assert result.total == len(docs) > 0
    rids = backend._facet_column(s, "rid")
    assert {h.record_id for h in result.hits} <= {int(rids[d]) for d in docs}
    assert len(result.hits) == min(5, len(docs))
    direct = _direct_facets(backend, docs)
    for name, pairs in result.facets.items():
        assert dict(pairs) == dict(direct[name]), name
    # page 2 continues page 1 without overlap
    page2 = backend.search(SearchQuery(node, per_page=5, page=2))
    assert not {h.record_id for h in page2.hits} & {h.record_id for h in result.hits}
