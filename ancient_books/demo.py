"""Demo step (order 60): about fifty census records of books a district library in Hunan
plausibly holds, in every workflow state; some in digitization at every step, two published
with drawn page images (real PNG files) and master files with checksums."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ancient_books import census_prefix_of
from ancient_books.digitization import (
    finish_step,
    register_scan_batch,
    start_digitization,
    start_step,
    volume_steps,
)
from ancient_books.images import write_page_image
from ancient_books.models import STEP_NAMES, CensusRecord, PublishedImage
from ancient_books.services import (
    AuthorInput,
    approve_record,
    create_record,
    return_record,
    submit_record,
)
from library.models import StaffUser
from library.services import create_staff

A = AuthorInput
# title, 卷数, authors, edition, edition type, 部, 类 label, binding, volumes, grade, class, 行款, 边栏, 版心, 鱼尾
BOOKS: list[tuple[Any, ...]] = [
    ("周易本義", "四卷", [A("宋", "朱熹", "撰")], "清康熙刻本", "keben", "jing", "易类", "xianzhuang", 4, "4", None,
     "半叶八行行十七字", "左右双边", "白口", "单黑鱼尾"),
    ("尚書註疏", "二十卷", [A("汉", "孔安國", "传"), A("唐", "孔穎達", "疏")], "明萬曆十五年北京國子監刻本", "keben", "jing",
     "书类", "xianzhuang", 10, "2", "丙", "半叶九行行二十一字", "四周单边", "白口", "单白鱼尾"),
    ("詩經集傳", "八卷", [A("宋", "朱熹", "撰")], "清乾隆三十年刻本", "keben", "jing", "诗类", "xianzhuang", 4, "4", None,
     "半叶九行行十八字", "四周双边", "白口", "单黑鱼尾"),
    ("禮記集說", "十卷", [A("元", "陳澔", "撰")], "明崇禎間刻本", "keben", "jing", "礼类", "xianzhuang", 6, "3", "乙",
     "半叶十行行二十字", "四周单边", "白口", "单白鱼尾"),
    ("四書章句集注", "二十六卷", [A("宋", "朱熹", "撰")], "清道光二十年刻本", "keben", "jing", "四书类", "xianzhuang", 6,
     "4", None, "半叶八行行十五字", "四周双边", "白口", "单黑鱼尾"),
    ("說文解字", "十五卷", [A("汉", "許慎", "撰")], "清同治十二年陳昌治刻本", "keben", "jing", "小学类", "xianzhuang", 4,
     "4", None, "半叶十行行十字", "左右双边", "黑口", "双黑鱼尾"),
    ("康熙字典", "四十二卷", [A("清", "張玉書", "撰")], "清道光七年刻本", "keben", "jing", "小学类", "xianzhuang", 40,
     "4", None, "半叶八行", "四周双边", "白口", "单黑鱼尾"),
    ("史記", "一百三十卷", [A("汉", "司馬遷", "撰"), A("南朝宋", "裴駰", "注")], "清乾隆四年武英殿刻本", "keben", "shi",
     "纪传类", "xianzhuang", 24, "3", "甲", "半叶十行行二十一字", "四周双边", "白口", "单黑鱼尾"),
    ("資治通鑑", "二百九十四卷", [A("宋", "司馬光", "编")], "清同治八年湖北崇文書局刻本", "keben", "shi", "编年类",
     "xianzhuang", 100, "4", None, "半叶十二行行二十四字", "左右双边", "白口", "单黑鱼尾"),
    ("益陽縣志", "二十五卷", [A("清", "姚念楊", "修"), A("清", "趙裴哲", "纂")], "清同治十三年刻本", "keben", "shi", "方志类",
     "xianzhuang", 12, "3", "乙", "半叶十行行二十二字", "四周双边", "白口", "单黑鱼尾"),
    ("湖南通志", "二百八十八卷", [A("清", "卞寶第", "修"), A("清", "曾國荃", "纂")], "清光緒十一年刻本", "keben", "shi",
     "方志类", "xianzhuang", 120, "4", None, "半叶十行行二十三字", "四周双边", "白口", "单黑鱼尾"),
    ("讀史方輿紀要", "一百三十卷", [A("清", "顧祖禹", "撰")], "清光緒五年刻本", "keben", "shi", "地理类", "xianzhuang",
     40, "4", None, "半叶十一行行二十二字", "四周单边", "白口", "单黑鱼尾"),
    ("湘軍志", "十六卷", [A("清", "王闓運", "撰")], "清光緒十二年刻本", "keben", "shi", "杂史类", "xianzhuang", 4, "4",
     None, "半叶十行行二十一字", "四周单边", "白口", "单黑鱼尾"),
    ("本草綱目", "五十二卷", [A("明", "李時珍", "撰")], "清光緒十一年合肥張氏味古齋刻本", "keben", "zi", "医家类",
     "xianzhuang", 40, "4", None, "半叶九行行二十字", "四周单边", "白口", "单黑鱼尾"),
    ("孫子十家註", "十三卷", [A("春秋", "孫武", "撰"), A("宋", "吉天保", "辑")], "清嘉慶二年刻本", "keben", "zi", "兵家类",
     "xianzhuang", 4, "4", None, "半叶十行行二十一字", "左右双边", "白口", "单黑鱼尾"),
    ("農政全書", "六十卷", [A("明", "徐光啟", "撰")], "清道光二十三年刻本", "keben", "zi", "农家类", "xianzhuang", 24,
     "4", None, "半叶九行行二十字", "左右双边", "白口", "单黑鱼尾"),
    ("太平御覽", "一千卷", [A("宋", "李昉", "辑")], "清嘉慶十七年鮑崇城刻本", "keben", "zi", "类书类", "xianzhuang",
     120, "3", "丙", "半叶十三行行二十二字", "左右双边", "白口", "单黑鱼尾"),
    ("金剛般若波羅蜜經", "一卷", [A("后秦", "鳩摩羅什", "译")], "明永樂間刻本", "keben", "zi", "释家类", "jingzhezhuang",
     1, "2", "乙", "每折五行行十五字", "上下双边", "", ""),
    ("道德經", "二卷", [A("魏", "王弼", "注")], "清光緒元年浙江書局刻本", "keben", "zi", "道家类", "xianzhuang", 1, "4",
     None, "半叶十行行二十一字", "左右双边", "白口", "单黑鱼尾"),
    ("楚辭集注", "八卷", [A("宋", "朱熹", "注")], "明嘉靖間刻本", "keben", "ji", "楚辞类", "xianzhuang", 4, "2", "丙",
     "半叶九行行十八字", "四周单边", "白口", "双白鱼尾"),
    ("杜工部集", "二十卷", [A("唐", "杜甫", "撰")], "清康熙丙午刻本", "keben", "ji", "别集类", "xianzhuang", 6, "3", "乙",
     "半叶十一行行二十一字", "左右双边", "白口", "单黑鱼尾"),
    ("昌黎先生集", "四十卷", [A("唐", "韓愈", "撰")], "明萬曆間刻本", "keben", "ji", "别集类", "xianzhuang", 10, "3", "甲",
     "半叶九行行十九字", "左右双边", "白口", "单白鱼尾"),
    ("全唐詩", "九百卷", [A("清", "彭定求", "编")], "清康熙四十六年揚州詩局刻本", "keben", "ji", "总集类", "xianzhuang",
     120, "2", "丙", "半叶十一行行二十一字", "左右双边", "白口", "单黑鱼尾"),
    ("古文觀止", "十二卷", [A("清", "吳楚材", "选"), A("清", "吳調侯", "选")], "清光緒間刻本", "keben", "ji", "总集类",
     "xianzhuang", 6, "4", None, "半叶九行行二十字", "四周单边", "白口", "单黑鱼尾"),
    ("資江耆舊集", "六十四卷", [A("清", "鄧顯鶴", "辑")], "清道光二十三年刻本", "keben", "ji", "总集类", "xianzhuang",
     16, "3", "丙", "半叶十行行二十一字", "左右双边", "白口", "单黑鱼尾"),
    ("唐詩三百首", "六卷", [A("清", "孫洙", "编")], "清道光木活字本", "muhuoziben", "ji", "总集类", "xianzhuang", 2, "4",
     None, "半叶九行行二十字", "四周单边", "白口", "单黑鱼尾"),
    ("紅樓夢", "一百二十回", [A("清", "曹霑", "撰")], "清光緒石印本", "shiyinben", "ji", "小说类", "xianzhuang", 16, "4",
     None, "半叶十五行行三十二字", "四周双边", "白口", "单黑鱼尾"),
    ("船山遺書", "", [A("清", "王夫之", "撰")], "清同治四年金陵節署刻本", "keben", "cong", "自著丛书类", "xianzhuang",
     80, "4", None, "半叶十行行二十二字", "左右双边", "白口", "单黑鱼尾"),
    ("曾文正公全集", "", [A("清", "曾國藩", "撰")], "清光緒二年傳忠書局刻本", "keben", "cong", "自著丛书类", "xianzhuang",
     120, "4", None, "半叶十行行二十二字", "左右双边", "白口", "单黑鱼尾"),
    ("陶淵明集", "十卷", [A("晋", "陶潛", "撰")], "清乾隆卅年刻本", "keben", "ji", "别集类", "xianzhuang", 2, "4", None,
     "半叶十行行十九字", "四周双边", "白口", "单黑鱼尾"),
    ("傷寒論", "十卷", [A("汉", "張機", "撰"), A("晋", "王叔和", "编")], "民國二十五年中華書局影印本", "yingyinben", "zi",
     "医家类", "xianzhuang", 2, "4", None, "", "", "", ""),
    ("幼學瓊林", "四卷", [A("明", "程登吉", "撰")], "清末刻本", "keben", "zi", "类书类", "xianzhuang", 2, "4", None,
     "半叶九行行二十字", "四周单边", "白口", "单黑鱼尾"),
    ("千家詩", "二卷", [A("宋", "謝枋得", "选")], "清光緒三十四年刻本", "keben", "ji", "总集类", "xianzhuang", 1, "4",
     None, "半叶八行行十四字", "四周单边", "白口", "单黑鱼尾"),
    ("東萊博議", "四卷", [A("宋", "呂祖謙", "撰")], "清咸豐元年刻本", "keben", "jing", "春秋类", "xianzhuang", 4, "4",
     None, "半叶九行行二十字", "四周单边", "白口", "单黑鱼尾"),
    ("文選", "六十卷", [A("南朝梁", "蕭統", "编"), A("唐", "李善", "注")], "清嘉慶十四年胡克家刻本", "keben", "ji",
     "总集类", "xianzhuang", 24, "3", "丙", "半叶十行行二十一字", "左右双边", "白口", "单黑鱼尾"),
    ("朱子語類", "一百四十卷", [A("宋", "黎靖德", "编")], "清光緒六年刻本", "keben", "zi", "儒家类", "xianzhuang", 40,
     "4", None, "半叶十行行二十字", "左右双边", "白口", "单黑鱼尾"),
]
STATES = ["draft"] * 8 + ["submitted"] * 7 + ["returned"] * 5 + ["approved"] * 30
LOCATIONS = ["古籍书库甲架", "古籍书库乙架", "古籍书库丙架", "善本库一号柜", "善本库二号柜"]
DAMAGE = [("none", [], 0, False), ("level3", ["stain", "thread"], 5, False), ("level2", ["insect", "acid"], 18, True),
          ("level1", ["mould", "brittle", "loss"], 35, True), ("special", ["fluffy", "sticking", "loss"], 55, True)]


def _staff(session: Session, username: str, role: str, display: str, ctx: Any) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        password = f"{username}-demo-2026"
        user = create_staff(session, username=username, password=password, display_name=display,
                            roles=[(role, None)], fast_hash=True, now=ctx.now)
        ctx.out.setdefault("staff", []).append({"username": username, "password": password, "role": role,
                                                "branch": None})
    return user


def _lei(session: Session, bu: str, label: str) -> str:
    from ancient_books.models import CensusTerm

    code = session.scalar(select(CensusTerm.code).where(CensusTerm.kind == "lei", CensusTerm.parent_code == bu,
                                                        CensusTerm.label == label))
    return code or ""


def build_census(session: Session, ctx: Any) -> None:
    """About fifty census records in every state; digitization at every step; two published."""
    app = current_app
    prefix = census_prefix_of(app)
    unit = app.config["LIBRARY_CENSUS_UNIT_NAME"]
    registrar = _staff(session, "guji", "ancient_books", "古籍编目员", ctx)
    reviewer = _staff(session, "guji_review", "ancient_books_reviewer", "古籍审校", ctx)
    rng = ctx.rng
    records: list[CensusRecord] = []
    for i, state in enumerate(STATES):
        book = BOOKS[i % len(BOOKS)]
        (title, juan, authors, edition, etype, bu, lei, binding, volumes, grade, gclass, hk, bl, bx, yw) = book
        copy = i // len(BOOKS)
        level, types, share, repair = DAMAGE[rng.randrange(len(DAMAGE))]
        when = ctx.now - dt.timedelta(days=400 - i * 6)
        data = {
            "call_number": f"GJ/{bu[0].upper()}{i + 1:04d}",
            "bu_code": bu, "lei_code": _lei(session, bu, lei), "title": title, "juan": juan,
            "edition_text": edition, "edition_type_code": etype,
            "annotations": "清人朱筆圈點" if i % 9 == 4 else "",
            "layout_hangkuan": hk, "layout_bianlan": bl, "layout_banxin": bx, "layout_yuwei": yw,
            "binding_code": binding, "volumes": volumes if copy == 0 else max(1, volumes // 2),
            "volume_unit": "册", "extant": "" if copy == 0 else "存半部",
            "seals": "“益陽縣圖書館藏書”朱文方印" if i % 5 == 0 else "",
            "grade_code": grade, "grade_class": gclass, "damage_level_code": level, "damage_types": types,
            "damage_share": share, "repair_needed": repair,
            "series_contents": "周易內傳六卷；尚書引義六卷；詩廣傳五卷；讀通鑑論三十卷；宋論十五卷" if title == "船山遺書" else "",
            "location": LOCATIONS[i % len(LOCATIONS)], "holding_unit": unit,
        }
        record = create_record(session, data=data, authors=authors, prefix=prefix, staff=registrar, now=when)
        if state in ("submitted", "returned", "approved"):
            submit_record(session, record, staff=registrar, now=when + dt.timedelta(days=1))
        if state == "returned":
            return_record(session, record, reviewer=reviewer, now=when + dt.timedelta(days=2),
                          comment="版本年代请核对牌记；行款请按半叶著录")
        if state == "approved":
            approve_record(session, record, reviewer=reviewer, now=when + dt.timedelta(days=2), comment="")
        records.append(record)
    session.flush()
    approved = [r for r in records if r.status == "approved" and r.volumes <= 6]
    data_dir = Path(app.config["LIBRARY_DATA_DIR"])
    published: list[str] = []
    # Digitization: two books published and archived, the others stopped at each step in turn.
    stops = ["published", "published", *STEP_NAMES[1:], "condition", "scanning", "qc"]
    for n, (record, stop) in enumerate(zip(approved, stops, strict=False)):
        start = ctx.now - dt.timedelta(days=300 - n * 20)
        start_digitization(session, record, staff=registrar, now=start)
        _advance(session, record, stop, registrar, start, data_dir, rng, n)
        if stop == "published":
            published.append(record.census_no)
    ctx.out["census_numbers"] = [r.census_no for r in records]
    ctx.out["census_published"] = published
    ctx.out["census_by_status"] = {s: [r.census_no for r in records if r.status == s]
                                   for s in ("draft", "submitted", "returned", "approved")}


def _advance(session: Session, record: CensusRecord, stop: str, staff: StaffUser, start: dt.datetime,
             data_dir: Path, rng: Any, n: int) -> None:
    """Walk each volume through the steps up to ``stop`` ("published" = all the way)."""
    target = len(STEP_NAMES) if stop == "published" else STEP_NAMES.index(stop)
    t = start
    pages_per_volume = 4 if stop in ("published", "archiving") else 0
    seq = 0
    for vol in range(1, record.volumes + 1):
        steps = volume_steps(session, record.id, vol)
        for name in STEP_NAMES[1:target]:
            t += dt.timedelta(days=2)
            step = steps[name]
            if step.state in ("done", "skipped"):
                continue
            if name == "scanning":
                files = []
                if pages_per_volume:
                    for p in range(1, pages_per_volume + 1):
                        master = data_dir / "masters" / record.census_no / f"v{vol:02d}" / f"{p:04d}.png"
                        write_page_image(master, 600, 850, seed=n * 100 + vol * 10 + p, seal=p == 1)
                        files.append(master)
                register_scan_batch(session, record, volume_no=vol, image_count=pages_per_volume or 20 + rng.randrange(60),
                                    resolution_ppi=400, colour="colour", file_format="PNG" if files else "TIFF",
                                    scanned_at=t, operator=staff.display_name, device="Zeutschel OS 12000",
                                    files=files, now=t)
            if name == "publishing" and seq == 0:
                for v in range(1, record.volumes + 1):
                    for p in range(1, pages_per_volume + 1):
                        seq += 1
                        rel = f"{record.census_no}/{seq}.png"
                        w, h = write_page_image(data_dir / "iiif" / rel, 480, 680, seed=n * 100 + v * 10 + p,
                                                seal=p == 1)
                        session.add(PublishedImage(record_id=record.id, seq=seq, volume_no=v,
                                                   label=f"第{v}册 第{p}叶", path=rel, width=w, height=h,
                                                   media_type="image/png"))
                session.flush()
            if step.state == "locked":
                continue
            start_step(session, step, staff=staff, now=t)
            outcome = {"condition": "repair" if record.repair_needed else "no_repair", "qc": "pass"}.get(name, "")
            finish_step(session, step, staff=staff, now=t + dt.timedelta(hours=5), outcome=outcome)
        if stop not in ("published",) and target < len(STEP_NAMES):
            cur = steps[STEP_NAMES[target]]
            if cur.state == "open" and vol == 1:
                start_step(session, cur, staff=staff, now=t)
