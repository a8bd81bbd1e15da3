"""Record serialisations for SRU and OAI-PMH: MARCXML (the stored record, lossless) and simple
Dublin Core (from the extracted fields)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from catalog.models import BibRecord

MARCXML_NS = "http://www.loc.gov/MARC21/slim"
MARCXML_XSD = "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
SRW_DC_NS = "info:srw/schema/1/dc-schema"


def marcxml(bib: BibRecord) -> str:
    """The stored MARC record as a MARCXML ``<record>`` in the MARC21 slim namespace."""
    from catalog.marc import to_marcxml, to_pymarc

    xml = to_marcxml(to_pymarc(bib))
    return xml.replace("<record>", f'<record xmlns="{MARCXML_NS}">', 1)


def _dc_elements(bib: BibRecord) -> list[str]:
    out: list[str] = []

    def add(name: str, value: str | None) -> None:
        if value:
            out.append(f"<dc:{name}>{escape(str(value))}</dc:{name}>")

    add("title", bib.title)
    for a in bib.authors or []:
        add("creator", a)
    if not bib.authors and bib.responsibility:
        add("creator", bib.responsibility)
    for s in bib.subjects or []:
        add("subject", s)
    if bib.classification_clc:
        add("subject", bib.classification_clc)
    add("description", bib.notes)
    add("publisher", bib.publisher)
    add("date", str(bib.year) if bib.year else None)
    add("type", "Text" if bib.material_type in ("book", "periodical", "manuscript") else bib.material_type)
    for isbn in bib.isbns or []:
        add("identifier", f"ISBN {isbn}")
    add("language", bib.language)
    add("relation", bib.series)
    return out


def oai_dc(bib: BibRecord) -> str:
    return (
        f'<oai_dc:dc xmlns:oai_dc="{OAI_DC_NS}" xmlns:dc="{DC_NS}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd">'
        + "".join(_dc_elements(bib))
        + "</oai_dc:dc>"
    )


def srw_dc(bib: BibRecord) -> str:
    return f'<srw_dc:dc xmlns:srw_dc="{SRW_DC_NS}" xmlns:dc="{DC_NS}">' + "".join(_dc_elements(bib)) + "</srw_dc:dc>"
