"""OAI-PMH 2.0 at /oai: Identify, ListMetadataFormats (oai_dc, marc21), ListSets (material types
and 中图法 top-level classes), ListIdentifiers, ListRecords, GetRecord, from/until, resumption
tokens (a cursor on the record id, so records added during a harvest never shift the pages),
deleted records reported as deleted (soft-deleted rows are kept: deletedRecord "persistent"),
and the protocol's error codes. Read from the database, not the index."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any
from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, request
from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement

from catalog.models import BibRecord
from catalog.search import formats
from catalog.search.results import CLC_CLASSES, MATERIALS
from library import clock
from library.db import db_session

bp = Blueprint("oai", __name__)

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
FORMATS = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", formats.OAI_DC_NS),
    "marc21": (formats.MARCXML_XSD, formats.MARCXML_NS),
}
VERBS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
}
DEFAULT_PAGE = 100
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class OAIError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _repo_id() -> str:
    return str(current_app.config.get("LIBRARY_OAI_REPOSITORY_ID", "library.local"))


def _identifier(rid: int) -> str:
    return f"oai:{_repo_id()}:{rid}"


def _parse_identifier(identifier: str) -> int:
    prefix = f"oai:{_repo_id()}:"
    if identifier.startswith(prefix) and identifier[len(prefix):].isdigit():
        return int(identifier[len(prefix):])
    raise OAIError("idDoesNotExist", f"unknown identifier {identifier}")


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _datestamp_col() -> ColumnElement[Any]:
    return func.coalesce(BibRecord.deleted_at, BibRecord.updated_at)


def _datestamp(bib: BibRecord) -> dt.datetime:
    return max(d for d in (bib.deleted_at, bib.updated_at) if d is not None)


def _parse_date(value: str, *, until: bool) -> tuple[dt.datetime, str]:
    if _DATETIME.match(value):
        try:
            return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC), "second"
        except ValueError as exc:
            raise OAIError("badArgument", f"bad date {value}") from exc
    if _DATE.match(value):
        try:
            day = dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.UTC)
        except ValueError as exc:
            raise OAIError("badArgument", f"bad date {value}") from exc
        return (day + dt.timedelta(days=1) - dt.timedelta(microseconds=1) if until else day), "day"
    raise OAIError("badArgument", f"bad date {value}")


def _sets() -> list[tuple[str, str]]:
    out = [(f"material:{k}", str(v)) for k, v in MATERIALS.items()]
    out += [(f"clc:{k}", f"{k} {v}") for k, v in CLC_CLASSES.items()]
    return out


def _set_filter(spec: str) -> ColumnElement[bool]:
    kind, _, value = spec.partition(":")
    if kind == "material" and value in MATERIALS:
        return BibRecord.material_type == value
    if kind == "clc" and value in CLC_CLASSES:
        return BibRecord.classification_clc.like(f"{value}%")
    raise OAIError("badArgument", f"unknown set {spec}")


def _encode_token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(state, dict) or not isinstance(state.get("after"), int) or state.get("p") not in FORMATS:
            raise ValueError(token)
        return state
    except ValueError as exc:
        raise OAIError("badResumptionToken", "the resumption token is not valid") from exc


def _check_args(verb: str) -> dict[str, str]:
    required, optional = VERBS[verb]
    args = {k: v for k, v in request.values.items() if k != "verb"}
    for k in args:
        if len(request.values.getlist(k)) > 1:
            raise OAIError("badArgument", f"repeated argument {k}")
    if "resumptionToken" in args:
        if set(args) != {"resumptionToken"}:
            raise OAIError("badArgument", "resumptionToken is an exclusive argument")
        return args
    unknown = set(args) - required - optional
    if unknown:
        raise OAIError("badArgument", f"illegal arguments: {', '.join(sorted(unknown))}")
    missing = required - set(args)
    if missing:
        raise OAIError("badArgument", f"missing arguments: {', '.join(sorted(missing))}")
    return args


def _envelope(verb: str | None, attrs: dict[str, str], body: str) -> Response:
    attr = "".join(f' {k}="{escape(v, {chr(34): "&quot;"})}"' for k, v in attrs.items())
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<OAI-PMH xmlns="{OAI_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">'
        f"<responseDate>{_stamp(clock.now())}</responseDate>"
        f"<request{attr}>{escape(request.base_url)}</request>{body}</OAI-PMH>"
    )
    return Response(xml, mimetype="text/xml")


@bp.route("/oai", methods=["GET", "POST"])
def oai() -> Response:
    verb = request.values.get("verb", "")
    try:
        if verb not in VERBS or len(request.values.getlist("verb")) > 1:
            raise OAIError("badVerb", "illegal or missing verb")
        args = _check_args(verb)
        handler = {
            "Identify": _identify, "ListMetadataFormats": _list_formats, "ListSets": _list_sets,
            "ListIdentifiers": lambda a: _list(a, headers_only=True),
            "ListRecords": lambda a: _list(a, headers_only=False), "GetRecord": _get_record,
        }[verb]
        body = handler(args)
        return _envelope(verb, {"verb": verb, **args}, body)
    except OAIError as e:
        attrs = {"verb": verb, **{k: v for k, v in request.values.items() if k != "verb"}} if verb in VERBS else {}
        if e.code in ("badVerb", "badArgument"):
            attrs = {}
        return _envelope(verb, attrs, f'<error code="{e.code}">{escape(e.message)}</error>')


def _identify(_args: dict[str, str]) -> str:
    session = db_session()
    earliest = session.scalar(select(func.min(BibRecord.created_at)))
    return (
        "<Identify><repositoryName>资阳区图书馆总分馆 联合书目</repositoryName>"
        f"<baseURL>{escape(request.base_url)}</baseURL><protocolVersion>2.0</protocolVersion>"
        f"<adminEmail>{escape(str(current_app.config.get('LIBRARY_ADMIN_EMAIL', 'library@localhost')))}</adminEmail>"
        f"<earliestDatestamp>{_stamp(earliest) if earliest else '1970-01-01T00:00:00Z'}</earliestDatestamp>"
        "<deletedRecord>persistent</deletedRecord><granularity>YYYY-MM-DDThh:mm:ssZ</granularity>"
        '<description><oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai-identifier '
        'http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"><scheme>oai</scheme>'
        f"<repositoryIdentifier>{escape(_repo_id())}</repositoryIdentifier><delimiter>:</delimiter>"
        f"<sampleIdentifier>{escape(_identifier(1))}</sampleIdentifier></oai-identifier></description>"
        "</Identify>"
    )


def _list_formats(args: dict[str, str]) -> str:
    if "identifier" in args:
        rid = _parse_identifier(args["identifier"])
        if db_session().get(BibRecord, rid) is None:
            raise OAIError("idDoesNotExist", f"unknown identifier {args['identifier']}")
    return "<ListMetadataFormats>" + "".join(
        f"<metadataFormat><metadataPrefix>{p}</metadataPrefix><schema>{xsd}</schema>"
        f"<metadataNamespace>{ns}</metadataNamespace></metadataFormat>"
        for p, (xsd, ns) in FORMATS.items()
    ) + "</ListMetadataFormats>"


def _list_sets(args: dict[str, str]) -> str:
    if "resumptionToken" in args:
        raise OAIError("badResumptionToken", "ListSets is answered in one response")
    return "<ListSets>" + "".join(
        f"<set><setSpec>{escape(spec)}</setSpec><setName>{escape(name)}</setName></set>" for spec, name in _sets()
    ) + "</ListSets>"


def _header(bib: BibRecord) -> str:
    status = ' status="deleted"' if bib.deleted_at is not None else ""
    specs = [f"material:{bib.material_type}"] if bib.material_type in MATERIALS else []
    top = (bib.classification_clc or " ")[0].upper()
    if top in CLC_CLASSES:
        specs.append(f"clc:{top}")
    return (
        f"<header{status}><identifier>{escape(_identifier(bib.id))}</identifier>"
        f"<datestamp>{_stamp(_datestamp(bib))}</datestamp>"
        + "".join(f"<setSpec>{escape(s)}</setSpec>" for s in specs)
        + "</header>"
    )


def _record(bib: BibRecord, prefix: str) -> str:
    if bib.deleted_at is not None:
        return f"<record>{_header(bib)}</record>"
    data = formats.oai_dc(bib) if prefix == "oai_dc" else formats.marcxml(bib)
    return f"<record>{_header(bib)}<metadata>{data}</metadata></record>"


def _list(args: dict[str, str], *, headers_only: bool) -> str:
    page_size = int(current_app.config.get("LIBRARY_OAI_PAGE_SIZE", DEFAULT_PAGE))
    if "resumptionToken" in args:
        state = _decode_token(args["resumptionToken"])
    else:
        if args["metadataPrefix"] not in FORMATS:
            raise OAIError("cannotDisseminateFormat", f"unknown metadataPrefix {args['metadataPrefix']}")
        state = {"p": args["metadataPrefix"], "after": 0, "cursor": 0}
        gran = set()
        for key in ("from", "until"):
            if key in args:
                _value, g = _parse_date(args[key], until=key == "until")
                gran.add(g)
                state[key] = args[key]
        if len(gran) > 1:
            raise OAIError("badArgument", "from and until must have the same granularity")
        if "set" in args:
            _set_filter(args["set"])
            state["set"] = args["set"]
    conditions: list[ColumnElement[bool]] = []
    if "from" in state:
        conditions.append(_datestamp_col() >= _parse_date(state["from"], until=False)[0])
    if "until" in state:
        conditions.append(_datestamp_col() <= _parse_date(state["until"], until=True)[0])
    if "from" in state and "until" in state and \
            _parse_date(state["from"], until=False)[0] > _parse_date(state["until"], until=True)[0]:
        raise OAIError("badArgument", "from is later than until")
    if "set" in state:
        conditions.append(_set_filter(state["set"]))
    session = db_session()
    total = session.scalar(select(func.count(BibRecord.id)).where(*conditions)) or 0
    rows = list(
        session.scalars(
            select(BibRecord).where(BibRecord.id > state["after"], *conditions).order_by(BibRecord.id).limit(page_size + 1)
        )
    )
    if not rows:
        if "resumptionToken" in args:
            raise OAIError("badResumptionToken", "the resumption token is no longer valid")
        raise OAIError("noRecordsMatch", "no records match")
    more = len(rows) > page_size
    rows = rows[:page_size]
    tag = "ListIdentifiers" if headers_only else "ListRecords"
    body = "".join(_header(b) if headers_only else _record(b, state["p"]) for b in rows)
    cursor = int(state.get("cursor", 0))
    if more:
        nxt = dict(state, after=rows[-1].id, cursor=cursor + len(rows))
        body += f'<resumptionToken completeListSize="{total}" cursor="{cursor}">{_encode_token(nxt)}</resumptionToken>'
    elif "resumptionToken" in args:
        body += f'<resumptionToken completeListSize="{total}" cursor="{cursor}"/>'
    return f"<{tag}>{body}</{tag}>"


def _get_record(args: dict[str, str]) -> str:
    prefix = args["metadataPrefix"]
    rid = _parse_identifier(args["identifier"])
    bib = db_session().get(BibRecord, rid)
    if bib is None:
        raise OAIError("idDoesNotExist", f"unknown identifier {args['identifier']}")
    if prefix not in FORMATS:
        raise OAIError("cannotDisseminateFormat", f"unknown metadataPrefix {prefix}")
    return f"<GetRecord>{_record(bib, prefix)}</GetRecord>"
