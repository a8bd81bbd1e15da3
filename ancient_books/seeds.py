"""Default controlled lists of the census (admins edit them afterwards): classification 部/类
(四部分类 plus 丛部, as the national census uses), edition types (WH/T 20-2006 §2.2), bindings,
grades (GB/T 31076.1-2014), damage levels and types (WH/T 22-2006) and 著作方式."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ancient_books.models import CensusTerm

BU = [("jing", "经部"), ("shi", "史部"), ("zi", "子部"), ("ji", "集部"), ("cong", "丛部")]
LEI: dict[str, list[str]] = {
    "jing": ["易类", "书类", "诗类", "礼类", "春秋类", "孝经类", "四书类", "群经总义类", "小学类"],
    "shi": ["纪传类", "编年类", "纪事本末类", "杂史类", "诏令奏议类", "传记类", "史钞类", "时令类",
            "地理类", "方志类", "职官类", "政书类", "目录类", "金石考古类", "史评类"],
    "zi": ["儒家类", "兵家类", "法家类", "农家类", "医家类", "天文算法类", "术数类", "艺术类", "谱录类",
           "杂家类", "小说类", "类书类", "释家类", "道家类", "诸教类", "新学类"],
    "ji": ["楚辞类", "别集类", "总集类", "诗文评类", "词类", "曲类", "小说类"],
    "cong": ["汇编丛书类", "地方丛书类", "家集丛书类", "自著丛书类"],
}
EDITION_TYPES = [
    ("xieben", "写本", ""), ("gaoben", "稿本", ""), ("shougaoben", "手稿本", "gaoben"),
    ("qinggaoben", "清稿本", "gaoben"), ("xiugaigaoben", "修改稿本", "gaoben"),
    ("chaoben", "抄本", ""), ("yingchaoben", "影抄本", ""), ("caihuiben", "彩绘本", ""),
    ("keben", "刻本", ""), ("chukeben", "初刻本", "keben"), ("chongkeben", "重刻本", "keben"),
    ("fankeben", "翻刻本", "keben"), ("yingkeben", "影刻本", "keben"), ("chongxiuben", "重修本", "keben"),
    ("dixiuben", "递修本", "keben"),
    ("huoziben", "活字本", ""), ("muhuoziben", "木活字本", "huoziben"), ("nihuoziben", "泥活字本", "huoziben"),
    ("tonghuoziben", "铜活字本", "huoziben"),
    ("taoyinben", "套印本", ""), ("tongbanyinben", "铜版印本", ""), ("yingyinben", "影印本", ""),
    ("shiyinben", "石印本", ""), ("piaoben", "批校题跋本", ""), ("guoluben", "过录本", ""),
    ("qianyinben", "铅印本", ""),
]
BINDINGS = [("xianzhuang", "线装"), ("baobeizhuang", "包背装"), ("hudiezhuang", "蝴蝶装"),
            ("jingzhezhuang", "经折装"), ("juanzhouzhuang", "卷轴装"), ("fanjiazhuang", "梵夹装"),
            ("maobianzhuang", "毛装"), ("pingzhuang", "平装"), ("jingzhuang", "精装")]
GRADES = [("1", "一级"), ("2", "二级"), ("3", "三级"), ("4", "四级")]
GRADE_CLASSES = [("甲", "甲等"), ("乙", "乙等"), ("丙", "丙等")]
# WH/T 22-2006: 特级破损 … 轻度破损, and "完好" for books without damage.
DAMAGE_LEVELS = [
    ("special", "特级破损", "严重酸化、霉蚀、粘连、絮化等，书叶破损超过 40%，或书叶 pH ≤ 4.0"),
    ("level1", "一级破损", "书叶破损 30%–40%，或书叶 pH 4.0–4.2"),
    ("level2", "二级破损", "书叶破损 10%–30%，或书叶 pH 4.2–4.5"),
    ("level3", "三级破损", "书叶破损 10% 以下，或书叶 pH 4.5–5.5"),
    ("none", "完好", "基本无破损"),
]
DAMAGE_TYPES = [("acid", "酸化"), ("brittle", "老化（脆化）"), ("mould", "霉蚀"), ("insect", "虫蛀"),
                ("rodent", "鼠啮"), ("fluffy", "絮化"), ("sticking", "粘连"), ("loss", "缺损"),
                ("stain", "污渍"), ("water", "水渍"), ("fading", "字迹褪色"), ("thread", "断线"),
                ("cover", "书衣破损"), ("tear", "撕裂"), ("creasing", "皱褶")]
AUTHOR_ROLES = [("zhuan", "撰"), ("bian", "编"), ("zhu", "注"), ("ji", "辑"), ("zhuan2", "纂"),
                ("jiaoding", "校订"), ("shu", "疏"), ("yi", "译"), ("ping", "评"), ("hui", "绘"),
                ("zhu2", "著"), ("xuan", "选"), ("zhuan3", "传"), ("xiu", "修"), ("jijie", "集解"), ("jizhu", "集注")]


def _terms() -> list[tuple[str, str, str, str, str]]:
    rows: list[tuple[str, str, str, str, str]] = []
    rows += [("bu", c, label, "", "") for c, label in BU]
    for bu, leis in LEI.items():
        rows += [("lei", f"{bu}-{i + 1:02d}", label, bu, "") for i, label in enumerate(leis)]
    rows += [("edition_type", c, label, parent, "") for c, label, parent in EDITION_TYPES]
    rows += [("binding", c, label, "", "") for c, label in BINDINGS]
    rows += [("grade", c, label, "", "") for c, label in GRADES]
    rows += [("grade_class", c, label, "", "") for c, label in GRADE_CLASSES]
    rows += [("damage_level", c, label, "", desc) for c, label, desc in DAMAGE_LEVELS]
    rows += [("damage_type", c, label, "", "") for c, label in DAMAGE_TYPES]
    rows += [("author_role", c, label, "", "") for c, label in AUTHOR_ROLES]
    return rows


def seed_census_terms(session: Session) -> None:
    """Insert the entries that are missing (idempotent; edited labels are left alone)."""
    existing = {(k, c) for k, c in session.execute(select(CensusTerm.kind, CensusTerm.code))}
    for order, (kind, code, label, parent, desc) in enumerate(_terms()):
        if (kind, code) not in existing:
            session.add(CensusTerm(kind=kind, code=code, label=label, parent_code=parent, description=desc,
                                   sort_order=order, active=True))
    session.flush()
