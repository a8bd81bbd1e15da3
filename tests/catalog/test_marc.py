"""Reading real MARC files: flavour and encoding detection, bad records reported with their
position, writing back losslessly."""

from __future__ import annotations

from collections import Counter

import pytest
from pymarc import MARCReader

from catalog.extract import extract, normalize_isbn
from catalog.marc import (
    json_to_record,
    read_bytes,
    read_file,
    record_to_json,
    record_to_json_text,
    to_iso2709,
    to_marcxml,
)
from tests.catalog.factories import cnmarc_record, marc21_record
from tests.conftest import shared_file


def _counts(name: str) -> tuple[int, list[tuple[int, int, str]]]:
    ok, bad = 0, []
    for r in read_file(shared_file("marc", name)):
        if r.ok:
            ok += 1
        else:
            bad.append((r.number, r.offset, r.error or ""))
    return ok, bad


def test_pride_utf8_383_records_with_cjk() -> None:
    results = list(read_file(shared_file("marc", "marc21_utf8_pride_383_cjk.mrc")))
    assert len(results) == 383 and all(r.ok for r in results)
    assert all(r.encoding == "utf-8" for r in results)
    cjk = [r for r in results if any("\u4e00" <= ch <= "\u9fff" for f in r.record.fields for ch in f.value())]  # type: ignore[union-attr]
    assert len(cjk) == 29


def test_jazz_marc8_diacritics_decoded() -> None:
    results = list(read_file(shared_file("marc", "marc21_marc8_jazz_1k.mrc")))
    assert len(results) == 1000 and all(r.ok for r in results)
    titles = [extract(r.record, r.flavour)["title"] for r in results]  # type: ignore[arg-type]
    assert any("Köln" in t for t in titles)
    assert not any("\ufffd" in t for t in titles)  # forcing UTF-8 would give U+FFFD here
    assert Counter(r.encoding for r in results)["marc-8"] == 95


def test_marc8_eacc_cjk_decoded() -> None:
    [r] = list(read_file(shared_file("marc", "marc8_eacc_cjk1.marc")))
    assert r.encoding == "marc-8"
    values = extract(r.record, r.flavour)  # type: ignore[arg-type]
    assert values["title"] == "金田一 京助 と アイヌ語"
    assert values["title_pinyin"] == ""  # Japanese: the romanisation is not pinyin


def test_sru_cnmarc_envelope_chinese_titles_and_pinyin() -> None:
    results = list(read_file(shared_file("marc", "sru12_cnmarcxml_chinese.xml")))
    assert len(results) == 10 and all(r.ok and r.flavour == "unimarc" for r in results)
    first = extract(results[0].record, "unimarc")  # type: ignore[arg-type]
    assert first["title"] == "'94中国发展报告"
    assert first["title_pinyin"] == "'94Zhong Guo Fa Zhan Bao Gao"
    assert first["classification_clc"] == "F124"
    assert first["isbns"] == ["9787503717444"]
    assert first["publisher"] == "中国统计出版社" and first["year"] == 1994


def test_sru_marcxml_and_unimarc_xml() -> None:
    assert _counts("sru12_marcxml.xml") == (10, [])
    results = list(read_file(shared_file("marc", "unimarc_marcjs_bib.xml")))
    assert len(results) == 6 and {r.flavour for r in results} == {"unimarc"}


def test_unimarc_iso2709_utf8_blank_leader_09_not_marc8() -> None:
    [r] = list(read_file(shared_file("marc", "unimarc_pymarc_testunimarc.dat")))
    assert r.flavour == "unimarc" and r.encoding == "utf-8"
    assert extract(r.record, "unimarc")["title"] == "L'altra faccia della spirale"  # type: ignore[arg-type]
    results = list(read_file(shared_file("marc", "unimarc_marcjs_bib.mrc")))
    assert len(results) == 6 and all(r.ok for r in results)  # the trailing LF is not a record


def test_authorities_recognised() -> None:
    results = list(read_file(shared_file("marc", "marc21_utf8_auth_1066.mrc")))
    assert len(results) == 1066 and {r.kind for r in results} == {"authority"}


@pytest.mark.parametrize(("name", "good", "bad"), [
    ("BAD_marc21_pride_with_errors.mrc", 367, 16),
    ("BAD_pymarc_bad_records.mrc", 2, 6),
    ("BAD_too_long_plus_2.mrc", 2, 1),
    ("BAD_marcxml_three_records_second_bad.xml", 2, 1),
    ("BAD_leaders_10_11.mrc", 1, 0),
    ("BAD_utf8_invalid.mrc", 1, 0),
])
def test_bad_files_keep_good_records_and_report_bad_ones(name: str, good: int, bad: int) -> None:
    ok, errors = _counts(name)
    assert (ok, len(errors)) == (good, bad)
    for number, offset, reason in errors:
        assert number >= 1 and offset >= 0 and reason


def test_bad_record_positions_are_byte_offsets() -> None:
    path = shared_file("marc", "BAD_pymarc_bad_records.mrc")
    data = path.read_bytes()
    for r in read_file(path):
        if not r.ok:
            assert data[r.offset:r.offset + 5].isdigit() or r.offset == 0 or data[r.offset - 1:r.offset] == b"\x1d"
    errors = [r for r in read_file(path) if not r.ok]
    assert errors[0].position == (2, 127) and "base address" in (errors[0].error or "")


def test_invalid_utf8_is_repaired_and_reported_as_warning() -> None:
    [r] = list(read_file(shared_file("marc", "BAD_utf8_invalid.mrc")))
    assert r.ok and r.warnings and "260" in r.warnings[0]


def test_utf8_bom_and_leading_newlines() -> None:
    data = to_iso2709(cnmarc_record("论语译注"))
    results = list(read_bytes(b"\xef\xbb\xbf\n" + data + b"\n" + data))
    assert [r.ok for r in results] == [True, True]
    assert extract(results[0].record, "unimarc")["title"] == "论语译注"  # type: ignore[arg-type]


def test_gbk_record_detected() -> None:
    rec = cnmarc_record("图书馆学导论")
    body = to_iso2709(rec, encoding="gb18030")
    [r] = list(read_bytes(body))
    assert r.encoding == "gb18030" and extract(r.record, "unimarc")["title"] == "图书馆学导论"  # type: ignore[arg-type]


def test_truncated_tail_reported() -> None:
    data = to_iso2709(marc21_record("Complete")) + to_iso2709(marc21_record("Cut short"))[:-40]
    results = list(read_bytes(data))
    assert results[0].ok and not results[1].ok
    assert results[1].position == (2, len(to_iso2709(marc21_record("Complete"))))


def test_malformed_xml_without_records() -> None:
    [r] = list(read_bytes(b"<collection><record><leader>x</lead"))
    assert not r.ok and "XML" in (r.error or "")


def test_iso2709_keeps_unimarc_leader_and_pymarc_reads_it() -> None:
    rec = cnmarc_record("红楼梦", isbn="978-7-02-000220-7")
    data = to_iso2709(rec)
    assert data[9:10] == b" "  # UNIMARC leader/09 stays blank (pymarc's as_marc would set 'a')
    [back] = list(MARCReader(data, force_utf8=True))
    assert back is not None and back["200"]["a"] == "红楼梦"


def test_json_round_trip_and_text_serialiser() -> None:
    import json

    rec = marc21_record('Quotes "and" \\ backslashes', isbn="0553212150")
    data = record_to_json(rec)
    assert json.loads(record_to_json_text(rec)) == data
    assert record_to_json(json_to_record(data)) == data
    assert "<subfield code=\"a\">Quotes &quot;and&quot;" in to_marcxml(rec) or "Quotes \"and\"" in to_marcxml(rec)


def test_normalize_isbn() -> None:
    assert normalize_isbn("7-5037-1744-0 (精装)") == "9787503717444"
    assert normalize_isbn("978-7-5037-1744-4") == "9787503717444"
    assert normalize_isbn("055321215X (pbk.)") == "9780553212150"
    assert normalize_isbn("9787503717445") is None  # bad check digit
    assert normalize_isbn("no isbn") is None
