"""Read the DDBC Time Authority MySQL dump (authority_time_chinese.sql) without a MySQL server:
the INSERT statements of the dynasty, emperor, era and month tables are parsed with a regex, and
each era's first and last year (status S, standard use) are turned into Gregorian years."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

_ROW = re.compile(r"\(([^()]*)\)")
_VAL = re.compile(r"'((?:[^'\\]|\\.)*)'|(-?\d+)")


def _rows(sql: str, table: str) -> list[list[str | int]]:
    out: list[list[str | int]] = []
    for stmt in re.findall(rf"INSERT INTO `{table}` VALUES (.*?);\n", sql, flags=re.S):
        for row in _ROW.findall(stmt):
            out.append([m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _VAL.finditer(row)])
    return out


def _jd_to_year(jd: int) -> int:
    """Gregorian (Julian before 1582-10-15) calendar year of a Julian day number."""
    if jd >= 2299161:
        a = jd + 32044
        b = (4 * a + 3) // 146097
        c = a - 146097 * b // 4
    else:
        b = 0
        c = jd + 32082
    d = (4 * c + 3) // 1461
    e = c - 1461 * d // 4
    m = (5 * e + 2) // 153
    month = m + 3 - 12 * (m // 10)
    _ = month
    return 100 * b + d - 4800 + m // 10


def _year_of(jd: int, gz: str) -> int:
    """The Gregorian year whose 干支 is ``gz`` nearest to the day ``jd``."""
    stems, branches = "甲乙丙丁戊己庚辛壬癸", "子丑寅卯辰巳午未申酉戌亥"
    approx = _jd_to_year(jd)
    for y in (approx, approx - 1, approx + 1):
        if stems[(y - 4) % 10] + branches[(y - 4) % 12] == gz:
            return y
    raise ValueError((jd, gz))


def load_eras(path: Path) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """{(dynasty name, era name): [(first year, last year), ...]} for every name and variant.
    DDBC splits an era that two emperors used (金天會, 遼天顯) into one era per emperor; such
    adjacent ranges of one name are merged here. A name used twice (元至元) keeps two ranges."""
    sql = path.read_text(encoding="utf-8")
    dyn_names: dict[int, list[str]] = defaultdict(list)
    for dyn_id, name, _rank, _lang in _rows(sql, "t_dynasty_names"):
        dyn_names[int(dyn_id)].append(str(name))
    emperor_dyn = {int(r[0]): int(r[1]) for r in _rows(sql, "t_emperor")}
    era_dyn = {int(r[0]): emperor_dyn[int(r[1])] for r in _rows(sql, "t_era")}
    era_names: dict[int, list[str]] = defaultdict(list)
    for era_id, name, _rank, _lang in _rows(sql, "t_era_names"):
        era_names[int(era_id)].append(str(name))
    first: dict[int, tuple[int, int, str]] = {}
    last: dict[int, tuple[int, int, str]] = {}
    for row in _rows(sql, "t_month"):
        _id, year, _m, _mn, _leap, era_id, jd_first, _jd_last, gz, _sf, status, _ecl = row
        if status != "S":
            continue
        era_id, year, jd_first = int(era_id), int(year), int(jd_first)
        if era_id not in first or year < first[era_id][0]:
            first[era_id] = (year, jd_first, str(gz))
        if era_id not in last or year > last[era_id][0]:
            last[era_id] = (year, jd_first, str(gz))
    spans: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for era_id, (year, jd, gz) in first.items():
        start = _year_of(jd, gz) - (year - 1)
        _end_year, end_jd, end_gz = last[era_id]
        end = _year_of(end_jd, end_gz)
        for dn in dyn_names[era_dyn[era_id]]:
            for en in era_names[era_id]:
                spans[(dn, en)].append((start, end))
    result: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for key, ranges in spans.items():
        merged: list[tuple[int, int]] = []
        for a, b in sorted(set(ranges)):
            if merged and a <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        result[key] = merged
    return result
