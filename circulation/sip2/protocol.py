"""SIP2 (3M Standard Interchange Protocol 2.00) frames: parsing what kiosks send and formatting
what the ACS answers. Pure functions, no database.

A frame is ``<2-digit code><fixed fields><variable fields>[AY<seq>AZ<checksum>]`` ended by CR.
Variable fields are ``<2-letter tag><value>|``. Real kiosks send blanks (or nothing) in fixed
fields they do not use, put unknown fields in, and end frames with CR LF; all of that is accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

# Fixed-field layouts of the messages a self-check unit (SC) sends, in order (name, width).
REQUEST_LAYOUTS: dict[str, tuple[tuple[str, int], ...]] = {
    "93": (("uid_algorithm", 1), ("pwd_algorithm", 1)),
    "99": (("status_code", 1), ("max_print_width", 3), ("protocol_version", 4)),
    "23": (("language", 3), ("transaction_date", 18)),
    "63": (("language", 3), ("transaction_date", 18), ("summary", 10)),
    "11": (("sc_renewal_policy", 1), ("no_block", 1), ("transaction_date", 18), ("nb_due_date", 18)),
    "09": (("no_block", 1), ("transaction_date", 18), ("return_date", 18)),
    "29": (("third_party_allowed", 1), ("no_block", 1), ("transaction_date", 18), ("nb_due_date", 18)),
    "65": (("transaction_date", 18),),
    "17": (("transaction_date", 18),),
    "15": (("hold_mode", 1), ("transaction_date", 18)),
    "35": (("transaction_date", 18),),
    "97": (),
    "01": (("card_retained", 1), ("transaction_date", 18)),
    "19": (("transaction_date", 18),),
    "25": (("transaction_date", 18),),
    "37": (("transaction_date", 18), ("fee_type", 2), ("payment_type", 2), ("currency_type", 3)),
}

# BX "supported messages" of the 98 answer, in the order of the standard:
# 23, 11, 09, 01, 99, 97, 93, 63, 35, 37, 17, 19, 25, 15, 29, 65.
# 19 (item status update) is answered, always with "not stored" (see handlers.py).
SUPPORTED_MESSAGES = "YYYYYYYYYYYNYYYY"

# Item circulation status (18 answer) from the catalogue's item status.
CIRCULATION_STATUS = {
    "available": "03",
    "on_loan": "04",
    "on_hold_shelf": "08",
    "in_transit": "10",
    "lost": "12",
    "missing": "13",
    "in_repair": "06",
    "withdrawn": "01",
}

_TRAILER = re.compile(r"(?:\|)?(?:AY(?P<seq>[^|]?))?AZ(?P<crc>[0-9A-Fa-f]{4})$")
_SEQ_ONLY = re.compile(r"(?:\|)?AY(?P<seq>[0-9])\|?$")
# Tags that open the variable part of a request (to find it after a short fixed part).
_FIRST_TAGS = ("AO", "AP", "CN", "BW", "BS", "BY", "AA", "AB", "AL", "BV")
MAX_FIELD_LENGTH = 255


class FrameError(ValueError):
    """A frame that cannot be read at all (too short, no message code)."""


@dataclass
class Message:
    """One decoded frame. ``fields`` maps each variable-field tag to its values in order
    (a tag may repeat); ``fixed`` maps fixed-field names to their (unstripped) text."""

    code: str
    fixed: dict[str, str] = field(default_factory=dict)
    fields: dict[str, list[str]] = field(default_factory=dict)
    sequence: str | None = None
    checksum: str | None = None
    checksum_ok: bool = True
    raw: str = ""

    def get(self, tag: str, default: str = "") -> str:
        values = self.fields.get(tag)
        return values[0] if values else default

    def has(self, tag: str) -> bool:
        return tag in self.fields

    def flag(self, name: str) -> bool:
        """A Y/N fixed field; blank (or anything but Y) is N."""
        return self.fixed.get(name, "").strip().upper() == "Y"


def checksum(data: bytes) -> str:
    """The AZ checksum: two's complement of the 16-bit sum of every byte up to and including
    ``AZ``, as four upper-case hex digits."""
    return f"{(-sum(data)) & 0xFFFF:04X}"


def _checksum_of_text(text: str) -> str:
    # Some clients (the PyPI ``sip2`` package among them) sum characters, not bytes.
    return f"{(-sum(ord(c) for c in text)) & 0xFFFF:04X}"


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode a frame: the kiosk's configured charset first, then UTF-8, then GBK; never fails
    (undecodable bytes become U+FFFD)."""
    tried: list[str] = []
    for enc in (charset, "utf-8", "gbk"):
        if not enc or enc in tried:
            continue
        tried.append(enc)
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode(charset or "utf-8", errors="replace")


def parse_frame(data: bytes, charset: str | None = None) -> Message:
    """Parse one frame (without its CR terminator). Raises FrameError when there is no
    two-digit message code. A checksum that does not add up sets ``checksum_ok`` False."""
    text = decode_bytes(data.strip(b"\r\n\x00"), charset)
    text = text.strip("\r\n\x00")
    if len(text) < 2:
        raise FrameError("frame shorter than a message code")
    code = text[:2]
    if not code.isascii() or not code.isalnum():
        raise FrameError("no message code")
    msg = Message(code=code.upper(), raw=text)
    body = text
    trailer = _TRAILER.search(body)
    if trailer is not None:
        msg.checksum = trailer.group("crc").upper()
        msg.sequence = trailer.group("seq")
        upto = body[: trailer.end() - 4]  # everything up to and including "AZ"
        raw_bytes = data.strip(b"\r\n\x00")
        byte_upto = raw_bytes[: len(raw_bytes) - 4]
        msg.checksum_ok = msg.checksum in (checksum(byte_upto), _checksum_of_text(upto))
        if msg.sequence is not None and not msg.sequence.isdigit():
            msg.checksum_ok = False  # the sequence number is one digit; anything else is a garbled frame
        body = body[: trailer.start()]
    else:
        seq = _SEQ_ONLY.search(body)
        if seq is not None and seq.start() >= 2:
            msg.sequence = seq.group("seq")
            body = body[: seq.start()]
    layout = REQUEST_LAYOUTS.get(msg.code, ())
    pos = 2
    rest_start = 2 + sum(w for _, w in layout)
    if len(body) < rest_start or "|" in body[2:rest_start]:
        # A kiosk that leaves out trailing fixed fields: take what is there, then look for
        # the first variable field.
        rest_start = _guess_variable_start(body, layout)
    for name, width in layout:
        end = min(pos + width, rest_start)
        msg.fixed[name] = body[pos:end] if pos < end else ""
        pos += width
    msg.fields = parse_fields(body[rest_start:])
    return msg


def _guess_variable_start(body: str, layout: Sequence[tuple[str, int]]) -> int:
    """Where the variable fields start in a frame whose fixed part is short: at the earliest
    tag that opens the variable part of some request (AO, AP, CN ...), else after the fixed part."""
    full = 2 + sum(w for _, w in layout)
    bar = body.find("|", 2)
    limit = bar if bar != -1 else len(body)
    best = None
    for tag in _FIRST_TAGS:
        i = body.find(tag, 2, limit)
        if i != -1 and (best is None or i < best):
            best = i
    if best is not None:
        return best
    return min(len(body), full)


def parse_fields(text: str) -> dict[str, list[str]]:
    """Split ``AOinst|AAcard|...`` into tags and values; empty pieces are skipped."""
    out: dict[str, list[str]] = {}
    for piece in text.split("|"):
        if len(piece) < 2:
            continue
        out.setdefault(piece[:2], []).append(piece[2:])
    return out


def _clean(value: object) -> str:
    text = "" if value is None else str(value)
    text = text.replace("|", "/").replace("\r", " ").replace("\n", " ")
    return text[:MAX_FIELD_LENGTH]


@dataclass
class Response:
    """An answer being built: the code, the fixed part, and variable fields in order."""

    code: str
    fixed: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)

    def add(self, tag: str, value: object, *, optional: bool = False) -> Response:
        """Append a variable field; an optional field with an empty value is left out."""
        text = _clean(value)
        if optional and text == "":
            return self
        self.fields.append((tag, text))
        return self

    def add_all(self, tag: str, values: Iterable[object]) -> Response:
        for v in values:
            self.add(tag, v)
        return self

    def text(self) -> str:
        return self.code + self.fixed + "".join(f"{tag}{value}|" for tag, value in self.fields)


def encode(response: Response | str, *, charset: str = "utf-8", sequence: str | None = None,
           with_sequence: bool = True) -> bytes:
    """The frame to send: the text, ``AY<seq>`` (echoing the request's, 0 when it sent none),
    ``AZ<checksum>`` and CR, in the kiosk's charset (characters it cannot show become ``?``)."""
    text = response.text() if isinstance(response, Response) else response
    if with_sequence:
        text += f"AY{sequence if sequence is not None else '0'}"
    body = (text + "AZ").encode(charset, errors="replace")
    return body + checksum(body).encode("ascii") + b"\r"


def resend_request() -> bytes:
    """The 96 answer ("send that again"): no sequence number, but a checksum."""
    return encode("96", with_sequence=False)


def sip_datetime(moment: dt.datetime, tz: str = "Asia/Shanghai") -> str:
    """``YYYYMMDDZZZZHHMMSS`` in local time (the zone part blank, as the standard prefers)."""
    local = moment.astimezone(ZoneInfo(tz))
    return local.strftime("%Y%m%d    %H%M%S")


def parse_sip_datetime(text: str, tz: str = "Asia/Shanghai") -> dt.datetime | None:
    """A ``YYYYMMDDZZZZHHMMSS`` date as an aware datetime (UTC), or None when it is blank or not
    a date. A blank zone is local time (``tz``); ``Z`` (or UTC/GMT) in the zone part is UTC;
    any other zone letter is read as local time (kiosks here run on Beijing time)."""
    if len(text) < 18 or not text[:8].isdigit() or not text[12:18].isdigit():
        return None
    zone = text[8:12].strip().upper()
    try:
        naive = dt.datetime.strptime(text[:8] + text[12:18], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    if zone in ("Z", "UTC", "GMT"):
        return naive.replace(tzinfo=dt.UTC)
    return naive.replace(tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)


def sip_due_date(day: dt.date) -> str:
    """A due date (a local day: due at its end) in the same format."""
    return day.strftime("%Y%m%d") + "    235959"


def yn(value: bool) -> str:
    return "Y" if value else "N"


def count4(n: int) -> str:
    return f"{max(0, min(n, 9999)):04d}"


# Patron status positions (24/64 answers) set by each circulation block code: 0 charge
# privileges denied, 1 renewal denied, 3 hold denied, 4 card reported lost, 5 too many items
# charged, 6 too many items overdue, 10 excessive outstanding fines.
BLOCK_FLAGS: dict[str, tuple[int, ...]] = {
    "lost_card": (0, 1, 3, 4),
    "reader_blocked": (0, 1, 3),
    "card_expired": (0, 1, 3),
    "suspended": (0, 1, 3),
    "too_many_items": (0, 5),
    "overdue_items": (0, 1, 6),
    "charges_over_limit": (0, 1, 10),
}


def patron_status_flags(codes: Iterable[str]) -> str:
    """The 14-character patron status ("Y" or blank per position) from block codes; a block
    code not listed denies charging and renewing."""
    flags = [" "] * 14
    for code in codes:
        for i in BLOCK_FLAGS.get(code, (0, 1)):
            flags[i] = "Y"
    return "".join(flags)


def summary_kind(summary: str) -> str | None:
    """Which item list a 63 request asks for (the first Y of its summary field)."""
    names = ("hold", "overdue", "charged", "fine", "recall", "unavailable")
    for i, ch in enumerate(summary[: len(names)]):
        if ch.upper() == "Y":
            return names[i]
    return None


def page_bounds(start: str, end: str, total: int, *, default_size: int = 10, max_size: int = 50) -> tuple[int, int]:
    """0-based slice bounds for BP/BQ (1-based, inclusive). Blank or nonsense values fall back
    to the first ``default_size`` items; a page is never longer than ``max_size``."""
    try:
        first = int(start.strip()) if start.strip() else 1
    except ValueError:
        first = 1
    try:
        last = int(end.strip()) if end.strip() else first + default_size - 1
    except ValueError:
        last = first + default_size - 1
    first = max(first, 1)
    last = max(last, first)
    last = min(last, first + max_size - 1)
    return min(first - 1, total), min(last, total)
