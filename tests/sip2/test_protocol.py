"""The SIP2 frame layer on its own: fixed and variable fields, blanks, AY/AZ, charsets."""

from __future__ import annotations

import datetime as dt

import pytest

from circulation.sip2 import protocol as p
from tests.conftest import shared_file


def test_checksum_of_the_standard_example() -> None:
    # From the SIP2 2.00 standard's checksum description (also used by the PyPI client's tests).
    msg = b"09N20160419    12200820160419    122008APReading Room 1|AO830|AB830$28170815|AC|AY2AZ"
    assert p.checksum(msg) == "EB80"


def test_checkout_fixed_and_variable_fields() -> None:
    frame = b"11YN20260301    101500                  AOZY|AAZY2026000001|ABC000000001|AC|AD135790|BON|AY3AZ"
    frame += p.checksum(frame).encode()
    msg = p.parse_frame(frame)
    assert msg.code == "11"
    assert msg.checksum_ok and msg.sequence == "3"
    assert msg.fixed["sc_renewal_policy"] == "Y" and msg.flag("sc_renewal_policy")
    assert not msg.flag("no_block")
    assert msg.fixed["transaction_date"] == "20260301    101500"
    assert msg.fixed["nb_due_date"].strip() == ""
    assert msg.get("AA") == "ZY2026000001" and msg.get("AB") == "C000000001" and msg.get("AD") == "135790"
    assert msg.has("AC") and msg.get("AC") == ""
    assert not msg.has("CH")


def test_blank_fixed_fields_are_accepted() -> None:
    frame = b"11" + b" " * 38 + b"AO|AA1234|AB5678|AC|"
    msg = p.parse_frame(frame)
    assert not msg.flag("sc_renewal_policy") and not msg.flag("no_block")
    assert msg.get("AA") == "1234" and msg.get("AB") == "5678"
    assert msg.checksum is None and msg.checksum_ok


def test_short_fixed_part_is_recovered() -> None:
    # The summary field left out entirely: the variable part still starts at AO.
    msg = p.parse_frame(b"6300120230822    152339AOinst|AA123|BP1|BQ5|")
    assert msg.fixed["language"] == "001" and msg.fixed["summary"] == ""
    assert msg.get("AO") == "inst" and msg.get("AA") == "123" and msg.get("BQ") == "5"


def test_bad_checksum_is_flagged() -> None:
    msg = p.parse_frame(b"9900802.00AY1AZ0000")
    assert msg.code == "99" and msg.checksum == "0000" and not msg.checksum_ok


def test_checksum_over_characters_is_accepted_too() -> None:
    # The PyPI client sums characters, not bytes; a frame with Chinese must still pass.
    text = "9300CN自助机|COsecret|AY0AZ"
    crc = f"{(-sum(ord(c) for c in text)) & 0xFFFF:04X}"
    msg = p.parse_frame((text + crc).encode("utf-8"))
    assert msg.checksum_ok and msg.get("CN") == "自助机"


def test_gbk_frame_is_decoded() -> None:
    body = "17" + "20260301    101500" + "AO总馆|AB条码1|AY1AZ"
    data = body.encode("gbk")
    data += p.checksum(data).encode()
    msg = p.parse_frame(data, "gbk")
    assert msg.checksum_ok and msg.get("AO") == "总馆" and msg.get("AB") == "条码1"
    # Not configured yet (before login): GBK is still recognised after UTF-8 fails.
    assert p.parse_frame(data, None).get("AO") == "总馆"


def test_repeated_fields_keep_their_order() -> None:
    msg = p.parse_frame(b"6600020000120260301    101500AOZY|BMa|BMb|BNc|")
    assert msg.fields["BM"] == ["a", "b"] and msg.fields["BN"] == ["c"]


def test_no_message_code_is_a_frame_error() -> None:
    with pytest.raises(p.FrameError):
        p.parse_frame(b"9")
    with pytest.raises(p.FrameError):
        p.parse_frame("书名".encode())


def test_encode_adds_sequence_checksum_and_cr_and_cleans_values() -> None:
    out = p.encode(p.Response("36", "Y" + "20260301    101500").add("AO", "ZY").add("AF", "a|b\r\nc"),
                   sequence="7")
    assert out.endswith(b"\r")
    body = out[:-1]
    assert body[:-4].endswith(b"AY7AZ")
    assert p.checksum(body[:-4]) == body[-4:].decode()
    assert b"AFa/b  c|" in out


def test_encode_gbk_and_unencodable_characters() -> None:
    out = p.encode(p.Response("24", "").add("AE", "张三😀"), charset="gbk")
    assert "张三".encode("gbk") in out and b"?" in out
    assert p.checksum(out[:-5]) == out[-5:-1].decode()


def test_resend_request_has_no_sequence() -> None:
    out = p.resend_request()
    assert out.startswith(b"96AZ") and len(out) == 9


def test_long_values_are_cut_to_255() -> None:
    out = p.Response("18", "").add("AJ", "书" * 400).text()
    assert out.count("书") == p.MAX_FIELD_LENGTH


def test_dates_are_local_time() -> None:
    moment = dt.datetime(2026, 3, 1, 2, 15, 0, tzinfo=dt.UTC)
    assert p.sip_datetime(moment) == "20260301    101500"
    assert p.sip_due_date(dt.date(2026, 3, 31)) == "20260331    235959"


def test_patron_status_flags() -> None:
    assert p.patron_status_flags([]) == " " * 14
    flags = p.patron_status_flags(["overdue_items", "lost_card"])
    assert flags[0] == "Y" and flags[4] == "Y" and flags[6] == "Y" and flags[5] == " "
    assert p.patron_status_flags(["too_many_items"])[5] == "Y"
    assert p.patron_status_flags(["charges_over_limit"])[10] == "Y"


@pytest.mark.parametrize(("start", "end", "total", "expected"), [
    ("", "", 30, (0, 10)), ("1", "5", 30, (0, 5)), ("6", "10", 30, (5, 10)), ("28", "40", 30, (27, 30)),
    ("x", "y", 3, (0, 3)), ("0", "2", 5, (0, 2)), ("5", "1", 10, (4, 5)), ("1", "1000", 100, (0, 50)),
])
def test_page_bounds(start: str, end: str, total: int, expected: tuple[int, int]) -> None:
    assert p.page_bounds(start, end, total) == expected


def test_summary_kind() -> None:
    assert p.summary_kind("  Y       ") == "charged"
    assert p.summary_kind("Y         ") == "hold"
    assert p.summary_kind(" Y        ") == "overdue"
    assert p.summary_kind("     Y    ") == "unavailable"
    assert p.summary_kind("          ") is None and p.summary_kind("") is None


def test_every_shared_frame_parses() -> None:
    manifest = shared_file("sip2", "MANIFEST.tsv")
    rows = [line.split("\t") for line in manifest.read_text().splitlines()[1:] if line.strip()]
    assert rows
    for row in rows:
        data = shared_file("sip2", row[0]).read_bytes()
        msg = p.parse_frame(data.rstrip(b"\r\n"))
        assert msg.checksum_ok, row[0]
        if msg.code == "99":
            assert msg.fixed["protocol_version"] == "2.00"
        if msg.code == "09":
            assert msg.get("AB") == "SomeBarcode" and msg.get("AP") == "SomeLocation"


def test_a_garbled_sequence_number_fails_the_frame() -> None:
    body = b"9900802.00AYxAZ"
    msg = p.parse_frame(body + p.checksum(body).encode())
    assert not msg.checksum_ok
    empty = b"9900802.00AYAZ"
    msg = p.parse_frame(empty + p.checksum(empty).encode())
    assert not msg.checksum_ok
