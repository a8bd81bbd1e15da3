"""MARC adapter on pymarc: reading ISO 2709 and MARCXML (MARC21 slim, UNIMARC/CNMARC namespaces,
SRU ``searchRetrieveResponse`` envelopes) robustly, flavour and per-record encoding detection,
lossless MARC-in-JSON storage and ISO 2709 / MARCXML writing.

Reading never stops at a bad record: ISO 2709 is split on the record terminator (0x1D; the
leader length is trusted when it points at a terminator) and every chunk is parsed on its own;
MARCXML is split into ``<record>`` elements, each parsed on its own. Each result carries its
position (record number from 1, byte offset in the file) and either a record or the reason.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape, quoteattr

from pymarc import Field, Indicators, Leader, Record, Subfield
from pymarc.marc8 import MARC8ToUnicode

FT = b"\x1e"  # field terminator
RT = b"\x1d"  # record terminator
SF = b"\x1f"  # subfield delimiter
BOM = b"\xef\xbb\xbf"
MARCXML_NS = "http://www.loc.gov/MARC21/slim"


@dataclass
class ReadResult:
    """One record read from a file, or the reason it could not be read."""

    number: int  # 1-based record number in the file
    offset: int  # byte offset of the record in the file
    record: Record | None = None
    flavour: str = ""  # "marc21" / "unimarc"
    encoding: str = ""  # "utf-8", "marc-8", "gb18030", "xml"
    kind: str = "bibliographic"  # "bibliographic", "authority", "holdings"
    error: str | None = None
    raw: bytes = b""
    warnings: list[str] = field(default_factory=list)

    @property
    def position(self) -> tuple[int, int]:
        return (self.number, self.offset)

    @property
    def ok(self) -> bool:
        return self.record is not None


class MarcDataError(ValueError):
    """A record that cannot be read; the message says why."""


# --------------------------------------------------------------------------- JSON (storage)

def record_to_json(record: Record) -> dict[str, Any]:
    """MARC-in-JSON: {"leader": str, "fields": [{"001": "x"}, {"245": {"ind1", "ind2", "subfields": [{"a": "v"}]}}]}."""
    fields: list[dict[str, Any]] = []
    for f in record.fields:
        if f.is_control_field():
            fields.append({f.tag: f.data})
        else:
            fields.append({f.tag: {"ind1": f.indicator1, "ind2": f.indicator2,
                                   "subfields": [{sf.code: sf.value} for sf in f.subfields]}})
    return {"leader": str(record.leader), "fields": fields}


def record_to_json_text(record: Record) -> str:
    """``json.dumps(record_to_json(record))`` built directly (the import's hot path: several
    times faster than dumping the nested dicts)."""
    enc = encode_basestring_ascii
    out = ['{"leader":', enc(str(record.leader)), ',"fields":[']
    first = True
    for f in record.fields:
        if not first:
            out.append(",")
        first = False
        if f.control_field:
            out.append(f'{{{enc(f.tag)}:{enc(f.data or "")}}}')
        else:
            ind = f._indicators or (" ", " ")
            subs = ",".join([f"{{{enc(sf[0])}:{enc(sf[1])}}}" for sf in f.subfields])
            out.append(f'{{{enc(f.tag)}:{{"ind1":{enc(ind[0])},"ind2":{enc(ind[1])},"subfields":[{subs}]}}}}')
    out.append("]}")
    return "".join(out)


def json_to_record(data: dict[str, Any]) -> Record:
    rec = Record(to_unicode=True, force_utf8=True)
    rec.leader = Leader(data.get("leader") or (" " * 24))
    for entry in data.get("fields", []):
        for tag, value in entry.items():
            if isinstance(value, dict):
                subs = [Subfield(code, val) for sf in value.get("subfields", []) for code, val in sf.items()]
                rec.add_field(Field(tag, Indicators(value.get("ind1", " "), value.get("ind2", " ")), subs))
            else:
                rec.add_field(Field(tag, data=value))
    return rec


def to_pymarc(bib: Any) -> Record:
    """The stored record of ``bib`` (a ``catalog.models.BibRecord``) as a pymarc Record."""
    return json_to_record(bib.marc)


def mark_unicode(record: Record, flavour: str) -> None:
    """Records are stored as Unicode: a MARC21 leader says so in position 09 ('a'). UNIMARC
    leaves 09 undefined (blank); its character set is in 100$a/26-29 and is left as it was."""
    leader = str(record.leader)
    if flavour == "marc21" and len(leader) == 24 and leader[9] != "a":
        record.leader = Leader(leader[:9] + "a" + leader[10:])


def is_control_tag(tag: str) -> bool:
    return tag.isdigit() and tag < "010"


# --------------------------------------------------------------------------- writing

def to_iso2709(record: Record, encoding: str = "utf-8") -> bytes:
    """ISO 2709 bytes of ``record``. Unlike pymarc's ``as_marc`` the leader is kept as it is
    (UNIMARC leader/09 stays blank); only the record length and base address are recomputed."""
    body = bytearray()
    directory = bytearray()
    for f in record.fields:
        if f.is_control_field():
            data = (f.data or "").encode(encoding) + FT
        else:
            parts = [(f.indicator1 or " ")[:1].encode(encoding) + (f.indicator2 or " ")[:1].encode(encoding)]
            for sf in f.subfields:
                parts.append(SF + sf.code.encode(encoding) + sf.value.encode(encoding))
            data = b"".join(parts) + FT
        tag = f.tag.rjust(3, "0")[:3].encode("ascii", "replace")
        if len(data) > 9999 or len(body) > 99999:
            raise MarcDataError(f"field {f.tag} too long for ISO 2709")
        directory += tag + b"%04d%05d" % (len(data), len(body))
        body += data
    directory += FT
    body += RT
    base = 24 + len(directory)
    total = base + len(body)
    if total > 99999:
        raise MarcDataError("record too long for ISO 2709")
    leader = str(record.leader).ljust(24)[:24]
    leader = f"{total:05d}{leader[5:12]}{base:05d}{leader[17:]}"
    return leader.encode("ascii", "replace") + bytes(directory) + bytes(body)


def _xml_chars(text: str) -> str:
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)


def to_marcxml(record: Record) -> str:
    """A ``<record>`` element (MARC21 slim namespace, used for both flavours)."""
    out = ["<record>", f"<leader>{escape(str(record.leader))}</leader>"]
    for f in record.fields:
        if f.is_control_field():
            out.append(f"<controlfield tag={quoteattr(f.tag)}>{escape(_xml_chars(f.data or ''))}</controlfield>")
        else:
            out.append(f"<datafield tag={quoteattr(f.tag)} ind1={quoteattr(f.indicator1 or ' ')} "
                       f"ind2={quoteattr(f.indicator2 or ' ')}>")
            for sf in f.subfields:
                out.append(f"<subfield code={quoteattr(sf.code)}>{escape(_xml_chars(sf.value))}</subfield>")
            out.append("</datafield>")
    out.append("</record>")
    return "".join(out)


def write_marcxml(records: Iterable[Record], fh: BinaryIO) -> int:
    fh.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    fh.write(f'<collection xmlns="{MARCXML_NS}">\n'.encode())
    n = 0
    for rec in records:
        fh.write(to_marcxml(rec).encode("utf-8") + b"\n")
        n += 1
    fh.write(b"</collection>\n")
    return n


# --------------------------------------------------------------------------- flavour, kind

_UNIMARC_100 = re.compile(r"^\d{8}[a-z]")


def detect_flavour(record: Record, hint: str = "") -> str:
    """"marc21" or "unimarc", from the fields (245/008 vs 200/100$a general data), else a hint
    (the XML namespace), else the leader."""
    tags = {f.tag for f in record.fields}
    if "245" in tags:
        return "marc21"
    if "200" in tags or "100" in tags:
        for f in record.get_fields("100"):
            if not f.is_control_field():
                a = f.get("a") or ""
                if _UNIMARC_100.match(a) and len(a) >= 30:
                    return "unimarc"
    if "008" in tags:
        return "marc21"
    if hint in ("marc21", "unimarc"):
        return hint
    if "200" in tags:
        return "unimarc"
    return "marc21"


def record_kind(record: Record, flavour: str) -> str:
    """"bibliographic", "authority" or "holdings" from leader/06."""
    t = str(record.leader)[6:7]
    if flavour == "marc21":
        if t == "z":
            return "authority"
        if t in ("u", "v", "x", "y"):
            return "holdings"
        return "bibliographic"
    if t in ("x", "y", "z"):  # UNIMARC/A: authority, reference and general explanatory entries
        return "authority"
    return "bibliographic"


# --------------------------------------------------------------------------- ISO 2709

def _looks_gb(data: bytes) -> bool:
    """GBK/GB18030 Chinese text: non-ASCII bytes come in lead/trail pairs, mostly both high
    (MARC-8 combining diacritics are a high byte followed by an ASCII letter)."""
    i, n, high_pairs, ascii_trail = 0, len(data), 0, 0
    while i < n:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        if b == 0x80 or b == 0xFF or i + 1 >= n:
            return False
        t = data[i + 1]
        if t >= 0x80:
            high_pairs += 1
        elif 0x40 <= t <= 0x7E:
            ascii_trail += 1
        else:
            return False
        i += 2
    if high_pairs < 2 or ascii_trail > high_pairs // 5:
        return False
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff") >= 2


def _choose_encoding(leader: str, payload: bytes, unimarc_hint: bool) -> str:
    if leader[9:10] == "a":
        return "utf-8"
    if b"\x1b" in payload:  # MARC-8 escape sequences (EACC CJK, Greek, Cyrillic ...)
        return "marc-8"
    try:
        payload.decode("utf-8")
        return "utf-8"  # plain ASCII or valid UTF-8 (UNIMARC leader/09 is always blank)
    except UnicodeDecodeError:
        pass
    if _looks_gb(payload):
        return "gb18030"
    return "gb18030" if unimarc_hint else "marc-8"


def _decode(data: bytes, encoding: str, where: str, warnings: list[str]) -> str:
    if encoding == "marc-8":
        try:
            return str(MARC8ToUnicode(quiet=True).translate(data))
        except Exception:  # noqa: BLE001 - the MARC-8 decoder raises various errors on junk
            warnings.append(f"{where}: bytes that are not MARC-8 were read as Latin-1")
            return data.decode("latin-1")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        warnings.append(f"{where}: invalid {encoding.upper()} bytes at {exc.start} replaced by U+FFFD")
        return data.decode(encoding, "replace")


_BAD_CODE = re.compile(rb"\x1f[\x80-\xff]")


def _control(tag: str, data: str) -> Field:
    """A control field without pymarc's constructor checks (the import's hot path)."""
    f = Field.__new__(Field)
    f.tag, f.data, f._indicators, f.subfields, f.control_field = tag, data, None, [], True
    return f


def _data(tag: str, ind1: str, ind2: str, subfields: list[Subfield]) -> Field:
    f = Field.__new__(Field)
    f.tag, f.data, f._indicators, f.subfields, f.control_field = tag, None, Indicators(ind1, ind2), subfields, False
    return f


def parse_iso2709(chunk: bytes, warnings: list[str] | None = None) -> tuple[Record, str]:
    """Parse one ISO 2709 record (ending with 0x1D). Returns (record, encoding) or raises
    MarcDataError with the reason; repairs it could make (invalid bytes replaced) are appended
    to ``warnings``."""
    if warnings is None:
        warnings = []
    if len(chunk) < 25:
        raise MarcDataError(f"truncated record ({len(chunk)} bytes)")
    try:
        leader = chunk[:24].decode("ascii")
    except UnicodeDecodeError as exc:
        raise MarcDataError("leader is not ASCII") from exc
    if not leader[:5].isdigit():
        raise MarcDataError(f"record length in leader is not numeric: {leader[:5]!r}")
    length = int(leader[:5])
    if length != len(chunk):
        raise MarcDataError(f"record length in leader is {length} but the record has {len(chunk)} bytes")
    if not leader[12:17].isdigit():
        raise MarcDataError(f"base address of data is not numeric: {leader[12:17]!r}")
    base = int(leader[12:17])
    if base <= 24 or base >= len(chunk):
        raise MarcDataError(f"base address of data {base} is invalid")
    if chunk[base - 1:base] != FT:
        raise MarcDataError(f"directory does not end with a field terminator at the base address {base}")
    directory = chunk[24:base - 1]
    if len(directory) % 12 != 0:
        raise MarcDataError(f"directory length {len(directory)} is not a multiple of 12")
    if not directory:
        raise MarcDataError("record has no fields")
    try:
        dtext = directory.decode("ascii")
    except UnicodeDecodeError as exc:
        raise MarcDataError("directory is not ASCII") from exc
    entries: list[tuple[str, bytes]] = []
    data = chunk[base:-1]
    for i in range(0, len(dtext), 12):
        tag, flen, fpos = dtext[i:i + 3], dtext[i + 3:i + 7], dtext[i + 7:i + 12]
        if not (flen.isdigit() and fpos.isdigit()):
            raise MarcDataError(f"directory entry {i // 12 + 1} ({dtext[i:i + 12]!r}) is invalid")
        start, n = int(fpos), int(flen)
        if n < 1 or start + n > len(data):
            raise MarcDataError(f"directory entry {i // 12 + 1} (tag {tag}) points outside the record")
        fdata = data[start:start + n]
        if not fdata.endswith(FT):
            raise MarcDataError(f"field {tag} (directory entry {i // 12 + 1}) does not end with a field terminator")
        entries.append((tag, fdata[:-1]))
    payload = b"".join(d for _, d in entries)
    tags = {t for t, _ in entries}
    unimarc_hint = "200" in tags and "245" not in tags
    encoding = _choose_encoding(leader, payload, unimarc_hint)
    rec = Record(to_unicode=True, force_utf8=True)
    rec.leader = Leader(leader)
    fields = rec.fields
    for tag, fdata in entries:
        if is_control_tag(tag):
            fields.append(_control(tag, _decode(fdata, encoding, f"field {tag}", warnings)))
            continue
        if encoding != "marc-8":
            try:
                text = fdata.decode(encoding)
            except UnicodeDecodeError:
                pass  # decode subfield by subfield below, reporting where the bad bytes are
            else:
                parts_t = text.split("\x1f")
                ind_text = parts_t[0]
                if ind_text.isascii() and _BAD_CODE.search(fdata) is None:
                    ind1 = ind_text[0] if len(ind_text) > 0 else " "
                    ind2 = ind_text[1] if len(ind_text) > 1 else " "
                    fields.append(_data(tag, ind1, ind2, [Subfield(p[0], p[1:]) for p in parts_t[1:] if p]))
                    continue
        parts = fdata.split(SF)
        ind = parts[0]
        try:
            ind_text = ind.decode("ascii")
        except UnicodeDecodeError as exc:
            raise MarcDataError(f"field {tag}: indicators are not ASCII") from exc
        ind1 = ind_text[0] if len(ind_text) > 0 else " "
        ind2 = ind_text[1] if len(ind_text) > 1 else " "
        subs = []
        for part in parts[1:]:
            if not part:
                continue
            if part[0] < 0x80:
                code = chr(part[0])
                subs.append(Subfield(code, _decode(part[1:], encoding, f"field {tag} ${code}", warnings)))
                continue
            # a non-ASCII byte where the subfield code should be: keep the first ASCII letter or
            # digit that follows as the code and say so
            text = _decode(part, encoding, f"field {tag}", warnings)
            k = next((j for j, ch in enumerate(text) if ch.isascii() and ch.isalnum()), -1)
            if k < 0:
                raise MarcDataError(f"field {tag}: subfield code is not ASCII")
            warnings.append(f"field {tag}: invalid subfield code {text[:k]!r} dropped before ${text[k]}")
            subs.append(Subfield(text[k], text[k + 1:]))
        fields.append(_data(tag, ind1, ind2, subs))
    return rec, encoding


def _split_iso2709(data: bytes, start: int) -> Iterator[tuple[int, bytes]]:
    """(offset, chunk) for each record: trust the leader length when it lands on a record
    terminator, else cut at the next terminator."""
    pos = start
    n = len(data)
    while pos < n:
        # skip whitespace between records (newlines some exporters add)
        while pos < n and data[pos] in b"\r\n \t\x00":
            pos += 1
        if pos >= n:
            return
        end = -1
        head = data[pos:pos + 5]
        if head.isdigit():
            length = int(head)
            if length >= 25 and pos + length <= n and data[pos + length - 1:pos + length] == RT:
                end = pos + length
        if end < 0:
            nxt = data.find(RT, pos)
            end = n if nxt < 0 else nxt + 1
        yield pos, data[pos:end]
        pos = end


# --------------------------------------------------------------------------- MARCXML

_XML_DECL_ENC = re.compile(rb"""<\?xml[^>]*encoding=["']([A-Za-z0-9_.\-]+)["']""")
_RECORD_RE = re.compile(
    rb"<((?:[A-Za-z_][\w.\-]*:)?)record(?:\s[^>]*)?>(?:(?!<(?:[A-Za-z_][\w.\-]*:)?record[\s>]).)*?</\1record\s*>",
    re.S)
_PREFIX_RE = re.compile(rb"</?([A-Za-z_][\w.\-]*):")
_NS_RE = re.compile(rb"""xmlns(?::([A-Za-z_][\w.\-]*))?=["']([^"']*)["']""")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _flavour_hint_from_ns(ns: str) -> str:
    low = ns.lower()
    if "unimarc" in low or "nlc.cn" in low or "cnmarc" in low:
        return "unimarc"
    if "marc21" in low:
        return "marc21"
    return ""


def xml_element_to_record(elem: ET.Element) -> Record:
    rec = Record(to_unicode=True, force_utf8=True)
    leader = ""
    for child in elem:
        name = _local(child.tag)
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            tag = (child.get("tag") or "").strip()
            if not tag:
                raise MarcDataError("controlfield without a tag")
            rec.add_field(Field(tag, data=child.text or ""))
        elif name == "datafield":
            tag = (child.get("tag") or "").strip()
            if not tag:
                raise MarcDataError("datafield without a tag")
            subs = []
            for sf in child:
                if _local(sf.tag) != "subfield":
                    continue
                code = sf.get("code") or ""
                if len(code) != 1:
                    raise MarcDataError(f"field {tag}: invalid subfield code {code!r}")
                subs.append(Subfield(code, sf.text or ""))
            rec.add_field(Field(tag, Indicators((child.get("ind1") or " ")[:1] or " ",
                                                (child.get("ind2") or " ")[:1] or " "), subs))
    if len(leader) != 24:
        raise MarcDataError(f"leader has {len(leader)} characters, not 24")
    if not rec.fields:
        raise MarcDataError("record has no fields")
    rec.leader = Leader(leader)
    return rec


def _read_xml(data: bytes, base_offset: int) -> Iterator[ReadResult]:
    m = _XML_DECL_ENC.search(data[:200])
    doc_encoding = m.group(1).decode("ascii").lower() if m else "utf-8"
    namespaces = {(p or b"").decode(): u.decode("utf-8", "replace") for p, u in _NS_RE.findall(data[:4000])}
    number = 0
    found_any = False
    for match in _RECORD_RE.finditer(data):
        chunk = match.group(0)
        inner_has_leader = re.search(rb"<(?:[\w.\-]+:)?leader[\s>]", chunk) is not None
        if not inner_has_leader and re.search(rb"<(?:[\w.\-]+:)?(?:controlfield|datafield)[\s>]", chunk) is None:
            continue  # e.g. an SRU <record> with no MARC inside
        found_any = True
        number += 1
        offset = base_offset + match.start()
        try:
            text = chunk.decode(doc_encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            yield ReadResult(number, offset, error=f"invalid bytes for {doc_encoding}: {exc}", raw=chunk)
            continue
        prefixes = {p.decode() for p in _PREFIX_RE.findall(chunk)} - {"xml"}
        decls = "".join(f' xmlns:{p}="{namespaces.get(p, "urn:x-prefix:" + p)}"' for p in sorted(prefixes)
                        if f"xmlns:{p}=" not in text)
        default_ns = namespaces.get("", "")
        wrapped = f"<wrap{decls}{' xmlns=' + quoteattr(default_ns) if default_ns else ''}>{text}</wrap>"
        try:
            root = ET.fromstring(wrapped)
            elem = root[0]
            rec = xml_element_to_record(elem)
        except ET.ParseError as exc:
            yield ReadResult(number, offset, error=f"malformed XML: {exc}", raw=chunk)
            continue
        except MarcDataError as exc:
            yield ReadResult(number, offset, error=str(exc), raw=chunk)
            continue
        hint = _flavour_hint_from_ns(_namespace(elem.tag))
        flavour = detect_flavour(rec, hint)
        yield ReadResult(number, offset, record=rec, flavour=flavour, encoding="xml",
                         kind=record_kind(rec, flavour), raw=chunk)
    if not found_any:
        try:
            ET.fromstring(data)
        except ET.ParseError as exc:
            yield ReadResult(1, base_offset, error=f"malformed XML: {exc}")
            return
        yield ReadResult(1, base_offset, error="no MARC records found in the XML document")


# --------------------------------------------------------------------------- entry points

def read_bytes(data: bytes) -> Iterator[ReadResult]:
    """Read every record of an ISO 2709 or MARCXML document held in memory."""
    start = 0
    if data.startswith(BOM):
        start = 3
    probe = data[start:start + 200].lstrip()
    if probe.startswith(b"<"):
        yield from _read_xml(data[start:], start)
        return
    for number, (offset, chunk) in enumerate(_split_iso2709(data, start), start=1):
        warnings: list[str] = []
        try:
            rec, encoding = parse_iso2709(chunk, warnings)
        except MarcDataError as exc:
            yield ReadResult(number, offset, error=str(exc), raw=chunk)
            continue
        flavour = detect_flavour(rec)
        yield ReadResult(number, offset, record=rec, flavour=flavour, encoding=encoding,
                         kind=record_kind(rec, flavour), raw=chunk, warnings=warnings)


def read_file(path: str | Path) -> Iterator[ReadResult]:
    """Read every record of a file; see ``ReadResult``."""
    yield from read_bytes(Path(path).read_bytes())


def record_from_text(text: str) -> Record:
    """Parse the line format of the MARC editor / ``str(pymarc.Record)``:
    ``=LDR  leader``, ``=001  data``, ``=245  10$aTitle$cAuthor`` (``\\`` is a blank indicator)."""
    rec = Record(to_unicode=True, force_utf8=True)
    for line in text.splitlines():
        line = line.rstrip("\r")
        if not line.strip():
            continue
        if not line.startswith("="):
            raise MarcDataError(f"line does not start with '=': {line[:40]!r}")
        tag, rest = line[1:4], line[6:] if len(line) > 5 else ""
        if tag == "LDR":
            rec.leader = Leader(rest.replace("\\", " ").ljust(24)[:24])
            continue
        if is_control_tag(tag):
            rec.add_field(Field(tag, data=rest.replace("\\", " ")))
            continue
        ind = rest[:2].replace("\\", " ").ljust(2)
        subs = [Subfield(p[0], p[1:]) for p in rest[2:].split("$")[1:] if p]
        rec.add_field(Field(tag, Indicators(ind[0], ind[1]), subs))
    return rec
