"""Reign-year dates: the must-show readings, rejections, the table checked against the DDBC time
authority, and property tests that every year of every era reads back to itself."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ancient_books.reign import (
    ERAS,
    Era,
    ReignDateError,
    fold,
    ganzhi,
    parse_chinese_number,
    parse_edition_date,
    parse_reign_date,
    to_chinese_number,
    written_forms,
)
from tests.conftest import shared_file


@pytest.mark.parametrize(
    ("text", "year_from", "year_to", "gz", "circa"),
    [
        ("清乾隆三十年", 1765, 1765, "乙酉", False),
        ("乾隆卅年", 1765, 1765, "乙酉", False),
        ("乾隆三十年", 1765, 1765, "乙酉", False),
        ("康熙丙午", 1666, 1666, "丙午", False),
        ("民国二十五年", 1936, 1936, "丙子", False),
        ("民國廿五年", 1936, 1936, "丙子", False),
        ("明萬曆間", 1573, 1620, None, True),
        ("明万历间", 1573, 1620, None, True),
        ("万历年间", 1573, 1620, None, True),
        ("清光緒三十四年十月", 1908, 1908, "戊申", False),
        ("宣统元年", 1909, 1909, "己酉", False),
        ("約乾隆間", 1736, 1795, None, True),
        ("太平天國癸好三年", 1853, 1853, "癸丑", False),
        ("元至元三年", 1266, 1266, "丙寅", False),
        ("後至元三年", 1337, 1337, "丁丑", False),
        ("清崇德元年", 1636, 1636, "丙子", False),
        ("南明永曆二年", 1648, 1648, "戊子", False),
        ("明永曆二年", 1648, 1648, "戊子", False),
        ("宏治三年", 1490, 1490, "庚戌", False),  # Qing taboo form of 弘治
        ("1765", 1765, 1765, "乙酉", False),
    ],
)
def test_readings(text: str, year_from: int, year_to: int, gz: str | None, circa: bool) -> None:
    parsed = parse_reign_date(text)
    assert (parsed.year_from, parsed.year_to, parsed.ganzhi, parsed.circa) == (year_from, year_to, gz, circa)
    assert parsed.original == text


def test_end_of_qing_is_a_circa_range() -> None:
    parsed = parse_reign_date("清末")
    assert parsed.circa and parsed.year_from < parsed.year_to == 1911
    assert parsed.year_from >= 1840


def test_era_start_and_end_shared_year() -> None:
    # 景泰八年 and 天顺元年 are both 1457: 天顺 began in the first month of that year.
    assert parse_reign_date("景泰八年").year_from == parse_reign_date("天順元年").year_from == 1457


def test_ganzhi_twice_in_a_long_era_takes_the_first_and_says_so() -> None:
    parsed = parse_reign_date("康熙壬寅")
    assert parsed.year_from == 1662 and parsed.alternatives == [1722] and parsed.note


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("乾隆九十年", "没有九十年"),
        ("乾隆丙丙", "无法识别"),
        ("某某三年", "无法识别"),
        ("清三年", "缺少年号"),
        ("明乾隆三年", "没有年号"),
        ("宣统五年", "没有五年"),
        ("", "为空"),
    ],
)
def test_nonsense_is_rejected_with_a_clear_message(text: str, fragment: str) -> None:
    with pytest.raises(ReignDateError) as info:
        parse_reign_date(text)
    assert fragment in info.value.message


def test_edition_statement_dates() -> None:
    parsed = parse_edition_date("清乾隆三十年武英殿刻本")
    assert parsed is not None and parsed.year_from == 1765 and parsed.original == "清乾隆三十年武英殿刻本"
    assert parse_edition_date("清道光木活字本") is not None
    assert parse_edition_date("清光緒石印本").year_to == 1908  # type: ignore[union-attr]
    assert parse_edition_date("日本寬永刻本") is None


def test_cli_prints_json(runner: pytest.FixtureRequest) -> None:
    result = runner.invoke(args=["ancient-books", "parse-date", "清乾隆三十年"])  # type: ignore[attr-defined]
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["year_from"] == data["year_to"] == 1765 and data["ganzhi"] == "乙酉" and data["circa"] is False
    bad = runner.invoke(args=["ancient-books", "parse-date", "乾隆九十年"])  # type: ignore[attr-defined]
    assert bad.exit_code == 1 and "没有九十年" in json.loads(bad.output)["error"]


def test_numerals_round_trip() -> None:
    for n in range(1, 200):
        assert parse_chinese_number(to_chinese_number(n)) == n
    assert parse_chinese_number("廿五") == 25 and parse_chinese_number("卅") == 30 and parse_chinese_number("二五") == 25
    assert parse_chinese_number("十") == 10 and parse_chinese_number("九十九") == 99
    assert ganzhi(1765) == "乙酉" and ganzhi(1984) == "甲子"


def test_every_year_of_every_era_reads_back() -> None:
    """Exhaustive: the written forms (traditional and simplified, 元年 for year 1) of each year
    of each era in the table parse to that Gregorian year."""
    checked = 0
    for era in ERAS:
        for n in range(1, era.length + 1):
            for form in written_forms(era, n):
                parsed = parse_reign_date(form)
                assert parsed.year_from == parsed.year_to == era.start + n - 1, form
                assert parsed.ganzhi == ganzhi(era.start + n - 1)
                checked += 1
    assert checked > 2000


@st.composite
def era_years(draw: st.DrawFn) -> tuple[Era, int]:
    era = draw(st.sampled_from(ERAS))
    return era, draw(st.integers(min_value=1, max_value=era.length))


@settings(max_examples=100, deadline=None)
@given(era_years(), st.booleans(), st.booleans())
def test_property_written_year_parses_back(ey: tuple[Era, int], use_nian: bool, suffix: bool) -> None:
    """Also with 廿/卅 numerals and trailing words (月, 刻本) the year survives."""
    era, n = ey
    trad = written_forms(era, n)[0]
    if use_nian and n != 1:
        trad = trad.replace("二十", "廿", 1).replace("三十", "卅", 1)
    if suffix:
        trad += "三月刻本"
    assert parse_reign_date(trad).year_from == era.start + n - 1


@settings(max_examples=100, deadline=None)
@given(era_years())
def test_property_years_beyond_an_era_are_rejected(ey: tuple[Era, int]) -> None:
    era, _n = ey
    form = written_forms(era, era.length + 1)[0] if era.length + 1 < 200 else None
    if form is None:
        return
    # a later era of the same name (遼/金 大安) may cover the year; the dynasty prefix excludes it
    with pytest.raises(ReignDateError):
        parse_reign_date(form)


# Deliberate differences from the DDBC time authority, each with the reason.
DDBC_DIFFERENCES = {
    ("金", "正大"): "正大 ended in 1232 (開興 then 天興 were proclaimed that year); DDBC carries it into 1233",
    ("元", "泰定"): "泰定五年 (1328) existed until 致和 was proclaimed in the second month; DDBC ends it in 1327",
    ("太平天國", "太平天國"): "the Taiping calendar is not in the DDBC dump",
    ("民國", "民國"): "DDBC only holds the change-over months of 1911/1912; the table counts 民國 to 1949",
    ("民國", "洪憲"): "Yuan Shikai's 洪憲 (1916) is not in the DDBC dump",
}
DDBC_DYNASTY_NAMES = {"北宋": ["北宋"], "南宋": ["南宋"], "遼": ["遼"], "金": ["金"], "元": ["元", "蒙古"],
                      "明": ["明"], "南明": ["南明"], "後金": ["後金"], "清": ["清"], "太平天國": [], "民國": ["民國"]}


def test_table_agrees_with_the_ddbc_time_authority() -> None:
    """Parse the SQL inserts of the DDBC dump and compare each era's first and last year."""
    from tests.ancient_books.ddbc import load_eras

    ddbc = load_eras(shared_file("reign", "authority_time_chinese.sql"))
    assert len(ddbc) > 500
    compared, mismatches = 0, []
    for era in ERAS:
        names = [era.name, *era.variants] + ([era.name[1:]] if era.name == "後至元" else [])
        ranges = [r for dn in DDBC_DYNASTY_NAMES[era.dynasty] for n in names for r in ddbc.get((dn, n), [])]
        key = (era.dynasty, era.name)
        if key in DDBC_DIFFERENCES:
            assert (era.start, era.end) not in ranges, f"{key} now agrees with DDBC; drop the documented difference"
            continue
        compared += 1
        if (era.start, era.end) not in ranges:
            mismatches.append((key, (era.start, era.end), ranges))
    assert not mismatches, mismatches
    assert compared >= 140
    # spot-check the must-show era directly against the dump
    assert (1736, 1795) in ddbc[("清", "乾隆")] and (1573, 1620) in ddbc[("明", "萬曆")]


def test_fold_makes_traditional_and_simplified_equal() -> None:
    assert fold("萬曆") == fold("万历") and fold("光緒") == fold("光绪")
