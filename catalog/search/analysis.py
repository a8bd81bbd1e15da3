"""Text analysis for Chinese and Latin script, shared by indexing and querying.

Every text goes through Unicode NFKC (full-width letters and digits become ASCII), then
traditional→simplified folding with OpenCC (so 論語 and 论语 index and query alike), then is
split into runs: CJK runs are segmented by jieba (accurate mode, each word followed by the
dictionary words inside it at the same position, which is jieba's "search mode" but with
positions that keep phrase queries working), Latin runs are lowercased and Porter-stemmed.
Results are cached per run: titles, names, publishers and subjects repeat a great deal.

The pinyin of titles and names is indexed in its own field: each word's full pinyin
(``lunyu``) and initials (``ly``), the same for the dictionary words inside it and for the
whole string, so readers who type pinyin find 论语 (syllables typed apart, ``lun yu``, are
joined at query time).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from whoosh.analysis import Token, Tokenizer
from whoosh.lang.porter import stem as _porter_stem

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_RUN_RE = re.compile(rf"([{_CJK}]+)|([A-Za-z0-9\u00c0-\u024f]+)")
_HAS_CJK = re.compile(f"[{_CJK}]")
_HAN_CHAR = re.compile(f"[{_CJK}]")

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _jieba() -> Any:
    """jieba, initialised once per process and silenced (it logs its dictionary loading)."""
    jb = _state.get("jieba")
    if jb is None:
        with _lock:
            jb = _state.get("jieba")
            if jb is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                logging.getLogger("jieba").setLevel(logging.WARNING)
                jieba.initialize()
                _state["jieba"] = jb = jieba
    return jb


def _opencc() -> Any:
    cc = _state.get("opencc")
    if cc is None:
        with _lock:
            cc = _state.get("opencc")
            if cc is None:
                import opencc

                _state["opencc"] = cc = opencc.OpenCC("t2s")
    return cc


def warm_up() -> None:
    """Load the dictionaries now (indexing processes and the benchmark call this first)."""
    _jieba()
    _opencc()
    pinyin_of("论语")


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """NFKC, then traditional→simplified when the text has Han characters."""
    text = unicodedata.normalize("NFKC", text)
    if _HAS_CJK.search(text):
        text = _opencc().convert(text)
    return text


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    return _porter_stem(word)


@lru_cache(maxsize=200_000)
def _segment(run: str) -> tuple[tuple[str, ...], ...]:
    """The words of a CJK run; each entry is (word, dictionary sub-words...)."""
    jb = _jieba()
    freq = jb.dt.FREQ
    out: list[tuple[str, ...]] = []
    for word in jb.cut(run, HMM=True):
        group = [word]
        n = len(word)
        if n > 2:
            for size in (2, 3):
                if n > size:
                    for i in range(n - size + 1):
                        gram = word[i : i + size]
                        if freq.get(gram) and gram not in group:
                            group.append(gram)
        out.append(tuple(group))
    return tuple(out)


@lru_cache(maxsize=50_000)
def query_words(run: str) -> tuple[str, ...]:
    """The words of a CJK run as typed in a query (accurate mode: the longest words)."""
    return tuple(g[0] for g in _segment(run))


def sub_words(word: str) -> tuple[str, ...]:
    """The dictionary words inside ``word`` (for matching a long query word by its parts)."""
    for group in _segment(word):
        if group[0] == word:
            return group[1:]
    return ()


def tokens(text: str, *, stemming: bool = True) -> list[tuple[str, int, int, int]]:
    """(term, position, startchar, endchar) of a text; chars refer to the folded text."""
    out: list[tuple[str, int, int, int]] = []
    pos = 0
    folded = fold(text)
    for m in _RUN_RE.finditer(folded):
        cjk, latin = m.group(1), m.group(2)
        if cjk:
            start = m.start()
            for group in _segment(cjk):
                word = group[0]
                end = start + len(word)
                for term in group:
                    out.append((term, pos, start, end))
                start = end
                pos += 1
        else:
            word = latin.lower()
            out.append((stem(word) if stemming and not word.isdigit() else word, pos, m.start(), m.end()))
            pos += 1
    return out


SECTION_SEP = "\x1e"
SECTION_SPAN = 1000  # positions per section of the all-fields text


def sectioned_tokens(value: str, *, stemming: bool = True) -> list[tuple[str, int, int, int]]:
    """Tokens of a text made of sections (separated by ``SECTION_SEP``): section *i* starts at
    position ``i * SECTION_SPAN``, so a span query can tell in which section a word is."""
    if SECTION_SEP not in value:
        return tokens(value, stemming=stemming)
    out: list[tuple[str, int, int, int]] = []
    offset = 0
    for i, section in enumerate(value.split(SECTION_SEP)):
        base = i * SECTION_SPAN
        for term, pos, sc, ec in tokens(section, stemming=stemming):
            if pos >= SECTION_SPAN:
                break
            out.append((term, base + pos, offset + sc, offset + ec))
        offset += len(section) + 1
    return out


def terms(text: str, *, stemming: bool = True) -> list[str]:
    return [t[0] for t in tokens(text, stemming=stemming)]


class LibraryTokenizer(Tokenizer):  # type: ignore[misc]
    """Whoosh tokenizer doing the whole analysis above (one pass, cached per run)."""

    def __init__(self, stemming: bool = True) -> None:
        self.stemming = stemming

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LibraryTokenizer) and other.stemming == self.stemming

    def __hash__(self) -> int:
        return hash(("LibraryTokenizer", self.stemming))

    def __call__(self, value: str, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
                 removestops: bool = True, start_pos: int = 0, start_char: int = 0, tokenize: bool = True,
                 mode: str = "", **kwargs: Any) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        for term, pos, sc, ec in sectioned_tokens(value, stemming=self.stemming):
            t.text = term
            t.boost = 1.0
            if keeporiginal:
                t.original = term
            t.stopped = False
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar, t.endchar = start_char + sc, start_char + ec
            yield t


class PinyinTokenizer(Tokenizer):  # type: ignore[misc]
    """Pinyin terms of titles and names; the value may carry the cataloguer's pinyin after a
    ``\\x1f`` separator (CNMARC 200$A), which wins over generated pinyin when it lines up."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PinyinTokenizer)

    def __hash__(self) -> int:
        return hash("PinyinTokenizer")

    def __call__(self, value: str, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
                 removestops: bool = True, start_pos: int = 0, start_char: int = 0, tokenize: bool = True,
                 mode: str = "", **kwargs: Any) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        found = pinyin_terms(value) if tokenize else [value.lower()]
        for i, term in enumerate(found):
            t.text = term
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = start_pos + i
            if chars:
                t.startchar, t.endchar = start_char, start_char
            yield t


def library_analyzer(stemming: bool = True) -> LibraryTokenizer:
    return LibraryTokenizer(stemming)


_SYLLABLE_RE = re.compile(r"[a-zü]+")


@lru_cache(maxsize=100_000)
def pinyin_of(word: str) -> tuple[str, ...]:
    """Generated pinyin syllables of a (simplified) Chinese word, one per character."""
    from pypinyin import Style, lazy_pinyin

    return tuple(s.replace("ü", "v") for s in lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))


def _cataloguer_syllables(folded: str, given: str) -> list[str] | None:
    """The cataloguer's pinyin split into one syllable per Han character, when it lines up."""
    syl = _SYLLABLE_RE.findall(unicodedata.normalize("NFKC", given).lower().replace("ü", "v"))
    han = _HAN_CHAR.findall(folded)
    if len(syl) == len(han):
        return [s.replace("ü", "v") for s in syl]
    return None


@lru_cache(maxsize=200_000)
def pinyin_terms(value: str) -> list[str]:
    """Full pinyin and initials of each word (and the words inside it) and of each whole string.

    ``value`` holds strings separated by ``\\n``; a string may end with ``\\x1f`` and the
    cataloguer's pinyin for it.
    """
    out: list[str] = []
    seen: set[str] = set()

    def add(term: str) -> None:
        if term and term not in seen:
            seen.add(term)
            out.append(term)

    for line in value.split("\n"):
        text, _, given = line.partition("\x1f")
        folded = fold(text)
        runs = [m.group(1) for m in _RUN_RE.finditer(folded) if m.group(1)]
        if not runs:
            continue
        cat = _cataloguer_syllables(folded, given) if given else None
        k = 0
        whole: list[str] = []
        for run in runs:
            for group in _segment(run):
                word = group[0]
                if cat is not None:
                    syl = tuple(cat[k : k + len(word)])
                    k += len(word)
                else:
                    syl = pinyin_of(word)
                if not syl:
                    continue
                whole.extend(syl)
                if len(syl) > 1:
                    add("".join(syl))
                    add("".join(s[0] for s in syl))
                for sub in group[1:]:
                    i = word.find(sub)
                    sub_syl = syl[i : i + len(sub)] if len(syl) == len(word) and i >= 0 else pinyin_of(sub)
                    if len(sub_syl) > 1:
                        add("".join(sub_syl))
                        add("".join(s[0] for s in sub_syl))
        if len(whole) > 1:
            add("".join(whole))
            add("".join(s[0] for s in whole))
        if given and cat is None:
            # Not one syllable per character: keep the cataloguer's words as they are.
            words = _SYLLABLE_RE.findall(unicodedata.normalize("NFKC", given).lower())
            for w in words:
                add(w)
            if len(words) > 1:
                add("".join(words))
    return out


def pinyin_sort_key(title: str) -> str:
    """A key that sorts titles in pinyin order (Latin titles by their letters)."""
    folded = fold(title).strip()
    parts: list[str] = []
    for m in _RUN_RE.finditer(folded):
        if m.group(1):
            for ch in m.group(1):
                py = pinyin_of(ch)
                parts.append(py[0] if py else ch)
        else:
            word = m.group(2).lower()
            parts.append(word.zfill(8) if word.isdigit() else word)  # 第2卷 before 第10卷
    return " ".join(parts)[:200]


def looks_like_pinyin(word: str) -> bool:
    return word.isascii() and word.isalpha()
