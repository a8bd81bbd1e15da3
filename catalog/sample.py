"""Realistic generated bibliographic records for the demo catalogue and the benchmarks
(``bench/generate.py`` re-exports them).

``generate_records(n, seed)`` yields pymarc records: about 70% Chinese books catalogued in CNMARC
(UNIMARC, UTF-8: 001, 005, 010 ISBN, 100 general data, 101 language, 200 title with the
cataloguer's pinyin in $A, 210 publication, 215, 225 series, 606 subjects, 690 中图法, 701/702
names, 905 holdings-free) and 30% English books in MARC21 (001, 003, 005, 008, 020, 050/082 or
084 $2 clc, 100, 245, 264, 300, 490, 650, 700). The same seed always gives the same records.
``write_iso2709(records, path)`` writes them as one ISO 2709 file (UTF-8).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from pathlib import Path

from pymarc import Field, Indicators, Leader, Record, Subfield

# 中图法 classes with a matching subject heading (CLC, subject, DDC-ish for English records)
CLC_SUBJECTS: list[tuple[str, str, str]] = [
    ("I247.5", "长篇小说", "Fiction"),
    ("I247.7", "中篇小说", "Novellas"),
    ("I267", "散文集", "Essays"),
    ("I227", "诗集", "Poetry"),
    ("I287.5", "儿童小说", "Children's stories"),
    ("I712.45", "小说", "American fiction"),
    ("K20", "中国历史", "China -- History"),
    ("K248", "明清史", "China -- History -- Ming dynasty, 1368-1644"),
    ("K825.6", "人物传记", "Biography"),
    ("B222.2", "儒家", "Confucianism"),
    ("B223.1", "道家", "Taoism"),
    ("G250", "图书馆学", "Library science"),
    ("G252.17", "阅读推广", "Reading promotion"),
    ("G624.2", "小学语文", "Chinese language -- Study and teaching"),
    ("TP311.56", "软件开发", "Computer software -- Development"),
    ("TP312", "程序设计", "Computer programming"),
    ("TP18", "人工智能", "Artificial intelligence"),
    ("O13", "高等数学", "Mathematics"),
    ("O4", "物理学", "Physics"),
    ("Q94", "植物学", "Botany"),
    ("R247.1", "中医养生", "Medicine, Chinese"),
    ("S563", "油料作物", "Oilseed plants"),
    ("S51", "水稻栽培", "Rice -- Planting"),
    ("F323", "农业经济", "Agriculture -- Economic aspects"),
    ("F832", "金融", "Finance"),
    ("D923", "民法", "Civil law"),
    ("J212", "中国画", "Painting, Chinese"),
    ("J292", "书法", "Calligraphy, Chinese"),
    ("TS972.1", "烹饪", "Cooking, Chinese"),
    ("K928.9", "旅游地理", "Travel"),
    ("H31", "英语学习", "English language -- Study and teaching"),
    ("Z228", "少儿读物", "Children's encyclopedias and dictionaries"),
]

# Title pieces with their pinyin (the cataloguer's confirmed reading, as in CNMARC 200$A)
CN_WORDS: list[tuple[str, str]] = [
    ("洞庭湖", "dong ting hu"), ("资江", "zi jiang"), ("故乡", "gu xiang"), ("春天", "chun tian"),
    ("星空", "xing kong"), ("长河", "chang he"), ("山村", "shan cun"), ("少年", "shao nian"),
    ("图书馆", "tu shu guan"), ("阅读", "yue du"), ("历史", "li shi"), ("文明", "wen ming"),
    ("科学", "ke xue"), ("农业", "nong ye"), ("水稻", "shui dao"), ("茶叶", "cha ye"),
    ("湖南", "hu nan"), ("益阳", "yi yang"), ("城市", "cheng shi"), ("乡土", "xiang tu"),
    ("记忆", "ji yi"), ("时光", "shi guang"), ("风景", "feng jing"), ("家园", "jia yuan"),
    ("人工智能", "ren gong zhi neng"), ("程序设计", "cheng xu she ji"), ("数学", "shu xue"),
    ("物理", "wu li"), ("诗词", "shi ci"), ("书法", "shu fa"), ("中医", "zhong yi"),
    ("养生", "yang sheng"), ("经济", "jing ji"), ("法律", "fa lv"), ("旅行", "lv xing"),
    ("童话", "tong hua"), ("森林", "sen lin"), ("明月", "ming yue"), ("江南", "jiang nan"),
    ("红楼", "hong lou"), ("论语", "lun yu"), ("长沙", "chang sha"), ("重阳", "chong yang"),
]
CN_SUFFIXES: list[tuple[str, str]] = [
    ("", ""), ("的故事", "de gu shi"), ("简史", "jian shi"), ("入门", "ru men"), ("十讲", "shi jiang"),
    ("札记", "zha ji"), ("研究", "yan jiu"), ("导论", "dao lun"), ("之歌", "zhi ge"), ("漫谈", "man tan"),
]
CN_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈姚卢"
CN_GIVEN = "伟芳敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚华玉兰萍红鹏辉建林晨宇轩浩然欣怡子涵志海燕晓东春梅国庆德胜"
CN_PUBLISHERS: list[tuple[str, str]] = [
    ("人民文学出版社", "北京"), ("湖南文艺出版社", "长沙"), ("湖南人民出版社", "长沙"), ("中华书局", "北京"),
    ("商务印书馆", "北京"), ("上海译文出版社", "上海"), ("岳麓书社", "长沙"), ("科学出版社", "北京"),
    ("清华大学出版社", "北京"), ("湖南少年儿童出版社", "长沙"), ("中国农业出版社", "北京"),
    ("生活·读书·新知三联书店", "北京"), ("作家出版社", "北京"), ("广西师范大学出版社", "桂林"),
]
CN_SERIES = ["湖湘文库", "大家小书", "汉译世界学术名著丛书", "中国儿童文学经典", "新农村书屋", ""]
CN_ROLES = ["著", "著", "著", "编著", "主编", "编"]

EN_FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Susan",
            "Richard", "Karen", "Thomas", "Nancy", "Daniel", "Lisa", "Wei", "Mei", "Hiroshi", "Ana"]
EN_LAST = ["Smith", "Johnson", "Brown", "Taylor", "Anderson", "Thomas", "Jackson", "White", "Harris", "Martin",
           "Thompson", "Garcia", "Clark", "Lewis", "Walker", "Hall", "Allen", "Young", "King", "Wright"]
EN_ADJ = ["Silent", "Hidden", "Lost", "Bright", "Ancient", "Modern", "Practical", "Complete", "Little", "Last",
          "Broken", "Golden", "Quiet", "Wild", "Invisible"]
EN_NOUN = ["River", "Garden", "City", "Library", "Mountain", "Journey", "Algorithm", "Kingdom", "Harvest",
           "Memory", "Ocean", "Teacher", "Machine", "Village", "Lantern"]
EN_PATTERN = ["The {adj} {noun}", "{noun} of the {adj} {noun2}", "The {adj} Guide to the {noun}",
              "{noun} and {noun2}", "The {noun} Handbook", "Notes from the {adj} {noun}"]
EN_PUBLISHERS = [("Penguin Books", "New York"), ("Oxford University Press", "Oxford"),
                 ("HarperCollins", "New York"), ("O'Reilly Media", "Sebastopol, CA"),
                 ("Cambridge University Press", "Cambridge"), ("Vintage", "London"),
                 ("Foreign Language Teaching and Research Press", "Beijing")]


def _isbn13(rng: random.Random, prefix: str) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(12 - len(prefix)))
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _isbn10_from13(isbn13: str) -> str:
    core = isbn13[3:12]
    total = sum(int(d) * (10 - i) for i, d in enumerate(core))
    check = (11 - total % 11) % 11
    return core + ("X" if check == 10 else str(check))


def _cn_name(rng: random.Random) -> str:
    return rng.choice(CN_SURNAMES) + "".join(rng.choice(CN_GIVEN) for _ in range(rng.choice((1, 2))))


def _sf(*pairs: tuple[str, str]) -> list[Subfield]:
    return [Subfield(code, value) for code, value in pairs if value != ""]


def _chinese(rng: random.Random, i: int) -> Record:
    rec = Record(force_utf8=True, to_unicode=True)
    rec.leader = Leader("00000nam0 2200000 i 450 ")  # UNIMARC: leader/09 blank even in UTF-8
    year = rng.randint(1980, 2026)
    w1, p1 = rng.choice(CN_WORDS)
    w2, p2 = rng.choice(CN_WORDS)
    suf, psuf = rng.choice(CN_SUFFIXES)
    if rng.random() < 0.5:
        title, pinyin = w1 + suf, f"{p1} {psuf}".strip()
    else:
        title, pinyin = w1 + "与" + w2, f"{p1} yu {p2}"
    clc, subject, _ = rng.choice(CLC_SUBJECTS)
    author = _cn_name(rng)
    role = rng.choice(CN_ROLES)
    publisher, place = rng.choice(CN_PUBLISHERS)
    isbn = _isbn13(rng, "9787")
    price = f"CNY{rng.randint(18, 128)}.{rng.choice(('00', '50', '80'))}"
    rec.add_field(Field("001", data=f"CN{i:09d}"))
    rec.add_field(Field("005", data=f"{year if year < 2026 else 2025}0612093000.0"))
    isbn_text = isbn if rng.random() < 0.6 else f"{isbn[:3]}-{isbn[3]}-{isbn[4:8]}-{isbn[8:12]}-{isbn[12]}"
    rec.add_field(Field("010", Indicators(" ", " "), _sf(("a", isbn_text), ("d", price))))
    rec.add_field(Field("100", Indicators(" ", " "), _sf(("a", f"{year}0101d{year}    em y0chiy50      ea"))))
    rec.add_field(Field("101", Indicators("0", " "), _sf(("a", "chi"))))
    rec.add_field(Field("102", Indicators(" ", " "), _sf(("a", "CN"), ("b", "430000"))))
    rec.add_field(Field("105", Indicators(" ", " "), _sf(("a", "y   z   000yy"))))
    rec.add_field(Field("200", Indicators("1", " "),
                        _sf(("a", title), ("A", pinyin), ("f", f"{author}{role}"))))
    rec.add_field(Field("210", Indicators(" ", " "), _sf(("a", place), ("c", publisher), ("d", str(year)))))
    rec.add_field(Field("215", Indicators(" ", " "),
                        _sf(("a", f"{rng.randint(96, 640)}页"), ("c", "图"), ("d", rng.choice(("21cm", "24cm", "26cm"))))))
    series = rng.choice(CN_SERIES)
    if series:
        rec.add_field(Field("225", Indicators("2", " "), _sf(("a", series))))
    if rng.random() < 0.3:
        rec.add_field(Field("330", Indicators(" ", " "),
                            _sf(("a", f"本书以{w1}为题，讲述{w2}的{subject}知识与故事。"))))
    rec.add_field(Field("606", Indicators("0", " "), _sf(("a", subject), ("x", rng.choice(("研究", "普及读物", ""))),
                                                          ("j", rng.choice(("", "通俗读物"))))))
    if rng.random() < 0.4:
        c2, s2, _ = rng.choice(CLC_SUBJECTS)
        rec.add_field(Field("606", Indicators("0", " "), _sf(("a", s2))))
    rec.add_field(Field("690", Indicators(" ", " "), _sf(("a", clc), ("v", "5"))))
    rec.add_field(Field("701", Indicators(" ", "0"), _sf(("a", author), ("4", role))))
    if rng.random() < 0.25:
        rec.add_field(Field("702", Indicators(" ", "0"), _sf(("a", _cn_name(rng)), ("4", "译"))))
    rec.add_field(Field("801", Indicators(" ", "0"), _sf(("a", "CN"), ("b", "ZY"), ("c", f"{year}0101"))))
    return rec


def _english(rng: random.Random, i: int) -> Record:
    rec = Record(force_utf8=True, to_unicode=True)
    rec.leader = Leader("00000nam a2200000 i 4500")
    year = rng.randint(1960, 2026)
    adj, noun, noun2 = rng.choice(EN_ADJ), rng.choice(EN_NOUN), rng.choice(EN_NOUN)
    title = rng.choice(EN_PATTERN).format(adj=adj, noun=noun, noun2=noun2)
    first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
    publisher, place = rng.choice(EN_PUBLISHERS)
    clc, _, subject = rng.choice(CLC_SUBJECTS)
    isbn = _isbn13(rng, rng.choice(("9780", "9781", "9787")))
    rec.add_field(Field("001", data=f"EN{i:09d}"))
    rec.add_field(Field("003", data="ZY"))
    rec.add_field(Field("005", data=f"{min(year, 2025)}0301120000.0"))
    rec.add_field(Field("008", data=f"{year % 100:02d}0301s{year}    nyu           000 1 eng d"))
    isbn_value = isbn if rng.random() < 0.5 else _isbn10_from13(isbn)
    rec.add_field(Field("020", Indicators(" ", " "), _sf(("a", isbn_value), ("q", rng.choice(("hardcover", "paperback", ""))))))
    if rng.random() < 0.5:
        rec.add_field(Field("050", Indicators("0", "0"),
                            _sf(("a", f"P{rng.choice('ABNRSZ')}{rng.randint(1000, 9999)}"), ("b", f".{last[0]}{rng.randint(10, 99)} {year}"))))
    if rng.random() < 0.5:
        rec.add_field(Field("082", Indicators("0", "4"), _sf(("a", f"{rng.randint(0, 999):03d}.{rng.randint(1, 99)}"), ("2", "23"))))
    else:
        rec.add_field(Field("084", Indicators(" ", " "), _sf(("a", clc), ("2", "clc"))))
    rec.add_field(Field("100", Indicators("1", " "), _sf(("a", f"{last}, {first},"), ("e", "author."))))
    rec.add_field(Field("245", Indicators("1", "4" if title.startswith("The ") else "0"),
                        _sf(("a", f"{title} /"), ("c", f"{first} {last}."))))
    rec.add_field(Field("264", Indicators(" ", "1"), _sf(("a", f"{place} :"), ("b", f"{publisher},"), ("c", f"{year}."))))
    rec.add_field(Field("300", Indicators(" ", " "), _sf(("a", f"{rng.randint(120, 720)} pages ;"), ("c", "24 cm"))))
    if rng.random() < 0.2:
        rec.add_field(Field("490", Indicators("0", " "), _sf(("a", f"{noun} series"))))
    rec.add_field(Field("650", Indicators(" ", "0"), _sf(("a", subject + "."))))
    if rng.random() < 0.3:
        rec.add_field(Field("700", Indicators("1", " "),
                            _sf(("a", f"{rng.choice(EN_LAST)}, {rng.choice(EN_FIRST)},"), ("e", "editor."))))
    return rec


def generate_records(n: int, seed: int = 1) -> Iterator[Record]:
    """Yield ``n`` realistic records (about 70% Chinese CNMARC, 30% English MARC21)."""
    rng = random.Random(seed)
    for i in range(1, n + 1):
        if rng.random() < 0.7:
            yield _chinese(rng, i)
        else:
            yield _english(rng, i)


def write_iso2709(records: Iterable[Record], path: str | Path) -> int:
    """Write ``records`` to ``path`` as ISO 2709 (UTF-8); return how many were written."""
    from catalog.marc import to_iso2709  # keeps the UNIMARC leader/09 blank, unlike pymarc's as_marc

    count = 0
    with open(path, "wb") as fh:
        for rec in records:
            fh.write(to_iso2709(rec))
            count += 1
    return count
