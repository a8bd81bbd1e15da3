"""Reign-year dates (年号纪年): a table of dynasties and reign periods, and a parser for what
cataloguers write (清乾隆三十年, 乾隆卅年, 明萬曆間, 康熙丙午, 民国二十五年, 清末 ...).

The table is written in the project from public historical facts (standard chronologies such
as the 中国历史纪年表) and checked in the tests against the DDBC Time Authority dump.

Conventions (documented because the sources differ):
- ``start`` is the Gregorian year that is 元年 of the era: the Chinese year in which the era
  name took effect. Where an era began mid-year (改元 in the middle of a year, e.g. 天顺 in
  the first month of 1457 after 景泰八年), 元年 is the year of the change, and that Gregorian
  year is also the last (partial) year of the previous era. Both readings are accepted:
  景泰八年 = 1457 and 天顺元年 = 1457.
- ``end`` is the last Gregorian year that was counted in the era.
- Chinese years straddle Gregorian ones (a 十二月 date may fall in the next January); a year
  of an era is given as the Gregorian year in which that Chinese year began, as catalogues do.
- Deliberate differences from DDBC (listed with reasons in tests/ancient_books/test_reign.py):
  金正大 ends 1232 and 元泰定 ends 1328 here (DDBC: 1233, 1327); 太平天國 and 洪憲 are not in DDBC;
  民國 is counted 1912–1949. 洪武 runs to 1402 and 至正 to 1370 as in DDBC, because texts of the
  time wrote 洪武三十五年 (after 建文 was abolished) and 至正三十年 (北元).
- Period words: 初/初年 = the first ten years of an era, 末/末年 = its last ten years; for a
  dynasty, 初/中/末 use the ranges in DYNASTY_PERIODS (e.g. 清末 = 1851–1911, 咸丰至宣统).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

STEMS = "甲乙丙丁戊己庚辛壬癸"
BRANCHES = "子丑寅卯辰巳午未申酉戌亥"
# The Taiping Heavenly Kingdom replaced 丑→好, 卯→荣, 亥→开 in its calendar (天历).
TAIPING_BRANCHES = {"好": "丑", "荣": "卯", "榮": "卯", "开": "亥", "開": "亥"}


def ganzhi(year: int) -> str:
    """The sexagenary (干支) name of a Gregorian year: 1765 → 乙酉."""
    return STEMS[(year - 4) % 10] + BRANCHES[(year - 4) % 12]


def ganzhi_index(name: str) -> int | None:
    """0 for 甲子 … 59 for 癸亥, None when ``name`` is not a valid pair."""
    if len(name) != 2 or name[0] not in STEMS or name[1] not in BRANCHES:
        return None
    s, b = STEMS.index(name[0]), BRANCHES.index(name[1])
    for i in range(60):
        if i % 10 == s and i % 12 == b:
            return i
    return None


@dataclass(frozen=True)
class Era:
    dynasty: str  # key of DYNASTIES
    name: str  # traditional form as usually printed
    start: int
    end: int
    variants: tuple[str, ...] = ()  # other written forms (taboo forms, alternative characters)

    @property
    def length(self) -> int:
        return self.end - self.start + 1


# dynasty key: (traditional name, simplified name, start, end, other names)
DYNASTIES: dict[str, tuple[str, str, int, int, tuple[str, ...]]] = {
    "北宋": ("北宋", "北宋", 960, 1127, ()),
    "南宋": ("南宋", "南宋", 1127, 1279, ()),
    "遼": ("遼", "辽", 916, 1125, ("契丹",)),
    "金": ("金", "金", 1115, 1234, ("大金",)),
    "元": ("元", "元", 1271, 1368, ("大元", "蒙古")),
    "明": ("明", "明", 1368, 1644, ("大明",)),
    "南明": ("南明", "南明", 1644, 1662, ()),
    "後金": ("後金", "后金", 1616, 1636, ()),
    "清": ("清", "清", 1644, 1911, ("大清", "國朝", "皇清")),
    "太平天國": ("太平天國", "太平天国", 1851, 1864, ()),
    "民國": ("民國", "民国", 1912, 1949, ("中華民國",)),
}

# Dynasty words that cover several table dynasties.
DYNASTY_GROUPS: dict[str, tuple[str, ...]] = {
    "宋": ("北宋", "南宋"),
    "趙宋": ("北宋", "南宋"),
}
GROUP_DISPLAY: dict[tuple[str, ...], str] = {("北宋", "南宋"): "宋"}
# Eras a dynasty word may introduce besides its own (明永曆, 清天聰 are written so).
DYNASTY_SCOPE: dict[str, tuple[str, ...]] = {
    "明": ("明", "南明"),
    "清": ("後金", "清"),
}

# Ranges for 初/中/末 of a dynasty (the usual catalogue reading; circa).
DYNASTY_PERIODS: dict[str, dict[str, tuple[int, int]]] = {
    "宋": {"初": (960, 1022), "中": (1023, 1162), "末": (1225, 1279)},
    "北宋": {"初": (960, 1022), "中": (1023, 1085), "末": (1086, 1127)},
    "南宋": {"初": (1127, 1189), "中": (1190, 1224), "末": (1225, 1279)},
    "元": {"初": (1271, 1307), "中": (1308, 1332), "末": (1333, 1368)},
    "明": {"初": (1368, 1435), "中": (1436, 1566), "末": (1567, 1644)},
    "清": {"初": (1644, 1722), "中": (1723, 1850), "末": (1851, 1911)},
    "民國": {"初": (1912, 1927), "中": (1928, 1937), "末": (1938, 1949)},
}

ERAS: tuple[Era, ...] = (
    # 北宋
    Era("北宋", "建隆", 960, 963),
    Era("北宋", "乾德", 963, 968),
    Era("北宋", "開寶", 968, 976),
    Era("北宋", "太平興國", 976, 984),
    Era("北宋", "雍熙", 984, 988),
    Era("北宋", "端拱", 988, 989),
    Era("北宋", "淳化", 990, 994),
    Era("北宋", "至道", 995, 997),
    Era("北宋", "咸平", 998, 1003),
    Era("北宋", "景德", 1004, 1008),
    Era("北宋", "大中祥符", 1008, 1016),
    Era("北宋", "天禧", 1017, 1021),
    Era("北宋", "乾興", 1022, 1022),
    Era("北宋", "天聖", 1023, 1032),
    Era("北宋", "明道", 1032, 1033),
    Era("北宋", "景祐", 1034, 1038),
    Era("北宋", "寶元", 1038, 1040),
    Era("北宋", "康定", 1040, 1041),
    Era("北宋", "慶曆", 1041, 1048, ("慶歷",)),
    Era("北宋", "皇祐", 1049, 1054),
    Era("北宋", "至和", 1054, 1056),
    Era("北宋", "嘉祐", 1056, 1063),
    Era("北宋", "治平", 1064, 1067),
    Era("北宋", "熙寧", 1068, 1077, ("熙甯",)),
    Era("北宋", "元豐", 1078, 1085),
    Era("北宋", "元祐", 1086, 1094),
    Era("北宋", "紹聖", 1094, 1098),
    Era("北宋", "元符", 1098, 1100),
    Era("北宋", "建中靖國", 1101, 1101),
    Era("北宋", "崇寧", 1102, 1106, ("崇甯",)),
    Era("北宋", "大觀", 1107, 1110),
    Era("北宋", "政和", 1111, 1118),
    Era("北宋", "重和", 1118, 1119),
    Era("北宋", "宣和", 1119, 1125),
    Era("北宋", "靖康", 1126, 1127),
    # 南宋
    Era("南宋", "建炎", 1127, 1130),
    Era("南宋", "紹興", 1131, 1162),
    Era("南宋", "隆興", 1163, 1164),
    Era("南宋", "乾道", 1165, 1173),
    Era("南宋", "淳熙", 1174, 1189),
    Era("南宋", "紹熙", 1190, 1194),
    Era("南宋", "慶元", 1195, 1200),
    Era("南宋", "嘉泰", 1201, 1204),
    Era("南宋", "開禧", 1205, 1207),
    Era("南宋", "嘉定", 1208, 1224),
    Era("南宋", "寶慶", 1225, 1227),
    Era("南宋", "紹定", 1228, 1233),
    Era("南宋", "端平", 1234, 1236),
    Era("南宋", "嘉熙", 1237, 1240),
    Era("南宋", "淳祐", 1241, 1252),
    Era("南宋", "寶祐", 1253, 1258),
    Era("南宋", "開慶", 1259, 1259),
    Era("南宋", "景定", 1260, 1264),
    Era("南宋", "咸淳", 1265, 1274),
    Era("南宋", "德祐", 1275, 1276),
    Era("南宋", "景炎", 1276, 1278),
    Era("南宋", "祥興", 1278, 1279),
    # 遼
    Era("遼", "神冊", 916, 922),
    Era("遼", "天贊", 922, 926),
    Era("遼", "天顯", 926, 938),
    Era("遼", "會同", 938, 947),
    Era("遼", "大同", 947, 947),
    Era("遼", "天祿", 947, 951),
    Era("遼", "應曆", 951, 969),
    Era("遼", "保寧", 969, 979),
    Era("遼", "乾亨", 979, 983),
    Era("遼", "統和", 983, 1012),
    Era("遼", "開泰", 1012, 1021),
    Era("遼", "太平", 1021, 1031),
    Era("遼", "景福", 1031, 1032),
    Era("遼", "重熙", 1032, 1055),
    Era("遼", "清寧", 1055, 1064),
    Era("遼", "咸雍", 1065, 1074),
    Era("遼", "大康", 1075, 1084, ("太康",)),
    Era("遼", "大安", 1085, 1094),
    Era("遼", "壽昌", 1095, 1101, ("壽隆",)),
    Era("遼", "乾統", 1101, 1110),
    Era("遼", "天慶", 1111, 1120),
    Era("遼", "保大", 1121, 1125),
    # 金
    Era("金", "收國", 1115, 1116),
    Era("金", "天輔", 1117, 1123),
    Era("金", "天會", 1123, 1137),
    Era("金", "天眷", 1138, 1140),
    Era("金", "皇統", 1141, 1149),
    Era("金", "天德", 1149, 1153),
    Era("金", "貞元", 1153, 1156),
    Era("金", "正隆", 1156, 1161),
    Era("金", "大定", 1161, 1189),
    Era("金", "明昌", 1190, 1196),
    Era("金", "承安", 1196, 1200),
    Era("金", "泰和", 1201, 1208),
    Era("金", "大安", 1209, 1211),
    Era("金", "崇慶", 1212, 1213),
    Era("金", "至寧", 1213, 1213),
    Era("金", "貞祐", 1213, 1217),
    Era("金", "興定", 1217, 1222),
    Era("金", "元光", 1222, 1223),
    Era("金", "正大", 1224, 1232),
    Era("金", "開興", 1232, 1232),
    Era("金", "天興", 1232, 1234),
    # 元 (中統 and 至元 were proclaimed by Khubilai before the dynasty name 大元 of 1271)
    Era("元", "中統", 1260, 1264),
    Era("元", "至元", 1264, 1294),
    Era("元", "元貞", 1295, 1297),
    Era("元", "大德", 1297, 1307),
    Era("元", "至大", 1308, 1311),
    Era("元", "皇慶", 1312, 1313),
    Era("元", "延祐", 1314, 1320),
    Era("元", "至治", 1321, 1323),
    Era("元", "泰定", 1324, 1328),
    Era("元", "致和", 1328, 1328),
    Era("元", "天曆", 1328, 1330),
    Era("元", "至順", 1330, 1333),
    Era("元", "元統", 1333, 1335),
    # The second 至元 (1335-1340) is written 後至元 to tell it from Khubilai's.
    Era("元", "後至元", 1335, 1340),
    # 至正 ends in 1370: the court that fled north kept counting it (北元) until the emperor died.
    Era("元", "至正", 1341, 1370),
    # 明
    # 洪武 to 1402: after 1402 the Yongle court abolished 建文 and wrote 洪武三十二至三十五年.
    Era("明", "洪武", 1368, 1402),
    Era("明", "建文", 1399, 1402),
    Era("明", "永樂", 1403, 1424),
    Era("明", "洪熙", 1425, 1425),
    Era("明", "宣德", 1426, 1435),
    Era("明", "正統", 1436, 1449),
    Era("明", "景泰", 1450, 1457),
    Era("明", "天順", 1457, 1464),
    Era("明", "成化", 1465, 1487),
    Era("明", "弘治", 1488, 1505, ("宏治",)),
    Era("明", "正德", 1506, 1521),
    Era("明", "嘉靖", 1522, 1566),
    Era("明", "隆慶", 1567, 1572),
    Era("明", "萬曆", 1573, 1620, ("萬歷",)),
    Era("明", "泰昌", 1620, 1620),
    Era("明", "天啓", 1621, 1627, ("天啟",)),
    Era("明", "崇禎", 1628, 1644, ("崇正",)),
    # 南明
    Era("南明", "弘光", 1645, 1645, ("宏光",)),
    Era("南明", "隆武", 1645, 1646),
    Era("南明", "紹武", 1646, 1646),
    Era("南明", "永曆", 1647, 1662, ("永歷",)),
    # 後金 (the Manchu state before the name 大清)
    Era("後金", "天命", 1616, 1626),
    Era("後金", "天聰", 1627, 1636),
    # 清 (崇德 is the era with which Hong Taiji proclaimed 大清 in 1636)
    Era("清", "崇德", 1636, 1643),
    Era("清", "順治", 1644, 1661),
    Era("清", "康熙", 1662, 1722),
    Era("清", "雍正", 1723, 1735),
    Era("清", "乾隆", 1736, 1795),
    Era("清", "嘉慶", 1796, 1820),
    Era("清", "道光", 1821, 1850),
    Era("清", "咸豐", 1851, 1861),
    Era("清", "同治", 1862, 1874),
    Era("清", "光緒", 1875, 1908),
    Era("清", "宣統", 1909, 1911),
    # 太平天國 counted its own years (天曆), written 太平天國某年 or with its altered 干支
    Era("太平天國", "太平天國", 1851, 1864),
    # 民國
    Era("民國", "民國", 1912, 1949, ("中華民國",)),
    Era("民國", "洪憲", 1916, 1916),
)

# Where an era name is used by more than one dynasty, a bare name means the first of these.
PREFERRED_DYNASTY_ORDER = ("北宋", "南宋", "元", "明", "南明", "後金", "清", "太平天國", "民國", "金", "遼")


class ReignDateError(ValueError):
    """A date the parser cannot accept; ``message`` (Chinese) says why."""

    def __init__(self, message: str, *, recognised: bool = True) -> None:
        super().__init__(message)
        self.message = message
        # False when nothing in the text looked like a dynasty or an era (日本宽永, 佚名):
        # such an edition simply has no parsed date; True when a known era was misused.
        self.recognised = recognised


@dataclass
class ParsedDate:
    original: str
    year_from: int
    year_to: int
    ganzhi: str | None
    circa: bool
    dynasty: str | None = None
    era: str | None = None
    era_year: int | None = None
    note: str = ""
    alternatives: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------- text folding

@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """NFKC, traditional → simplified, no spaces: the form names are compared in."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\s+", "", text)
    return str(_t2s().convert(text))


# ---------------------------------------------------------------------------- numerals

DIGITS = {"〇": 0, "零": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
          "六": 6, "七": 7, "八": 8, "九": 9}
CN_DIGITS = "〇一二三四五六七八九"


def to_chinese_number(n: int) -> str:
    """1..199 in the way years are written: 十, 十五, 二十, 二十五, 一百二十."""
    if n <= 0:
        raise ValueError(n)
    if n < 10:
        return CN_DIGITS[n]
    if n < 20:
        return "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return CN_DIGITS[n // 10] + "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    rest = n % 100
    head = CN_DIGITS[n // 100] + "百"
    if rest == 0:
        return head
    if rest < 10:
        return head + "零" + CN_DIGITS[rest]
    return head + (CN_DIGITS[rest // 10] + "十" + (CN_DIGITS[rest % 10] if rest % 10 else ""))


def parse_chinese_number(text: str) -> int | None:
    """一 … 一百九十九 (also 廿/卅/卌, 十 without a leading 一, digit-by-digit 二五, Arabic digits)."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    text = text.replace("廿", "二十").replace("卅", "三十").replace("卌", "四十")
    if any(ch not in DIGITS and ch not in "十百" for ch in text):
        return None
    if "十" not in text and "百" not in text:
        value = 0
        for ch in text:
            value = value * 10 + DIGITS[ch]
        return value or None
    total = 0
    m = re.fullmatch(r"(?:(.)百)?(?:零)?(?:(.)?十)?(.)?", text)
    if not m:
        return None
    hundreds, tens, units = m.groups()
    if hundreds is not None:
        if hundreds not in DIGITS:
            return None
        total += DIGITS[hundreds] * 100
    if "十" in text:
        if tens is None:
            total += 10
        elif tens in DIGITS:
            total += DIGITS[tens] * 10
        else:
            return None
    if units is not None:
        if units not in DIGITS:
            return None
        total += DIGITS[units]
    return total or None


# ---------------------------------------------------------------------------- look-up tables

def dynasty_display(key: str) -> str:
    return DYNASTIES[key][1]


@lru_cache(maxsize=1)
def _dynasty_names() -> list[tuple[str, tuple[str, ...]]]:
    """(folded name, dynasty keys) sorted longest first."""
    names: dict[str, tuple[str, ...]] = {}
    for key, (trad, simp, _s, _e, others) in DYNASTIES.items():
        for n in (trad, simp, *others):
            names[fold(n)] = (key,)
    for word, keys in DYNASTY_GROUPS.items():
        names[fold(word)] = keys
    return sorted(names.items(), key=lambda kv: -len(kv[0]))


@lru_cache(maxsize=1)
def _era_names() -> list[tuple[str, list[Era]]]:
    """(folded name, eras with that name, preferred first) sorted longest first."""
    names: dict[str, list[Era]] = {}
    for era in ERAS:
        for n in (era.name, *era.variants):
            names.setdefault(fold(n), []).append(era)
    order = {k: i for i, k in enumerate(PREFERRED_DYNASTY_ORDER)}
    for eras in names.values():
        eras.sort(key=lambda e: (order.get(e.dynasty, 99), e.start))
    return sorted(names.items(), key=lambda kv: -len(kv[0]))


def era_display(era: Era) -> str:
    return fold(era.name)


def written_forms(era: Era, year_no: int) -> list[str]:
    """The ways a cataloguer writes year ``year_no`` of ``era`` (with its dynasty, which
    disambiguates names that several dynasties used): traditional and simplified."""
    number = "元" if year_no == 1 else to_chinese_number(year_no)
    trad_dyn, simp_dyn = DYNASTIES[era.dynasty][0], DYNASTIES[era.dynasty][1]
    if era.name in (trad_dyn, "太平天國", "民國"):
        trad, simp = f"{era.name}{number}年", f"{fold(era.name)}{number}年"
    else:
        trad, simp = f"{trad_dyn}{era.name}{number}年", f"{simp_dyn}{fold(era.name)}{number}年"
    return [trad, simp]


# ---------------------------------------------------------------------------- the parser

_CIRCA_PREFIX = ("约", "大约", "约在", "似", "疑")
_CIRCA_SUFFIX = ("年间", "间", "前后", "左右", "时", "中")
_PERIOD_WORDS = {"初年": "初", "初叶": "初", "初期": "初", "初": "初", "前期": "初",
                 "中叶": "中", "中期": "中", "中": "中",
                 "末年": "末", "末叶": "末", "末期": "末", "末": "末", "晚期": "末", "后期": "末"}
_LATE_PREFIX = ("晚清", "清季")


def _match_prefix(text: str, table: list[tuple[str, Any]]) -> tuple[str, Any] | None:
    for name, value in table:
        if text.startswith(name):
            return name, value
    return None


def _result(original: str, start: int, end: int, *, circa: bool, dynasty: str | None, era: Era | None,
            era_year: int | None = None, note: str = "", alternatives: list[int] | None = None) -> ParsedDate:
    return ParsedDate(
        original=original,
        year_from=start,
        year_to=end,
        ganzhi=ganzhi(start) if start == end else None,
        circa=circa,
        dynasty=dynasty_display(dynasty) if dynasty else None,
        era=era_display(era) if era else None,
        era_year=era_year,
        note=note,
        alternatives=alternatives or [],
    )


def parse_reign_date(text: str) -> ParsedDate:
    """Turn a written date into a Gregorian year or range with its 干支 and a circa flag.

    Accepts an optional dynasty (清, 明, 民国 ...), an era name (traditional, simplified or a
    variant form), then 元年/三十年/卅年/a 干支/间/初/末; or a dynasty alone with 初/中/末;
    or a Gregorian year. Anything after the year (月日, 刻本) is ignored. Raises ReignDateError
    with a Chinese message for what cannot be a date (乾隆九十年, an unknown era ...).
    """
    original = text
    s = fold(text)
    s = re.sub(r"[()（）\[\]【】〔〕「」『』,，。:：;；?？]", "", s)
    if not s:
        raise ReignDateError("日期为空", recognised=False)
    circa = False
    for p in _CIRCA_PREFIX:
        if s.startswith(p) and len(s) > len(p):
            s = s[len(p):]
            circa = True
            break

    m = re.fullmatch(r"(?:公元)?(\d{3,4})(?:年.*)?", s)
    if m:
        year = int(m.group(1))
        return _result(original, year, year, circa=circa, dynasty=None, era=None, era_year=None)

    for late in _LATE_PREFIX:
        if s.startswith(fold(late)):
            a, b = DYNASTY_PERIODS["清"]["末"]
            return _result(original, a, b, circa=True, dynasty="清", era=None, note="清末")

    # A dynasty word followed by one of its eras (清乾隆, 元至元, 民国洪宪); else an era name that
    # merely starts like a dynasty word (元丰, 清宁, 民国二十五年); else the dynasty alone (清末).
    hit = _match_prefix(s, _dynasty_names())
    after = None
    if hit is not None:
        word, keys = hit
        scope = {d for k in keys for d in DYNASTY_SCOPE.get(k, (k,))}
        rest = s[len(word):]
        after = _match_prefix(rest, _era_names())
        if after is not None:
            eras = [e for e in after[1] if e.dynasty in scope]
            if eras:
                return _era_date(original, eras, rest[len(after[0]):], circa)
    era_hit = _match_prefix(s, _era_names())
    if era_hit is not None:
        return _era_date(original, era_hit[1], s[len(era_hit[0]):], circa)
    if hit is not None and after is not None:
        owners = "、".join(dynasty_display(e.dynasty) for e in after[1])
        raise ReignDateError(f"“{hit[0]}”没有年号“{after[0]}”（{after[0]}属{owners}）：{original}")
    if hit is not None:
        return _dynasty_only(original, hit[0], hit[1], s[len(hit[0]):], circa)
    raise ReignDateError(f"无法识别的年号或朝代：{original}", recognised=False)


def _dynasty_only(original: str, word: str, keys: tuple[str, ...], rest: str, circa: bool) -> ParsedDate:
    start = min(DYNASTIES[k][2] for k in keys)
    end = max(DYNASTIES[k][3] for k in keys)
    main = keys[0]
    period_key = "宋" if len(keys) > 1 else main
    rest = rest.removesuffix("代").removesuffix("朝")
    if not rest:
        parsed = _result(original, start, end, circa=True, dynasty=main, era=None)
        parsed.dynasty = GROUP_DISPLAY.get(keys) or parsed.dynasty
        return parsed
    for w, period in _PERIOD_WORDS.items():
        if rest == w or rest == w + "期":
            ranges = DYNASTY_PERIODS.get(period_key)
            if ranges is None:
                raise ReignDateError(f"没有“{word}{w}”的约定年代范围：{original}")
            a, b = ranges[period]
            return _result(original, a, b, circa=True, dynasty=main, era=None, note=f"{word}{period}")
    if rest.startswith("年") or re.match(r"^[元一二三四五六七八九十廿卅卌〇零百两\d]+年", rest):
        raise ReignDateError(f"缺少年号：{original}")
    raise ReignDateError(f"无法识别的日期：{original}")


def _era_date(original: str, eras: list[Era], rest: str, circa: bool) -> ParsedDate:
    era = eras[0]
    dyn = era.dynasty
    # 太平天国癸好三年: the altered 干支 is informative only; the year number counts.
    if era.dynasty == "太平天國" and len(rest) >= 2 and rest[0] in STEMS:
        rest = rest[2:]
    if rest in ("", "年") or any(rest == suf or rest == "年" + suf for suf in _CIRCA_SUFFIX):
        return _result(original, era.start, era.end, circa=True, dynasty=dyn, era=era)
    for w, period in _PERIOD_WORDS.items():
        if rest == w or rest.startswith(w) and not rest.startswith("初一"):
            if period == "初":
                a, b = era.start, min(era.end, era.start + 9)
            elif period == "末":
                a, b = max(era.start, era.end - 9), era.end
            else:
                third = max(era.length // 3, 1)
                a, b = era.start + third, min(era.end, era.start + 2 * third)
            return _result(original, a, b, circa=True, dynasty=dyn, era=era, note=f"{era_display(era)}{period}")
    m = re.match(r"^([元一二三四五六七八九十廿卅卌〇零○百两\d]+)年(.*)$", rest)
    if m:
        word = m.group(1)
        n = 1 if word == "元" else parse_chinese_number(word)
        if n is None:
            raise ReignDateError(f"无法识别的年数“{word}”：{original}")
        ok = [e for e in eras if n <= e.length]
        if not ok:
            e = eras[0]
            raise ReignDateError(
                f"{era_display(e)}只有{to_chinese_number(e.length)}年（{e.start}—{e.end}），"
                f"没有{to_chinese_number(n) if n < 200 else n}年：{original}"
            )
        e = ok[0]
        year = e.start + n - 1
        return _result(original, year, year, circa=circa, dynasty=e.dynasty, era=e, era_year=n)
    m = re.match(r"^([甲乙丙丁戊己庚辛壬癸][子丑寅卯辰巳午未申酉戌亥])(?:年)?(.*)$", rest)
    if m:
        idx = ganzhi_index(m.group(1))
        assert idx is not None
        for e in eras:
            years = [y for y in range(e.start, e.end + 1) if (y - 4) % 60 == idx]
            if years:
                note = ""
                if len(years) > 1:
                    note = f"{era_display(e)}内有两个{m.group(1)}年，取前者"
                return _result(original, years[0], years[0], circa=circa, dynasty=e.dynasty, era=e,
                               era_year=years[0] - e.start + 1, note=note, alternatives=years[1:])
        e = eras[0]
        raise ReignDateError(f"{era_display(e)}（{e.start}—{e.end}）没有{m.group(1)}年：{original}")
    raise ReignDateError(f"无法识别“{era_display(era)}”之后的“{rest}”：{original}")


def edition_date_part(edition_text: str) -> str:
    """The part of an edition statement before the edition words (清乾隆三十年刻本 → 清乾隆三十年)."""
    folded = fold(edition_text)
    return re.split(r"(木活字|泥活字|铜活字|石印|铅印|影印|油印|蓝印|朱印|刻|刊|抄|钞|写|印|活字|稿|影|拓|递修|重修|补刻|彩绘|套印)", folded, maxsplit=1)[0]


def parse_edition_date(edition_text: str) -> ParsedDate | None:
    """The date at the start of an edition statement (清乾隆三十年刻本 → 1765), or None when
    the statement does not start with a date the parser accepts."""
    cut = edition_date_part(edition_text)
    if not cut:
        return None
    try:
        parsed = parse_reign_date(cut)
    except ReignDateError:
        return None
    parsed.original = edition_text
    return parsed


def era_by_name(name: str, dynasty: str | None = None) -> Era:
    for era in ERAS:
        if fold(era.name) == fold(name) and (dynasty is None or fold(era.dynasty) == fold(dynasty)):
            return era
    raise KeyError(name)


def period_of_year(year: int) -> str:
    """The dynasty a Gregorian year belongs to, for statistics (清 for 1765, 民国 for 1936)."""
    for key in ("北宋", "南宋", "元", "明", "清", "民國"):
        _t, simp, start, end, _o = DYNASTIES[key]
        if start <= year <= end and not (key == "明" and year == 1644):
            return simp
    if year < 960:
        return "宋以前"
    return "1949年以后"
