"""SRU (Search/Retrieve via URL) at /sru, versions 1.2 and 2.0: explain and searchRetrieve with
CQL, startRecord/maximumRecords (0 gives the count only), record schemas marcxml and dc, and
SRU diagnostics for what we cannot answer."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from catalog.models import BibRecord
from catalog.search import cql, formats, service
from catalog.search.query import SearchQuery
from library.db import db_session

bp = Blueprint("sru", __name__)

NS_12 = "http://www.loc.gov/zing/srw/"
NS_20 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
DIAG_12 = "http://www.loc.gov/zing/srw/diagnostic/"
DIAG_20 = "http://docs.oasis-open.org/ns/search-ws/diagnostic"
SCHEMAS = {
    "marcxml": "marcxml", "marc21": "marcxml", "info:srw/schema/1/marcxml-v1.1": "marcxml",
    "http://www.loc.gov/marcxml/": "marcxml", "info:srw/schema/1/marcxml-v1.1-light": "marcxml",
    "dc": "dc", "info:srw/schema/1/dc-v1.1": "dc", "http://purl.org/dc/elements/1.1/": "dc",
}
SCHEMA_URI = {"marcxml": "info:srw/schema/1/marcxml-v1.1", "dc": "info:srw/schema/1/dc-v1.1"}
DEFAULT_MAX = 10
LIMIT_MAX = 100


class Diagnostic(Exception):
    def __init__(self, code: int, message: str, details: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


def _version() -> str:
    v = request.args.get("version")
    if v is None:
        return "1.2" if request.args.get("operation") else "2.0"
    return v


def _ns(version: str) -> tuple[str, str]:
    return (NS_20, DIAG_20) if version.startswith("2") else (NS_12, DIAG_12)


def _xml(body: str) -> Response:
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + body, mimetype="application/xml")


def _diag_xml(diag_ns: str, d: Diagnostic) -> str:
    return (
        f'<diagnostic xmlns="{diag_ns}"><uri>info:srw/diagnostic/1/{d.code}</uri>'
        f"<details>{escape(d.details)}</details><message>{escape(d.message)}</message></diagnostic>"
    )


@bp.route("/sru", methods=["GET", "POST"])
def sru() -> Response:
    version = _version()
    rversion = "2.0" if version.startswith("2") else "1.2"
    ns, diag_ns = _ns(rversion)
    operation = request.values.get("operation") or ("searchRetrieve" if "query" in request.values else "explain")
    if version not in ("1.1", "1.2", "2.0"):
        return _xml(_explain(ns, rversion, [Diagnostic(5, "Unsupported version", "1.2 2.0")]))
    if operation == "explain":
        return _xml(_explain(ns, rversion, []))
    if operation != "searchRetrieve":
        return _xml(_explain(ns, rversion, [Diagnostic(4, "Unsupported operation", operation)]))
    return _xml(_search_retrieve(ns, diag_ns, rversion))


def _int_param(name: str, default: int) -> int:
    raw = request.values.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise Diagnostic(6, "Unsupported parameter value", name) from exc
    if value < 0:
        raise Diagnostic(6, "Unsupported parameter value", name)
    return value


def _search_retrieve(ns: str, diag_ns: str, version: str) -> str:
    diagnostics: list[Diagnostic] = []
    total = 0
    records_xml: list[str] = []
    next_pos: int | None = None
    query_text = request.values.get("query", "")
    schema = "marcxml"
    try:
        if not query_text:
            raise Diagnostic(7, "Mandatory parameter not supplied", "query")
        start = _int_param("startRecord", 1)
        if start < 1:
            raise Diagnostic(6, "Unsupported parameter value", "startRecord")
        maximum = min(_int_param("maximumRecords", DEFAULT_MAX), LIMIT_MAX)
        schema_param = request.values.get("recordSchema") or "marcxml"
        schema = SCHEMAS.get(schema_param.lower()) or SCHEMAS.get(schema_param) or ""
        if not schema:
            raise Diagnostic(66, "Unknown schema for retrieval", schema_param)
        packing = request.values.get("recordPacking") or request.values.get("recordXMLEscaping") or "xml"
        if packing not in ("xml", "string"):
            raise Diagnostic(71, "Unsupported record packing", packing)
        try:
            node = cql.parse(query_text)
        except cql.CQLError as exc:
            raise Diagnostic(exc.code, exc.message, exc.details) from exc
        q = SearchQuery(node=node, offset=start - 1, per_page=maximum, facets=False)
        result = service.search(current_app, q)
        total = result.total
        ids = [h.record_id for h in result.hits]
        if total and start > total and maximum:
            raise Diagnostic(61, "First record position out of range", str(start))
        session = db_session()
        recs = {r.id: r for r in session.scalars(select(BibRecord).where(BibRecord.id.in_(ids)))} if ids else {}
        for pos, rid in enumerate(ids, start=start):
            bib = recs.get(rid)
            if bib is None:
                continue
            records_xml.append(_record_xml(bib, schema, packing, pos, version))
        if maximum and start + len(ids) <= total:
            next_pos = start + len(ids)
    except Diagnostic as d:
        diagnostics.append(d)
    parts = [f'<searchRetrieveResponse xmlns="{ns}">', f"<version>{version}</version>",
             f"<numberOfRecords>{total}</numberOfRecords>"]
    if records_xml:
        parts.append("<records>" + "".join(records_xml) + "</records>")
    if next_pos is not None and not diagnostics:
        parts.append(f"<nextRecordPosition>{next_pos}</nextRecordPosition>")
    parts.append(_echo(version, query_text, schema))
    if diagnostics:
        parts.append("<diagnostics>" + "".join(_diag_xml(diag_ns, d) for d in diagnostics) + "</diagnostics>")
    parts.append("</searchRetrieveResponse>")
    return "".join(parts)


def _record_xml(bib: BibRecord, schema: str, packing: str, pos: int, version: str) -> str:
    data = formats.marcxml(bib) if schema == "marcxml" else formats.srw_dc(bib)
    if packing == "string":
        data = escape(data)
    name = schema if version == "1.2" else SCHEMA_URI[schema]
    pack_el = "recordPacking" if version == "1.2" else "recordXMLEscaping"
    return (
        f"<record><recordSchema>{escape(name)}</recordSchema><{pack_el}>{packing}</{pack_el}>"
        f"<recordData>{data}</recordData><recordPosition>{pos}</recordPosition></record>"
    )


def _echo(version: str, query_text: str, schema: str) -> str:
    if version != "1.2":
        return ""
    return (
        "<echoedSearchRetrieveRequest><version>1.2</version>"
        f"<query>{escape(query_text)}</query>"
        f"<recordSchema>{escape(schema or '')}</recordSchema></echoedSearchRetrieveRequest>"
    )


def _explain(ns: str, version: str, diagnostics: list[Diagnostic]) -> str:
    host = request.host.split(":")[0]
    port = request.host.split(":")[1] if ":" in request.host else ("443" if request.scheme == "https" else "80")
    indexes = [("cql", "serverChoice", "任意字段"), ("dc", "title", "题名"), ("dc", "creator", "作者"),
               ("dc", "subject", "主题"), ("dc", "publisher", "出版社"), ("dc", "date", "出版年"),
               ("bath", "isbn", "ISBN")]
    index_xml = "".join(
        f"<index><title>{escape(t)}</title><map><name set={quoteattr(s)}>{escape(n)}</name></map></index>"
        for s, n, t in indexes
    )
    explain = (
        '<explain xmlns="http://explain.z3950.org/dtd/2.0/">'
        f'<serverInfo protocol="SRU" version={quoteattr(version)}><host>{escape(host)}</host>'
        f"<port>{escape(port)}</port><database>sru</database></serverInfo>"
        '<databaseInfo><title lang="zh">资阳区图书馆联合书目</title>'
        '<title lang="en" primary="true">District library network catalogue</title>'
        "<description>Bibliographic records (CNMARC and MARC21) of the district library network.</description>"
        "</databaseInfo>"
        '<indexInfo><set name="cql" identifier="info:srw/cql-context-set/1/cql-v1.2"/>'
        '<set name="dc" identifier="info:srw/cql-context-set/1/dc-v1.1"/>'
        '<set name="bath" identifier="http://zing.z3950.org/cql/bath/2.0/"/>' + index_xml + "</indexInfo>"
        '<schemaInfo><schema identifier="info:srw/schema/1/marcxml-v1.1" name="marcxml" sort="false">'
        "<title>MARCXML</title></schema>"
        '<schema identifier="info:srw/schema/1/dc-v1.1" name="dc" sort="false"><title>Dublin Core</title></schema>'
        "</schemaInfo>"
        f'<configInfo><default type="numberOfRecords">{DEFAULT_MAX}</default>'
        f'<setting type="maximumRecords">{LIMIT_MAX}</setting>'
        '<default type="contextSet">cql</default><default type="index">cql.serverChoice</default>'
        '<default type="relation">=</default></configInfo>'
        "</explain>"
    )
    pack_el = "recordPacking" if version == "1.2" else "recordXMLEscaping"
    out = (
        f'<explainResponse xmlns="{ns}"><version>{version}</version>'
        "<record><recordSchema>http://explain.z3950.org/dtd/2.0/</recordSchema>"
        f"<{pack_el}>xml</{pack_el}><recordData>{explain}</recordData></record>"
    )
    if diagnostics:
        _ns_, diag_ns = _ns(version)
        out += "<diagnostics>" + "".join(_diag_xml(diag_ns, d) for d in diagnostics) + "</diagnostics>"
    return out + "</explainResponse>"
