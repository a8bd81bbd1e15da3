"""A CQL (Contextual Query Language, the query language of SRU) parser producing the search
query tree. Recursive descent over the CQL 1.2 grammar: boolean operators and/or/not/prox
(left-associative, modifiers accepted), parentheses, ``index relation term`` clauses with
relation modifiers, bare terms (cql.serverChoice), quoted strings with backslash escapes, and
a trailing ``sortBy`` (ignored). Errors carry SRU diagnostic numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.search.query import Bool, Node, Not, Word, YearRange

INDEXES: dict[str, str | None] = {
    "cql.serverchoice": None, "serverchoice": None, "cql.anywhere": None, "cql.keywords": None,
    "dc.anywhere": None, "anywhere": None, "keywords": None,
    "dc.title": "title", "title": "title", "bath.title": "title",
    "dc.creator": "author", "dc.author": "author", "author": "author", "creator": "author",
    "bath.author": "author", "bath.name": "author", "bath.personalname": "author",
    "dc.subject": "subject", "subject": "subject", "bath.subject": "subject",
    "bath.isbn": "isbn", "isbn": "isbn", "dc.identifier": "isbn",
    "dc.publisher": "publisher", "publisher": "publisher",
    "dc.date": "year", "date": "year", "year": "year",
    "dc.language": "language", "dc.type": "material",
    "bath.callnumber": "callno",
}
RELATIONS = ("=", "==", "all", "any", "adj", "exact", "<", ">", "<=", ">=", "<>", "within", "scr")


@dataclass
class CQLError(Exception):
    """An SRU diagnostic: 10 query syntax error, 16 unsupported index, 19 unsupported relation,
    27 empty term unsupported."""

    code: int
    message: str
    details: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.message} ({self.details})"


_TOKEN = re.compile(r'\s*(?:(\()|(\))|(==|<>|<=|>=|=|<|>)|(/)|"((?:[^"\\]|\\.)*)("?)|([^\s()=<>/"]+))')


def _tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise CQLError(10, "Query syntax error", text[pos:])
        pos = m.end()
        lpar, rpar, comp, slash, quoted, close, word = m.groups()
        if lpar:
            out.append(("(", "("))
        elif rpar:
            out.append((")", ")"))
        elif comp:
            out.append(("rel", comp))
        elif slash:
            out.append(("/", "/"))
        elif quoted is not None:
            if close != '"':
                raise CQLError(10, "Query syntax error", "unterminated quoted string")
            out.append(("str", re.sub(r"\\(.)", r"\1", quoted)))
        elif word is not None:
            out.append(("word", word))
        if pos < len(text) and text[pos:].strip() == "":
            break
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.t = tokens
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str] | None:
        j = self.i + k
        return self.t[j] if j < len(self.t) else None

    def next(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise CQLError(10, "Query syntax error", "unexpected end of query")
        self.i += 1
        return tok

    def is_bool(self, tok: tuple[str, str] | None) -> bool:
        return tok is not None and tok[0] == "word" and tok[1].lower() in ("and", "or", "not", "prox")

    def query(self) -> Node:
        node = self.scoped()
        tok = self.peek()
        if tok is not None and tok[0] == "word" and tok[1].lower() == "sortby":
            self.i = len(self.t)
        elif tok is not None:
            raise CQLError(10, "Query syntax error", f"unexpected {tok[1]!r}")
        return node

    def scoped(self) -> Node:
        left = self.clause()
        while self.is_bool(self.peek()):
            op = self.next()[1].lower()
            self.modifiers()
            right = self.clause()
            if op == "and" or op == "prox":
                left = Bool("and", (left, right))
            elif op == "or":
                left = Bool("or", (left, right))
            else:
                left = Bool("and", (left, Not(right)))
        return left

    def modifiers(self) -> list[str]:
        mods = []
        while self.peek() is not None and self.peek()[0] == "/":  # type: ignore[index]
            self.next()
            name = self.next()
            if name[0] not in ("word", "str"):
                raise CQLError(10, "Query syntax error", "bad modifier")
            mods.append(name[1].lower())
            nxt = self.peek()
            if nxt is not None and nxt[0] == "rel":
                self.next()
                self.next()
        return mods

    def clause(self) -> Node:
        tok = self.next()
        if tok[0] == "(":
            inner = self.scoped()
            close = self.next()
            if close[0] != ")":
                raise CQLError(10, "Query syntax error", "missing )")
            return inner
        if tok[0] not in ("word", "str"):
            raise CQLError(10, "Query syntax error", f"unexpected {tok[1]!r}")
        nxt = self.peek()
        rel_tok = None
        if nxt is not None and (nxt[0] == "rel" or (nxt[0] == "word" and nxt[1].lower() in RELATIONS
                                                  and self.peek(1) is not None and not self.is_bool(self.peek(1))
                                                  and self.peek(1)[0] in ("word", "str", "/"))):  # type: ignore[index]
            rel_tok = self.next()
        if rel_tok is None:
            return self.term(None, "=", tok[1])
        index_name = tok[1].lower()
        relation = rel_tok[1].lower()
        self.modifiers()
        term = self.next()
        if term[0] not in ("word", "str"):
            raise CQLError(10, "Query syntax error", f"expected a search term after {relation}")
        if index_name not in INDEXES:
            raise CQLError(16, "Unsupported index", tok[1])
        return self.term(INDEXES[index_name], relation, term[1])

    def term(self, fld: str | None, relation: str, text: str) -> Node:
        if relation not in RELATIONS:
            raise CQLError(19, "Unsupported relation", relation)
        if not text.strip():
            raise CQLError(27, "Empty term unsupported", "")
        text = text.replace("*", " ").replace("?", " ").strip() or text
        if fld == "year":
            try:
                if relation == "within":
                    a, b = text.split()
                    return YearRange(int(a), int(b))
                y = int(text)
            except ValueError as exc:
                raise CQLError(36, "Term in invalid format for index or relation", text) from exc
            if relation in ("=", "==", "exact", "adj", "all", "any"):
                return YearRange(y, y)
            if relation == "<":
                return YearRange(None, y - 1)
            if relation == "<=":
                return YearRange(None, y)
            if relation == ">":
                return YearRange(y + 1, None)
            if relation == ">=":
                return YearRange(y, None)
            if relation == "<>":
                return Not(YearRange(y, y))
            raise CQLError(19, "Unsupported relation", relation)
        if relation in ("<", ">", "<=", ">=", "<>", "within"):
            raise CQLError(19, "Unsupported relation", relation)
        if relation in ("any",):
            return Word(text, fld, relation="any")
        if relation in ("adj", "==", "exact"):
            return Word(text, fld, phrase=True)
        return Word(text, fld)


def parse(text: str) -> Node:
    """Parse a CQL query; raises ``CQLError`` (with its SRU diagnostic number)."""
    if not text or not text.strip():
        raise CQLError(10, "Query syntax error", "empty query")
    tokens = _tokenize(text)
    return _Parser(tokens).query()
