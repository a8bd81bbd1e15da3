"""The fields the system needs, extracted from a MARC21 or UNIMARC/CNMARC record, and the copies
described by its holdings fields (MARC21 852/949/952, CNMARC 905)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pymarc import Field, Record

_TRAIL = " /:;,=.+"
_LEAD = " :;,/="
_NONSORT = re.compile("[\x88\x89\x98\x9c]")  # non-sorting begin/end (UNIMARC and MARC21)


def clean(text: str) -> str:
    """Strip ISBD punctuation and blanks at the ends."""
    if not text:
        return ""
    if text[-1] not in _TRAIL and text[0] not in _LEAD and text.isprintable():
        return text  # the common case, without the work below
    text = _NONSORT.sub("", text).strip()
    while text and text[-1] in _TRAIL:
        if text.endswith("...") or (text[-1] == "." and len(text) > 2 and text[-3] == " "):
            break
        text = text[:-1].rstrip()
    return text.lstrip(_LEAD)


class _Indexed:
    """A record's fields by tag, so that extraction does not scan every field for every tag."""

    def __init__(self, record: Record) -> None:
        self.leader = record.leader
        self.by_tag: dict[str, list[Field]] = {}
        for f in record.fields:
            self.by_tag.setdefault(f.tag, []).append(f)

    def get_fields(self, tag: str) -> list[Field]:
        return self.by_tag.get(tag, [])

    def get(self, tag: str) -> Field | None:
        found = self.by_tag.get(tag)
        return found[0] if found else None


def _subs(f: Field, codes: str) -> list[str]:
    return [sf.value for sf in f.subfields if sf.code in codes and sf.value.strip()]


def _first(record: _Indexed, tag: str, code: str) -> str:
    for f in record.get_fields(tag):
        if f.is_control_field():
            continue
        for v in _subs(f, code):
            return v
    return ""


# --------------------------------------------------------------------------- ISBN

def _isbn13_check(body12: str) -> str:
    total = sum(map(int, body12[0::2])) + 3 * sum(map(int, body12[1::2]))
    return str((10 - total % 10) % 10)


def _isbn10_valid(s: str) -> bool:
    total = sum((10 if ch in "Xx" else int(ch)) * (10 - i) for i, ch in enumerate(s))
    return total % 11 == 0


_ISBN_RE = re.compile(r"(97[89][\d\- ]{10,14}|[\d][\d\- ]{8,12}[\dXx])")


def normalize_isbn(text: str) -> str | None:
    """The ISBN-13 in ``text`` ("7-5037-1744-0 (精装)", "978-7-...", "055321215X (pbk.)"), or None
    when it holds no valid ISBN."""
    text = text or ""
    if len(text) == 13 and text.isdigit():  # the common case: already an ISBN-13
        return text if text[:3] in ("978", "979") and _isbn13_check(text[:12]) == text[12] else None
    for m in _ISBN_RE.finditer(text):
        s = re.sub(r"[\- ]", "", m.group(1))
        if len(s) == 13 and s.isdigit() and s[:3] in ("978", "979"):
            if _isbn13_check(s[:12]) == s[12]:
                return s
        elif len(s) == 10 and s[:9].isdigit() and (s[9].isdigit() or s[9] in "Xx") and _isbn10_valid(s):
            body = "978" + s[:9]
            return body + _isbn13_check(body)
    return None


# --------------------------------------------------------------------------- material type

_MATERIAL = {
    "a": "book", "t": "manuscript", "b": "manuscript", "c": "score", "d": "score", "e": "map", "f": "map",
    "g": "video", "i": "audio", "j": "audio", "k": "image", "l": "electronic", "m": "electronic",
    "o": "mixed", "p": "mixed", "r": "object",
}


def material_type(leader: str, flavour: str) -> str:
    t, level = leader[6:7], leader[7:8]
    if flavour == "unimarc" and t == "m":
        return "mixed"
    kind = _MATERIAL.get(t, "book")
    if kind == "book" and level == "s":
        return "periodical"
    return kind


# --------------------------------------------------------------------------- extraction

@dataclass
class Holding:
    barcode: str
    call_number: str = ""
    shelf_location: str = ""
    price: str = ""
    tag: str = ""


def _linked_880(record: _Indexed, tag: str) -> list[Field]:
    out = []
    for f in record.get_fields("880"):
        if f.is_control_field():
            continue
        link = f.get("6") or ""
        if link.startswith(tag):
            out.append(f)
    return out


def _year(text: str) -> int | None:
    m = re.search(r"(1[5-9]\d\d|20\d\d)", text or "")
    return int(m.group(1)) if m else None


def _join_subjects(f: Field, codes: str, sep: str) -> str:
    parts = [clean(v) for v in _subs(f, codes)]
    return sep.join(p for p in parts if p)


def _dedupe(values: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for v in values:
        if v and v not in seen:
            seen.add(v)
            out.append(v)
    return out


def _marc21(record: _Indexed) -> dict[str, Any]:
    out: dict[str, Any] = {}
    f245 = record.get("245")
    title = resp = pinyin = ""
    if f245 is not None and not f245.is_control_field():
        title = " ".join(clean(v) for v in _subs(f245, "abnp"))
        resp = clean(" ".join(_subs(f245, "c")))
    vern = _linked_880(record, "245")
    lang = ""
    f008 = record.get("008")
    if f008 is not None and f008.data and len(f008.data) >= 38:
        cand = f008.data[35:38]
        if cand.isalpha():
            lang = cand.lower()
    if not lang:
        lang = _first(record, "041", "a")[:3].lower()
    if vern:
        v = vern[0]
        romanized = title
        title = " ".join(clean(x) for x in _subs(v, "abnp")) or title
        resp = clean(" ".join(_subs(v, "c"))) or resp
        if lang in ("chi", "zho") and romanized != title:
            pinyin = romanized
    out["title"], out["responsibility"], out["title_pinyin"], out["language"] = title, resp, pinyin, lang

    authors: list[str] = []
    for tag in ("100", "110", "111", "700", "710", "711"):
        for f in record.get_fields(tag):
            if not f.is_control_field():
                authors.append(clean(" ".join(_subs(f, "ab" if tag[1] != "0" else "a"))))
        for v in _linked_880(record, tag):
            authors.append(clean(" ".join(_subs(v, "a"))))
    out["authors"] = _dedupe(authors)

    pub = None
    for f in record.get_fields("264"):
        if not f.is_control_field() and f.indicator2 == "1":
            pub = f
            break
    if pub is None:
        pub = record.get("260") or record.get("264")
    publisher = place = ""
    year = None
    if pub is not None and not pub.is_control_field():
        linked = _linked_880(record, pub.tag)
        src = linked[0] if linked else pub
        publisher = clean(" ".join(_subs(src, "b")) or " ".join(_subs(pub, "b")))
        place = clean(" ".join(_subs(src, "a")) or " ".join(_subs(pub, "a")))
        year = _year(" ".join(_subs(pub, "c")))
    if f008 is not None and f008.data and len(f008.data) >= 11 and f008.data[7:11].isdigit():
        year = int(f008.data[7:11]) or year
    out["publisher"], out["pub_place"], out["year"] = publisher, place, year

    out["isbns"] = _dedupe([i for f in record.get_fields("020") if not f.is_control_field()
                            for i in (normalize_isbn(v) for v in _subs(f, "a")) if i])
    subjects = []
    for tag in ("600", "610", "611", "630", "648", "650", "651"):
        for f in record.get_fields(tag):
            if not f.is_control_field():
                subjects.append(_join_subjects(f, "abtxyzv", " -- "))
    out["subjects"] = _dedupe(subjects)
    clc = ""
    for f in record.get_fields("084"):
        if not f.is_control_field() and (f.get("2") or "").strip().lower() == "clc":
            clc = clean(f.get("a") or "")
            break
    lc = ""
    f050 = record.get("050")
    if f050 is not None and not f050.is_control_field():
        lc = " ".join(_subs(f050, "ab"))
    out["classification_clc"], out["classification_lc"] = clc, lc
    out["classification_ddc"] = clean(_first(record, "082", "a"))
    call = ""
    for tag, codes in (("090", "ab"), ("099", "a"), ("852", "hi")):
        for f in record.get_fields(tag):
            if not f.is_control_field() and _subs(f, codes):
                call = " ".join(_subs(f, codes))
                break
        if call:
            break
    out["call_number"] = call or clc or lc or out["classification_ddc"]
    series = [clean(" ".join(_subs(f, "av"))) for t in ("490", "440", "830") for f in record.get_fields(t)
              if not f.is_control_field()]
    out["series"] = "; ".join(_dedupe(series))
    notes = [clean(v) for t in ("500", "520") for f in record.get_fields(t) if not f.is_control_field()
             for v in _subs(f, "a")]
    out["notes"] = "\n".join(notes)
    return out


def _unimarc(record: _Indexed) -> dict[str, Any]:
    out: dict[str, Any] = {}
    f200 = record.get("200")
    title = resp = pinyin = ""
    if f200 is not None and not f200.is_control_field():
        parts: list[str] = []
        for sf in f200.subfields:
            v = clean(sf.value)
            if not v:
                continue
            if sf.code == "a":
                parts.append((" ; " if parts else "") + v)
            elif sf.code == "e":
                parts.append(" : " + v)
            elif sf.code in "hi":
                parts.append(". " + v)
            elif sf.code == "d":
                parts.append(" = " + v)
        title = "".join(parts).strip()
        resp = " ; ".join(clean(v) for v in _subs(f200, "fg"))
        pinyin = " ".join(clean(v) for v in _subs(f200, "A9"))
    out["title"], out["responsibility"], out["title_pinyin"] = title, resp, pinyin
    out["language"] = _first(record, "101", "a")[:3].lower()
    authors = []
    for tag in ("700", "701", "702", "710", "711", "712"):
        for f in record.get_fields(tag):
            if f.is_control_field():
                continue
            a, b = clean(f.get("a") or ""), clean(f.get("b") or "")
            authors.append(f"{a}, {b}" if a and b else a)
    out["authors"] = _dedupe(authors)
    pub = record.get("210") or record.get("214")
    publisher = place = ""
    year = None
    if pub is not None and not pub.is_control_field():
        publisher = clean(" ; ".join(_subs(pub, "c")))
        place = clean(" ; ".join(_subs(pub, "a")))
        year = _year(" ".join(_subs(pub, "d")))
    if year is None:
        general = _first(record, "100", "a")
        if len(general) >= 13 and general[9:13].isdigit():
            year = int(general[9:13]) or None
    out["publisher"], out["pub_place"], out["year"] = publisher, place, year
    out["isbns"] = _dedupe([i for f in record.get_fields("010") if not f.is_control_field()
                            for i in (normalize_isbn(v) for v in _subs(f, "a")) if i])
    subjects = []
    for tag in ("600", "601", "602", "604", "605", "606", "607", "608"):
        for f in record.get_fields(tag):
            if not f.is_control_field():
                subjects.append(_join_subjects(f, "axyzj", "--"))
    for f in record.get_fields("610"):
        if not f.is_control_field():
            subjects.extend(clean(v) for v in _subs(f, "a"))
    out["subjects"] = _dedupe(subjects)
    clc = clean(_first(record, "690", "a"))
    if not clc:
        for f in record.get_fields("686"):
            if not f.is_control_field() and (f.get("2") or "").strip().lower() == "clc":
                clc = clean(f.get("a") or "")
                break
    out["classification_clc"] = clc
    out["classification_lc"] = clean(_first(record, "680", "a"))
    out["classification_ddc"] = clean(_first(record, "676", "a"))
    call = ""
    for f in record.get_fields("905"):
        if not f.is_control_field() and (f.get("d") or f.get("e")):
            call = "/".join(clean(v) for v in _subs(f, "de"))
            break
    if not call:
        for f in record.get_fields("090"):
            if not f.is_control_field():
                u = f.get("u")
                call = u or "/".join(clean(v) for v in _subs(f, "ab"))
                break
    out["call_number"] = call or clc or out["classification_ddc"]
    series = [clean(" ; ".join(_subs(f, "a"))) for t in ("225", "410") for f in record.get_fields(t)
              if not f.is_control_field()]
    out["series"] = "; ".join(_dedupe(series))
    notes = [clean(v) for t in ("300", "330") for f in record.get_fields(t) if not f.is_control_field()
             for v in _subs(f, "a")]
    out["notes"] = "\n".join(notes)
    return out


_LIMITS = {"publisher": 255, "pub_place": 255, "classification_clc": 64, "classification_lc": 64,
           "classification_ddc": 64, "call_number": 64, "language": 3, "control_number": 64,
           "control_number_source": 64}


def index(record: Record) -> _Indexed:
    return _Indexed(record)


def extract(record: Record | _Indexed, flavour: str) -> dict[str, Any]:
    """Column values of ``catalog.models.BibRecord`` for ``record``."""
    idx = record if isinstance(record, _Indexed) else _Indexed(record)
    out = _unimarc(idx) if flavour == "unimarc" else _marc21(idx)
    leader = str(record.leader)
    out["material_type"] = material_type(leader, flavour)
    f001 = idx.get("001")
    out["control_number"] = (f001.data or "").strip() or None if f001 is not None else None
    f003 = idx.get("003")
    out["control_number_source"] = (f003.data or "").strip() or None if f003 is not None else None
    for key, limit in _LIMITS.items():
        if isinstance(out.get(key), str):
            out[key] = out[key][:limit]
    if out.get("year") is not None and not (0 < out["year"] < 3000):
        out["year"] = None
    return out


def holdings(record: Record | _Indexed, flavour: str) -> list[Holding]:
    """Copies described in the record: MARC21 852 ($p barcode, $h/$i call number, $c/$b
    location), 949/952 ($p barcode, $h or $o call number, $c location, $g/$v price),
    CNMARC 905 ($b barcode, $d/$e call number, $c location)."""
    found: list[Holding] = []
    seen: set[str] = set()
    record = record if isinstance(record, _Indexed) else _Indexed(record)

    def add(h: Holding) -> None:
        if h.barcode and h.barcode not in seen and len(h.barcode) <= 32:
            seen.add(h.barcode)
            found.append(h)

    for f in record.get_fields("852"):
        if not f.is_control_field():
            add(Holding(clean(f.get("p") or ""), " ".join(_subs(f, "hi"))[:64],
                        clean(f.get("c") or f.get("b") or "")[:100], tag="852"))
    for tag in ("949", "952"):
        for f in record.get_fields(tag):
            if not f.is_control_field():
                add(Holding(clean(f.get("p") or ""), clean(f.get("h") or f.get("o") or "")[:64],
                            clean(f.get("c") or "")[:100], clean(f.get("g") or f.get("v") or ""), tag=tag))
    if flavour == "unimarc":
        for f in record.get_fields("905"):
            if not f.is_control_field():
                add(Holding(clean(f.get("b") or ""), "/".join(clean(v) for v in _subs(f, "de"))[:64],
                            clean(f.get("c") or "")[:100], clean(f.get("p") or ""), tag="905"))
    return found
