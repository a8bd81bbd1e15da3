"""The search request, independent of the engine: a small boolean query tree (built from the
search box, the advanced form, or CQL) plus filters, sort and paging."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Fields a reader (or CQL, or the API) may name; None means all fields.
FIELDS = ("title", "author", "subject", "publisher", "series", "notes", "isbn", "callno", "clc",
          "year", "language", "material")
FIELD_ALIASES = {
    "ti": "title", "title": "title", "题名": "title", "书名": "title",
    "au": "author", "author": "author", "作者": "author", "creator": "author",
    "su": "subject", "subject": "subject", "主题": "subject",
    "pb": "publisher", "publisher": "publisher", "出版社": "publisher",
    "series": "series", "丛书": "series",
    "notes": "notes",
    "isbn": "isbn",
    "callno": "callno", "call": "callno", "索书号": "callno",
    "clc": "clc", "class": "clc", "分类号": "clc",
    "year": "year", "年份": "year",
    "lang": "language", "language": "language",
    "type": "material", "material": "material",
}
FACETS = ("branch", "material", "language", "decade", "clc")
SORTS = ("relevance", "year", "year_asc", "title")


@dataclass(frozen=True)
class Word:
    """Text to find in one field (or all fields). ``relation`` "all": every word must match;
    "any": one is enough. ``phrase``: the words in this order."""

    text: str
    field: str | None = None
    phrase: bool = False
    relation: str = "all"


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class Bool:
    op: str  # "and" | "or"
    items: tuple[Node, ...]


@dataclass(frozen=True)
class YearRange:
    start: int | None
    end: int | None


Node = Word | Not | Bool | YearRange


@dataclass
class SearchQuery:
    node: Node | None
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    facets: bool = True
    title_first: bool = True
    offset: int | None = None  # overrides page (SRU startRecord)

    @property
    def start(self) -> int:
        return self.offset if self.offset is not None else (self.page - 1) * self.per_page


def and_(*items: Node | None) -> Node | None:
    real = [i for i in items if i is not None]
    if not real:
        return None
    if len(real) == 1:
        return real[0]
    return Bool("and", tuple(real))


_TOKEN_RE = re.compile(r'\s*(?:(-)?(?:([^\s:"()]+):)?"([^"]*)"?|(\()|(\))|(-)?(?:([^\s:"()]+):)?([^\s"()]+))')


def parse_box(text: str) -> Node | None:
    """The search box: words (all must match), "quoted phrases", field:word (title: author:
    subject: isbn: callno: publisher: year:), -word or NOT word, OR between alternatives,
    parentheses. Anything it does not understand is searched as words."""
    tokens: list[tuple[str, Node | None]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        neg1, fld1, phrase, lpar, rpar, neg2, fld2, word = m.groups()
        if lpar:
            tokens.append(("(", None))
        elif rpar:
            tokens.append((")", None))
        elif phrase is not None:
            node: Node | None = _field_word(fld1, phrase, True)
            if node is not None:
                tokens.append(("term", Not(node) if neg1 else node))
        elif word is not None:
            if word in ("AND", "OR", "NOT", "&&", "||") and not fld2:
                tokens.append(({"&&": "AND", "||": "OR"}.get(word, word), None))
                continue
            node = _field_word(fld2, word, False)
            if node is not None:
                tokens.append(("term", Not(node) if neg2 else node))
    parser = _BoxParser(tokens)
    return parser.parse()


def _field_word(fld: str | None, text: str, phrase: bool) -> Node | None:
    text = text.strip()
    if not text:
        return None
    if fld is not None:
        name = FIELD_ALIASES.get(fld.lower())
        if name is None:
            text = f"{fld}:{text}"
        elif name == "year":
            m = re.fullmatch(r"(\d{1,4})?\s*-\s*(\d{1,4})?", text)
            if m:
                return YearRange(int(m.group(1)) if m.group(1) else None, int(m.group(2)) if m.group(2) else None)
            return Word(text, "year")
        else:
            return Word(text, name, phrase and len(text.split()) >= 1)
    return Word(text, None, phrase)


class _BoxParser:
    """expr := and (OR and)* ; and := unary (AND? unary)* ; unary := NOT unary | ( expr ) | term"""

    def __init__(self, tokens: list[tuple[str, Node | None]]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def parse(self) -> Node | None:
        nodes: list[Node] = []
        while self.peek() is not None:
            n = self.expr()
            if n is not None:
                nodes.append(n)
            elif self.peek() is not None:
                self.i += 1  # a stray ")" or operator: skip it
        return and_(*nodes)

    def expr(self) -> Node | None:
        items = [self.and_expr()]
        while self.peek() == "OR":
            self.i += 1
            items.append(self.and_expr())
        real = [x for x in items if x is not None]
        if len(real) > 1:
            return Bool("or", tuple(real))
        return real[0] if real else None

    def and_expr(self) -> Node | None:
        items: list[Node | None] = [self.unary()]
        while self.peek() in ("AND", "NOT", "term", "("):
            if self.peek() == "AND":
                self.i += 1
            items.append(self.unary())
        return and_(*items)

    def unary(self) -> Node | None:
        kind = self.peek()
        if kind == "NOT":
            self.i += 1
            inner = self.unary()
            return Not(inner) if inner is not None else None
        if kind == "(":
            self.i += 1
            inner = self.expr()
            if self.peek() == ")":
                self.i += 1
            return inner
        if kind == "term":
            node = self.tokens[self.i][1]
            self.i += 1
            return node
        return None


def advanced(rows: list[tuple[str, str, str]], year_from: int | None = None, year_to: int | None = None) -> Node | None:
    """The advanced form: rows of (operator "and"|"or"|"not", field or "" for all, text).
    Operators apply left to right; a row's text is parsed like the search box."""
    node: Node | None = None
    for op, fld, text in rows:
        if not text.strip():
            continue
        name = FIELD_ALIASES.get(fld) if fld else None
        part = _scope(parse_box(text), name)
        if part is None:
            continue
        if node is None:
            node = Not(part) if op == "not" else part
        elif op == "or":
            node = Bool("or", (node, part))
        elif op == "not":
            node = Bool("and", (node, Not(part)))
        else:
            node = Bool("and", (node, part))
    if year_from is not None or year_to is not None:
        node = and_(node, YearRange(year_from, year_to))
    return node


def _scope(node: Node | None, fld: str | None) -> Node | None:
    """Put every unfielded word of ``node`` into ``fld``."""
    if node is None or fld is None:
        return node
    if isinstance(node, Word):
        return node if node.field else Word(node.text, fld, node.phrase, node.relation)
    if isinstance(node, Not):
        inner = _scope(node.item, fld)
        return Not(inner) if inner is not None else None
    if isinstance(node, Bool):
        return Bool(node.op, tuple(x for x in (_scope(i, fld) for i in node.items) if x is not None))
    return node


def words(node: Node | None) -> list[Word]:
    """The positive words of a query (for highlighting and suggestions)."""
    if node is None:
        return []
    if isinstance(node, Word):
        return [node]
    if isinstance(node, Bool):
        return [w for i in node.items for w in words(i)]
    return []


def plain_words(node: Node | None) -> bool:
    """True when the query is only unfielded words joined by AND (the simple box case, where
    title matches are ranked first)."""
    if isinstance(node, Word):
        return node.field is None and node.relation == "all"
    if isinstance(node, Bool):
        return node.op == "and" and all(plain_words(i) for i in node.items)
    return False
