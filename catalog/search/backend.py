"""The search backend interface and its Whoosh implementation.

Views, the API, SRU and OAI talk to ``SearchBackend`` only, so another engine can be added
without touching them. The Whoosh index lives in a directory per node; it stores only the
record id (everything shown comes from the database), the searchable fields, sort keys in
columns and the facet values in columns that are read once per index segment into plain lists,
so counting the facets of a result set is a C-speed ``Counter`` over the matched documents.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from whoosh import columns, fields, index, scoring, sorting
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN as W3LENGTHS_COLUMN
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import wrappers
from whoosh.query import spans
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from catalog.search import analysis
from catalog.search.documents import isbn13, looks_like_isbn
from catalog.search.query import Bool, Node, Not, SearchQuery, Word, YearRange, plain_words, words

STATE_FILE = "outbox_state.json"
TEXT_FIELDS = ("title", "author", "subject", "publisher", "series", "notes", "all")
FACET_FIELDS = {"branch": "branches_col", "material": "material", "language": "language",
                "decade": "decade", "clc": "clc_top"}
SINGLE_FACETS = ("material", "language", "decade", "clc")  # one value per document


@dataclass
class Hit:
    record_id: int
    score: float


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    suggestions: list[str] = field(default_factory=list)


class SearchBackend(Protocol):
    """What the rest of the system needs from a search engine."""

    def index(self, docs: Iterable[dict[str, Any]]) -> int: ...

    def delete(self, record_ids: Iterable[int]) -> None: ...

    def search(self, q: SearchQuery) -> SearchResult: ...

    def suggest(self, node: Node | None) -> list[str]: ...

    def facets(self, q: SearchQuery) -> dict[str, list[tuple[str, int]]]: ...

    def rebuild(self, docs: Iterable[dict[str, Any]], *, procs: int = 1, last_outbox_id: int = 0) -> int: ...

    def doc_count(self) -> int: ...

    def last_outbox_id(self) -> int: ...

    def set_last_outbox_id(self, value: int) -> None: ...


def _lengths(field: fields.FieldType) -> fields.FieldType:
    """Give the field a per-document length column. Whoosh's segment writer asks for the length
    of every posting it writes and, for a field without that column, looks for the column file
    on disk each time (one ``stat`` per posting): with the column, indexing is far cheaper."""
    field.scorable = True
    return field


def schema() -> fields.Schema:
    text = analysis.library_analyzer()
    return fields.Schema(
        id=_lengths(fields.ID(unique=True)),
        rid=fields.COLUMN(columns.NumericColumn("I")),
        title=fields.TEXT(analyzer=text, phrase=False),
        all=fields.TEXT(analyzer=text, phrase=True),
        pinyin=_lengths(fields.TEXT(analyzer=analysis.PinyinTokenizer(), phrase=False)),
        spell=_lengths(fields.TEXT(analyzer=analysis.library_analyzer(stemming=False), phrase=False)),
        isbn=_lengths(fields.KEYWORD()),
        callno=_lengths(fields.KEYWORD(commas=True, lowercase=True)),
        clc=_lengths(fields.KEYWORD(commas=True, lowercase=True)),
        year=_lengths(fields.NUMERIC(int, bits=32, shift_step=32, sortable=True, signed=False)),
        language=fields.COLUMN(columns.VarBytesColumn()),
        material=fields.COLUMN(columns.VarBytesColumn()),
        decade=fields.COLUMN(columns.VarBytesColumn()),
        clc_top=fields.COLUMN(columns.VarBytesColumn()),
        branches_col=fields.COLUMN(columns.VarBytesColumn()),
        title_sort=fields.COLUMN(columns.VarBytesColumn()),
    )


# Sections of the all-fields text (see documents.document): fielded searches are span queries.
SECTIONS = {"title": 0, "author": 1, "subject": 2, "publisher": 3, "series": 4, "notes": 5}


class SpanBetween(spans.WrappingSpan):  # type: ignore[misc]
    """Matches where the wrapped query's spans lie within positions [start, end)."""

    def __init__(self, q: wq.Query, start: int, end: int) -> None:
        self.q, self.start, self.end = q, start, end

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SpanBetween) and self.q == other.q and self.start == other.start
                and self.end == other.end)

    def __hash__(self) -> int:
        return hash(self.q) ^ hash((self.start, self.end))

    def __repr__(self) -> str:
        return f"SpanBetween({self.q!r}, {self.start}, {self.end})"

    def estimate_size(self, ixreader: Any) -> int:
        return int(self.q.estimate_size(ixreader))

    def estimate_min_size(self, ixreader: Any) -> int:
        return 0

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        return SpanBetween.Matcher(self._subm(searcher, context), self.start, self.end)

    class Matcher(spans.SpanWrappingMatcher):  # type: ignore[misc]
        def __init__(self, child: Any, start: int, end: int) -> None:
            self.start, self.end = start, end
            super().__init__(child)

        def copy(self) -> Any:
            return self.__class__(self.child.copy(), self.start, self.end)

        def _replacement(self, newchild: Any) -> Any:
            return self.__class__(newchild, self.start, self.end)

        def _get_spans(self) -> list[Any]:
            return [sp for sp in self.child.spans() if self.start <= sp.start and sp.end < self.end]


def _in_section(q: wq.Query, fld: str) -> wq.Query:
    """Restrict a query on the all-fields text to one section."""
    lo = SECTIONS[fld] * analysis.SECTION_SPAN
    hi = lo + analysis.SECTION_SPAN
    if isinstance(q, wq.Term | wq.Phrase) and q.fieldname == "all":
        return SpanBetween(q, lo, hi)
    if isinstance(q, wq.And | wq.Or):
        return q.__class__([_in_section(x, fld) for x in q.subqueries])
    return q


POSITIONAL = ("all",)


class SectionChecked(wq.Query):  # type: ignore[misc]
    """An AND holding section (span) conditions, matched as "candidates, then check": ``base`` is
    the AND with every ``SpanBetween`` replaced by its plain query, so the term intersection finds
    the candidates cheaply, and positions are read only for those candidates (a ``SpanBetween``
    inside an AND reads the positions of every document holding its word). Same documents, same
    scores (a span matcher scores as its plain query)."""

    def __init__(self, base: wq.Query, checks: Sequence[SpanBetween]) -> None:
        self.base, self.checks = base, list(checks)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SectionChecked) and self.base == other.base and self.checks == other.checks

    def __hash__(self) -> int:
        return hash(self.base) ^ hash(tuple(self.checks))

    def __repr__(self) -> str:
        return f"SectionChecked({self.base!r}, {self.checks!r})"

    def is_leaf(self) -> bool:
        return False

    def children(self) -> list[wq.Query]:
        return [self.base]

    def apply(self, fn: Any) -> wq.Query:
        return SectionChecked(fn(self.base), self.checks)

    def estimate_size(self, ixreader: Any) -> int:
        return int(self.base.estimate_size(ixreader))

    def estimate_min_size(self, ixreader: Any) -> int:
        return 0

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        m = self.base.matcher(searcher, context)
        if not m.is_active():
            return m
        checkers = [(c.q.matcher(searcher, context), c.start, c.end) for c in self.checks]
        return SectionChecked.Matcher(m, checkers)

    class Matcher(wrappers.WrappingMatcher):  # type: ignore[misc]
        def __init__(self, child: Any, checkers: list[tuple[Any, int, int]]) -> None:
            super().__init__(child)
            self.checkers = checkers
            self._find()

        def _ok(self) -> bool:
            doc = self.child.id()
            for m, lo, hi in self.checkers:
                if m.is_active() and m.id() < doc:
                    m.skip_to(doc)
                if not m.is_active() or m.id() != doc:
                    return False
                if not any(lo <= sp.start and sp.end < hi for sp in m.spans()):
                    return False
            return True

        def _find(self) -> None:
            while self.child.is_active() and not self._ok():
                self.child.next()

        def copy(self) -> Any:
            return self.__class__(self.child.copy(), [(m.copy(), lo, hi) for m, lo, hi in self.checkers])

        def _replacement(self, newchild: Any) -> Any:
            return self.__class__(newchild, self.checkers)

        def all_ids(self) -> Iterable[int]:
            while self.is_active():
                yield self.id()
                self.next()

        def next(self) -> bool:
            self.child.next()
            self._find()
            return False

        def skip_to(self, id: int) -> bool:
            self.child.skip_to(id)
            self._find()
            return False

        def supports_block_quality(self) -> bool:
            return False


def _and_parts(q: wq.Query) -> list[wq.Query]:
    out: list[wq.Query] = []
    for k in q.subqueries:
        out.extend(_and_parts(k) if type(k) is wq.And else [k])
    return out


def defer_sections(q: wq.Query) -> wq.Query:
    """Rewrite ANDs holding section conditions as ``SectionChecked`` (see there)."""
    if type(q) is wq.And:
        kids = [defer_sections(k) for k in _and_parts(q)]
        checks = [k for k in kids if isinstance(k, SpanBetween)]
        if checks and len(kids) > 1:
            return SectionChecked(wq.And([k.q if isinstance(k, SpanBetween) else k for k in kids]), checks)
        return wq.And(kids)
    if type(q) is wq.Or:
        return wq.Or([defer_sections(k) for k in q.subqueries])
    if type(q) is wq.AndNot:
        return wq.AndNot(defer_sections(q.a), defer_sections(q.b))
    if type(q) is wq.Not:
        return wq.Not(defer_sections(q.query))
    return q


# --- query compilation -------------------------------------------------------------------------


def _has(reader: Any, fld: str, term: str) -> bool:
    return reader is None or (fld, term) in reader


_CLASS_LIKE = re.compile(r"^[A-Za-z]{1,2}\d[\d.\-/:=()]*$")


def _word_query(fld: str, text: str, phrase: bool, relation: str, reader: Any = None,
                pinyin: bool = True) -> wq.Query | None:
    """One Word in one index field. With a ``reader``, alternatives that cannot match (a term
    absent from the index) are left out, which keeps the matchers small."""
    if fld == "isbn" or (fld == "all" and looks_like_isbn(text)):
        norm = isbn13(text)
        return wq.Term("isbn", norm) if norm else wq.NullQuery
    if fld in ("callno", "clc"):
        value = text.strip().lower()
        return wq.Prefix(fld, value) if value else None
    if fld == "year":
        try:
            y = int(text.strip())
        except ValueError:
            return wq.NullQuery
        return wq.NumericRange("year", y, y)
    if fld in ("language", "material"):
        return wq.Term(fld, text.strip().lower())
    if fld in SECTIONS and fld != "title":
        inner = _word_query("all", text, phrase, relation, reader, pinyin=fld == "author")
        if inner is None:
            return None
        return _in_section(inner, fld)
    folded = analysis.fold(text)
    toks = analysis.tokens(folded)
    if not toks:
        return None
    if fld == "all" and _CLASS_LIKE.match(text.strip()):
        # a call number or class typed in the box
        code = text.strip().lower()
        return wq.Or([wq.Prefix("callno", code), wq.Prefix("clc", code)])
    # one entry per position: the main word first, then the dictionary words inside it
    positions: list[list[str]] = []
    last = -1
    for term, pos, _sc, _ec in toks:
        if pos != last:
            positions.append([term])
            last = pos
        else:
            positions[-1].append(term)
    if phrase and len(positions) > 1:
        words_ = [p[0] for p in positions]
        if fld in POSITIONAL:
            return wq.Phrase(fld, words_)
        # the title has no positions of its own: the phrase in the title section of the all text
        return _in_section(wq.Phrase("all", words_), "title")
    parts: list[wq.Query] = []
    for group in positions:
        main = group[0]
        q: wq.Query = wq.Term(fld, main)
        subs = [x for x in group[1:] if len(x) < len(main)]
        if len(main) >= 3 and subs and not _has(reader, fld, main):
            # segmented differently in the record: match the words inside it
            q = wq.And([wq.Term(fld, x) for x in subs]) if reader is not None else \
                wq.Or([q, wq.And([wq.Term(fld, x) for x in subs])])
        parts.append(q)
    text_q: wq.Query = parts[0] if len(parts) == 1 else (wq.And(parts) if relation == "all" else wq.Or(parts))
    raw_latin = [w.lower() for w in folded.split() if analysis.looks_like_pinyin(w)]
    if pinyin and fld in ("all", "title") and raw_latin and len(raw_latin) == len(parts) \
            and not any(ch.isdigit() for ch in folded):
        # pinyin typed as one word ("lunyu", "ly") or as syllables ("lun yu")
        options: list[wq.Query] = []
        if len(raw_latin) > 1 and _has(reader, "pinyin", "".join(raw_latin)):
            options.append(wq.Term("pinyin", "".join(raw_latin)))
        if all(_has(reader, "pinyin", w) for w in raw_latin):
            options.append(wq.And([wq.Term("pinyin", w) for w in raw_latin]) if len(raw_latin) > 1
                           else wq.Term("pinyin", raw_latin[0]))
        if reader is None or all(_has(reader, fld, p[0]) for p in positions) or not options:
            options.insert(0, text_q)
        return options[0] if len(options) == 1 else wq.Or(options)
    return text_q


def _pinyin_syllables(node: Bool) -> list[str]:
    """The words of an AND of plain ASCII words (possibly pinyin syllables typed apart)."""
    out = []
    for item in node.items:
        if not (isinstance(item, Word) and item.field in (None, "title", "author") and not item.phrase
                and analysis.looks_like_pinyin(item.text.strip())):
            return []
        out.append(item.text.strip().lower())
    return out if len(out) > 1 else []


def compile_node(node: Node | None, default_field: str = "all", reader: Any = None) -> wq.Query | None:
    if node is None:
        return None
    if isinstance(node, Word):
        return _word_query(node.field or default_field, node.text, node.phrase, node.relation, reader)
    if isinstance(node, YearRange):
        return wq.NumericRange("year", node.start, node.end)
    if isinstance(node, Not):
        inner = compile_node(node.item, default_field, reader)
        return wq.Not(inner) if inner is not None else None
    if isinstance(node, Bool):
        items = [q for q in (compile_node(i, default_field, reader) for i in node.items) if q is not None]
        if not items:
            return None
        if node.op == "or":
            return wq.Or(items) if len(items) > 1 else items[0]
        syllables = _pinyin_syllables(node)
        if syllables and _has(reader, "pinyin", "".join(syllables)):
            # "lun yu": syllables typed apart are one pinyin word
            joined = wq.Term("pinyin", "".join(syllables))
            return wq.Or([wq.And(items), joined]) if len(items) > 1 else joined
        positives = [q for q in items if not isinstance(q, wq.Not)]
        negatives = [q.query for q in items if isinstance(q, wq.Not)]
        if not positives:
            positives = [wq.Every()]
        base = wq.And(positives) if len(positives) > 1 else positives[0]
        if negatives:
            return wq.AndNot(base, wq.Or(negatives) if len(negatives) > 1 else negatives[0])
        return base
    raise TypeError(node)


def _top_level(q: wq.Query) -> wq.Query:
    """A lone NOT at the top means "everything except"."""
    if isinstance(q, wq.Not):
        return wq.AndNot(wq.Every(), q.query)
    return q


# --- the Whoosh backend ------------------------------------------------------------------------


def _uses_positions(q: wq.Query) -> bool:
    if isinstance(q, SectionChecked | SpanBetween | wq.Phrase):
        return True
    return any(_uses_positions(c) for c in q.children())


_LENGTH_OF_BYTE = [byte_to_length(b) for b in range(256)]


class _LengthsBM25FScorer(scoring.BM25FScorer):  # type: ignore[misc]
    """Whoosh's BM25F scorer, reading the document's field length from a ``bytes`` copy of the
    segment's length column instead of through the codec (the same numbers, so the same scores)."""

    def __init__(self, searcher: Any, fieldname: str, text: Any, B: float, K1: float, lengths: bytes,
                 qf: int = 1) -> None:
        super().__init__(searcher, fieldname, text, B, K1, qf=qf)
        self._lengths = lengths

    def score(self, matcher: Any) -> float:
        fl = _LENGTH_OF_BYTE[self._lengths[matcher.id()]]
        tf = matcher.weight()
        K1 = self.K1
        return float(self.idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - self.B) + self.B * fl / self.avgfl))))


class CachedLengthsBM25F(scoring.BM25F):  # type: ignore[misc]
    """BM25F whose scorers read field lengths from per-segment ``bytes`` kept in ``cache``
    (keyed by segment id and field, so it stays right when segments change)."""

    def __init__(self, cache: dict[tuple[str, str], bytes], lock: threading.Lock) -> None:
        super().__init__()
        self._cache, self._cache_lock = cache, lock

    def _segment_lengths(self, reader: Any, fieldname: str) -> bytes | None:
        seg = reader.segment() if hasattr(reader, "segment") else None
        if seg is None:
            return None
        key = (seg.segment_id(), fieldname)
        lengths = self._cache.get(key)
        if lengths is None:
            try:
                col = reader._perdoc._cached_reader(f"_{fieldname}_len", W3LENGTHS_COLUMN)
            except AttributeError:
                return None
            if col is None:
                return None
            lengths = bytes(col)
            if len(lengths) != reader.doc_count_all():
                return None
            with self._cache_lock:
                self._cache[key] = lengths
        return lengths

    def scorer(self, searcher: Any, fieldname: str, text: Any, qf: int = 1) -> Any:
        if not searcher.schema[fieldname].scorable:
            return super().scorer(searcher, fieldname, text, qf=qf)
        lengths = self._segment_lengths(searcher.reader(), fieldname)
        if lengths is None:
            return super().scorer(searcher, fieldname, text, qf=qf)
        B = self._field_B.get(fieldname, self.B)
        return _LengthsBM25FScorer(searcher, fieldname, text, B, self.K1, lengths, qf=qf)


def _term_docs(s: Searcher, fieldname: str, text: Any) -> set[int]:
    """Documents holding a term, read a posting block at a time (not an id at a time)."""
    out: set[int] = set()
    for reader, offset in s.reader().leaf_readers():
        if (fieldname, text) not in reader:
            continue
        m = reader.postings(fieldname, text)
        if isinstance(m, wrappers.FilterMatcher):
            m = m.child
        ids: list[int] = []
        if isinstance(m, W3LeafMatcher):
            while m.is_active():
                if m._ids is None:
                    m._read_ids()
                ids.extend(m._ids[m._i :])
                m._i = m._blocklength
                m._next_block()
        else:
            ids.extend(m.all_ids())
        docs = set(ids)
        if reader.has_deletions():
            docs -= reader.deleted_docs_set
        out.update({d + offset for d in docs} if offset else docs)
    return out


def query_docs(s: Searcher, q: wq.Query) -> set[int]:
    """The documents matching a query, as a set: terms read by posting blocks and AND/OR/AND NOT
    as set operations; anything else through its matcher."""
    t = type(q)
    if t is wq.Term:
        return _term_docs(s, q.fieldname, q.text)
    if t is wq.And or t is wq.Or:
        sets = sorted((query_docs(s, k) for k in q.subqueries), key=len)
        if not sets:
            return set()
        if t is wq.And:
            return sets[0].intersection(*sets[1:])
        return sets[0].union(*sets[1:])
    if t is wq.AndNot:
        pos = query_docs(s, q.a)
        return pos - query_docs(s, q.b) if pos else pos
    return set(s.docs_for_query(q))


class WhooshBackend:
    """One Whoosh index directory (one per node). Safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._ix: Any = None
        self._ix_inode: int | None = None
        self._local = threading.local()
        self._facet_cache: dict[tuple[str, str], list[Any]] = {}
        self._joined_cache: dict[tuple[tuple[str, ...], str], list[Any]] = {}
        self._facet_lock = threading.Lock()
        self._lengths_cache: dict[tuple[str, str], bytes] = {}
        self._weighting = CachedLengthsBM25F(self._lengths_cache, self._facet_lock)

    # index handling

    def _open(self) -> Any:
        with self._lock:
            try:
                inode = os.stat(self.path).st_ino
            except FileNotFoundError:
                inode = None
            if self._ix is None or inode != self._ix_inode or inode is None:
                self.path.mkdir(parents=True, exist_ok=True)
                if index.exists_in(str(self.path)):
                    self._ix = index.open_dir(str(self.path))
                else:
                    self._ix = index.create_in(str(self.path), schema())
                self._ix_inode = os.stat(self.path).st_ino
                self._local = threading.local()
            return self._ix

    def searcher(self) -> Searcher:
        ix: Any = self._open()
        s: Searcher | None = getattr(self._local, "searcher", None)
        if s is None or id(getattr(self._local, "ix", None)) != id(ix):
            s = ix.searcher(weighting=self._weighting)
            self._local.ix = ix
        elif s.reader().generation() != ix.latest_generation():
            # Not Searcher.refresh(): it reuses segment readers by segment and so misses
            # deletions made since in those segments (an updated record would match twice).
            s.close()
            s = ix.searcher(weighting=self._weighting)
        self._local.searcher = s
        return s

    def doc_count(self) -> int:
        return int(self.searcher().doc_count())

    def index(self, docs: Iterable[dict[str, Any]]) -> int:
        """Add or replace documents (by record id)."""
        n = 0
        with self._lock:
            writer = self._open().writer(timeout=60.0)
            try:
                for doc in docs:
                    writer.update_document(**doc)
                    n += 1
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
        return n

    def delete(self, record_ids: Iterable[int]) -> None:
        with self._lock:
            writer = self._open().writer(timeout=60.0)
            for rid in record_ids:
                writer.delete_by_term("id", str(rid))
            writer.commit()

    def apply(self, upserts: Sequence[dict[str, Any]], deletes: Iterable[int]) -> None:
        """Replace and delete in one commit."""
        with self._lock:
            writer = self._open().writer(timeout=60.0)
            try:
                for rid in deletes:
                    writer.delete_by_term("id", str(rid))
                for doc in upserts:
                    writer.update_document(**doc)
            except BaseException:
                writer.cancel()
                raise
            writer.commit()

    def rebuild(self, docs: Iterable[dict[str, Any]], *, procs: int = 1, last_outbox_id: int = 0,
                limitmb: int = 128, batch: int = 0) -> int:
        """Build a new index beside the current one, then swap it in (searches keep working on the
        old one meanwhile). ``procs`` > 1 uses Whoosh's multiprocessing writer."""
        new = self.path.with_name(self.path.name + ".new")
        old = self.path.with_name(self.path.name + ".old")
        shutil.rmtree(new, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
        new.mkdir(parents=True)
        ix = index.create_in(str(new), schema())
        analysis.warm_up()
        kwargs: dict[str, Any] = {"limitmb": limitmb}
        if procs > 1:
            kwargs.update(procs=procs, multisegment=True)
            if batch:
                kwargs["batchsize"] = batch
        writer = ix.writer(**kwargs)
        n = 0
        try:
            for doc in docs:
                writer.add_document(**doc)
                n += 1
        except BaseException:
            writer.cancel()
            shutil.rmtree(new, ignore_errors=True)
            raise
        writer.commit()
        (new / STATE_FILE).write_text(json.dumps({"last_id": last_outbox_id}))
        with self._lock:
            if self.path.exists():
                os.replace(self.path, old)
            os.replace(new, self.path)
            shutil.rmtree(old, ignore_errors=True)
            self._ix = None
            self._facet_cache.clear()
            self._lengths_cache.clear()
            self._joined_cache.clear()
        return n

    def clear(self) -> None:
        with self._lock:
            shutil.rmtree(self.path, ignore_errors=True)
            self._ix = None
            self._facet_cache.clear()
            self._lengths_cache.clear()
            self._joined_cache.clear()

    # outbox watermark (kept with the index: it says what this index has seen)

    def last_outbox_id(self) -> int:
        try:
            return int(json.loads((self.path / STATE_FILE).read_text()).get("last_id", 0))
        except (FileNotFoundError, ValueError):
            return 0

    def set_last_outbox_id(self, value: int) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps({"last_id": value}))
        os.replace(tmp, self.path / STATE_FILE)

    # searching

    def compile(self, q: SearchQuery, reader: Any = None) -> wq.Query | None:
        main = compile_node(q.node, reader=reader)
        if main is None:
            return wq.Every() if q.filters else None
        return defer_sections(_top_level(main))

    def _allowed(self, s: Searcher, q: SearchQuery) -> set[int] | None:
        """Documents passing the facet filters (from the facet columns), or None for no filter."""
        allowed: set[int] | None = None
        for name, values in q.filters.items():
            fld = FACET_FIELDS.get(name)
            vals = {v.lower() if name == "language" else v for v in values if v}
            if not fld or not vals:
                continue
            col = self._facet_column(s, fld)
            if fld == "branches_col":
                docs = {d for d, v in enumerate(col) if v and not vals.isdisjoint(v)}
            else:
                docs = {d for d, v in enumerate(col) if v in vals}
            allowed = docs if allowed is None else allowed & docs
        return allowed

    def search(self, q: SearchQuery) -> SearchResult:
        s = self.searcher()
        wquery = self.compile(q, s.reader())
        if wquery is None:
            return SearchResult(0, [])
        allowed = self._allowed(s, q)
        start, end = q.start, q.start + q.per_page
        hits: list[Hit] = []
        title_first = q.sort == "relevance" and q.title_first and plain_words(q.node)
        tq = compile_node(q.node, "title", s.reader()) if title_first and isinstance(wquery, wq.And) else None
        if tq is not None:
            # Several words, title matches first. Fewer title matches than the page: the rest of
            # the page comes from the all-fields ranking, so one pass scores every match and gives
            # the count too (an intersection is matched cheaply, read by postings it is not).
            tq = defer_sections(tq)
            tdocs = query_docs(s, tq)
            if allowed is not None:
                tdocs &= allowed
            nt = len(tdocs)
            if end > nt:
                r = s.search(wquery, limit=None, filter=allowed)
                docset = {docnum for _score, docnum in r.top_n}
                total = len(docset)
                if total and start < total and end > start:
                    if start < nt:
                        r1 = s.search(tq, limit=nt, filter=allowed)
                        hits.extend(self._hits(s, r1, start, end))
                    rids = self._facet_column(s, "rid")
                    rest = ((score, docnum) for score, docnum in r.top_n if docnum not in tdocs)
                    hits.extend(Hit(int(rids[docnum]), float(score))
                                for score, docnum in islice(rest, max(0, start - nt), end - nt))
            else:
                docset = query_docs(s, wquery)
                if allowed is not None:
                    docset &= allowed
                total = len(docset)
                if total and start < total and end > start:
                    r1 = s.search(tq, limit=min(end, nt), filter=allowed)
                    hits = self._hits(s, r1, start, end)
        elif q.sort == "relevance" and not title_first and _uses_positions(wquery):
            # Matching reads positions (fielded, phrase): one pass that scores every match gives
            # the count, the facets' documents and the ranking (two passes would read them twice).
            r = s.search(wquery, limit=None, filter=allowed)
            docset = {docnum for _score, docnum in r.top_n}
            total = len(docset)
            if total and start < total and end > start:
                hits = self._hits(s, r, start, end)
        else:
            docset = query_docs(s, wquery)
            if allowed is not None:
                docset &= allowed
            total = len(docset)
            if total and start < total and end > start:
                hits = self._ranked(s, q, wquery, start, end, allowed)
        facets = self._count_facets(s, docset) if q.facets and total else {}
        suggestions = self.suggest(q.node) if total == 0 and q.node is not None else []
        return SearchResult(total, hits, facets, suggestions)

    def _hits(self, s: Searcher, results: Any, start: int, end: int) -> list[Hit]:
        rids = self._facet_column(s, "rid")
        # with sortedby, the first item is the sort key, not a score
        return [Hit(int(rids[docnum]), float(key) if isinstance(key, int | float) else 0.0)
                for key, docnum in results.top_n[start:end]]

    def _ranked(self, s: Searcher, q: SearchQuery, wquery: wq.Query, start: int, end: int,
                allowed: set[int] | None) -> list[Hit]:
        if q.sort in ("year", "year_asc", "title"):
            facet: Any
            if q.sort == "title":
                facet = sorting.FieldFacet("title_sort")
            else:
                facet = sorting.FieldFacet("year", reverse=q.sort == "year")
            r = s.search(wquery, limit=end, sortedby=facet, filter=allowed)
            return self._hits(s, r, start, end)
        if q.title_first and plain_words(q.node):
            # Title matches first: rank the records whose title holds every word, then the rest.
            tq = compile_node(q.node, "title", s.reader())
            if tq is not None:
                tq = defer_sections(tq)
                tdocs = query_docs(s, tq)
                if allowed is not None:
                    tdocs &= allowed
                nt = len(tdocs)
                hits: list[Hit] = []
                if start < nt:
                    r1 = s.search(tq, limit=min(end, nt), filter=allowed)
                    hits.extend(self._hits(s, r1, start, end))
                if end > nt:
                    r2 = s.search(wquery, limit=end - nt, mask=tdocs, filter=allowed)
                    hits.extend(self._hits(s, r2, max(0, start - nt), end - nt))
                return hits
        r = s.search(wquery, limit=end, filter=allowed)
        return self._hits(s, r, start, end)

    def _segment_values(self, reader: Any, fld: str) -> list[Any]:
        key = (reader.segment().segment_id() if hasattr(reader, "segment") and reader.segment() else str(id(reader)), fld)
        values = self._facet_cache.get(key)
        if values is None:
            with self._facet_lock:
                values = self._facet_cache.get(key)
                if values is None:
                    if fld == "branches_col":
                        values = [tuple(v.decode().split()) if v else () for v in reader.column_reader(fld)]
                    elif fld in ("language", "material", "decade", "clc_top"):
                        values = [v.decode() for v in reader.column_reader(fld)]
                    elif reader.has_column(fld):
                        values = list(reader.column_reader(fld))
                    elif fld == "rid":
                        values = [0] * reader.doc_count_all()
                    else:
                        values = [""] * reader.doc_count_all()
                    self._facet_cache[key] = values
        return values

    def _facet_column(self, s: Searcher, fld: str) -> list[Any]:
        """The column of the whole index (segments joined), built once per index version."""
        leaves = s.reader().leaf_readers()
        key = (tuple(r.segment().segment_id() if r.segment() is not None else str(id(r)) for r, _ in leaves), fld)
        joined = self._joined_cache.get(key)
        if joined is not None:
            return joined
        out: list[Any] = []
        for reader, offset in leaves:
            vals = self._segment_values(reader, fld)
            if len(out) < offset:
                out.extend([""] * (offset - len(out)))
            out.extend(vals)
        with self._facet_lock:
            if len(self._joined_cache) > 4 * len(FACET_FIELDS) + 8:
                self._joined_cache.clear()
            self._joined_cache[key] = out
        return out

    def _facet_codes(self, s: Searcher) -> tuple[list[int], list[tuple[Any, ...]], list[int], list[tuple[str, ...]]]:
        """Per document, one code for its (material, language, decade, class) values and one for
        its set of branches, with the value tuples the codes stand for; built once per index
        version. Counting a result's facets is then two C-speed counts of small ints, whatever
        the number of facets."""
        leaves = s.reader().leaf_readers()
        key = (tuple(r.segment().segment_id() if r.segment() is not None else str(id(r)) for r, _ in leaves),
               "codes")
        cached = self._joined_cache.get(key)
        if cached is not None:
            return cached  # type: ignore[return-value]
        singles = [self._facet_column(s, FACET_FIELDS[n]) for n in SINGLE_FACETS]
        combo_ids: dict[tuple[Any, ...], int] = {}
        codes = [combo_ids.setdefault(t, len(combo_ids)) for t in zip(*singles, strict=True)]
        bset_ids: dict[tuple[str, ...], int] = {}
        bcodes = [bset_ids.setdefault(tuple(v) if v else (), len(bset_ids))
                  for v in self._facet_column(s, FACET_FIELDS["branch"])]
        out = (codes, list(combo_ids), bcodes, list(bset_ids))
        with self._facet_lock:
            self._joined_cache[key] = out  # type: ignore[assignment]
        return out

    def _count_facets(self, s: Searcher, docset: set[int]) -> dict[str, list[tuple[str, int]]]:
        self._prune_facet_cache(s)
        codes, combos, bcodes, bsets = self._facet_codes(s)
        per: dict[str, Counter[Any]] = {name: Counter() for name in FACET_FIELDS}
        for code, n in Counter(map(codes.__getitem__, docset)).items():
            for name, value in zip(SINGLE_FACETS, combos[code], strict=True):
                per[name][value] += n
        branch = per["branch"]
        for code, n in Counter(map(bcodes.__getitem__, docset)).items():
            for b in bsets[code]:
                branch[b] += n
        result: dict[str, list[tuple[str, int]]] = {}
        for name in FACET_FIELDS:
            counts = per[name]
            counts.pop("", None)
            counts.pop(None, None)
            result[name] = sorted(((str(k), v) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))
        return result

    def _prune_facet_cache(self, s: Searcher) -> None:
        live = {r.segment().segment_id() for r, _ in s.reader().leaf_readers() if r.segment() is not None}
        stale = [k for k in self._facet_cache if k[0] not in live]
        if stale:
            with self._facet_lock:
                for k in stale:
                    self._facet_cache.pop(k, None)
        stale_lengths = [k for k in self._lengths_cache if k[0] not in live]
        if stale_lengths:
            with self._facet_lock:
                for k in stale_lengths:
                    self._lengths_cache.pop(k, None)

    def facets(self, q: SearchQuery) -> dict[str, list[tuple[str, int]]]:
        s = self.searcher()
        wquery = self.compile(q, s.reader())
        if wquery is None:
            return {}
        docs = query_docs(s, wquery)
        allowed = self._allowed(s, q)
        return self._count_facets(s, docs & allowed if allowed is not None else docs)

    def suggest(self, node: Node | None) -> list[str]:
        """"Did you mean": Latin words are corrected against the words of titles and names;
        Chinese words are matched by their pinyin against the pinyin of titles and names."""
        s = self.searcher()
        out: list[str] = []
        for w in words(node):
            if w.field not in (None, "title", "author"):
                continue
            text = analysis.fold(w.text)
            corrected: list[str] = []
            changed = False
            for part in text.split():
                if part.isascii() and part.isalpha() and len(part) >= 3:
                    low = part.lower()
                    if s.reader().doc_frequency("spell", low) or s.reader().doc_frequency("pinyin", low):
                        corrected.append(part)
                        continue
                    sugg = s.suggest("spell", low, limit=1, maxdist=2) or s.suggest("pinyin", low, limit=1, maxdist=1)
                    if sugg:
                        corrected.append(sugg[0])
                        changed = True
                        continue
                    corrected.append(part)
                elif analysis._HAS_CJK.search(part):
                    alt = self._pinyin_suggestion(s, part)
                    if alt and alt != part:
                        corrected.append(alt)
                        changed = True
                    else:
                        corrected.append(part)
                else:
                    corrected.append(part)
            if changed:
                out.append(" ".join(corrected))
        return out[:3]

    def _pinyin_suggestion(self, s: Searcher, text: str) -> str | None:
        """A Chinese query with a wrong character (同音字): find titles and names whose words sound
        the same and offer those words."""
        result: list[str] = []
        for word in analysis.query_words(text):
            if not analysis._HAS_CJK.search(word):
                result.append(word)
                continue
            if s.reader().doc_frequency("all", word):
                result.append(word)
                continue
            syl = analysis.pinyin_of(word)
            if not syl:
                return None
            key = "".join(syl)
            r = s.search(wq.Term("pinyin", key), limit=5)
            replacement = None
            for _score, docnum in r.top_n:
                replacement = self._word_with_pinyin(int(self._facet_column(s, "rid")[docnum]), key)
                if replacement:
                    break
            if replacement is None:
                return None
            result.append(replacement)
        return "".join(result)

    def _word_with_pinyin(self, record_id: int, key: str) -> str | None:
        lookup = getattr(self, "text_lookup", None)
        if lookup is None:
            return None
        for text in lookup(record_id):
            folded = analysis.fold(text)
            for m in analysis._RUN_RE.finditer(folded):
                run = m.group(1)
                if not run:
                    continue
                for n in range(len(run)):
                    for size in range(2, 7):
                        piece = run[n : n + size]
                        if len(piece) == size and "".join(analysis.pinyin_of(piece)) == key:
                            return piece
        return None
