"""Census records: gap-free 普查编号 under concurrency, validation and DB checks, the review
workflow with its history, search with traditional/simplified folding, statistics."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from ancient_books import census_prefix_of
from ancient_books.errors import CensusInvalid, WorkflowRefused
from ancient_books.models import CensusChange, CensusCounter, CensusRecord
from ancient_books.services import (
    AuthorInput,
    approve_record,
    create_record,
    issue_census_number,
    return_record,
    search_records,
    statistics,
    submit_record,
    update_record,
)
from library import clock
from library.db import get_database
from tests.ancient_books.factories import census_data, make_approved, make_census, staff


def test_numbers_follow_the_configured_prefix(app: Flask, db_session: Any) -> None:
    first = make_census(db_session, app)
    second = make_census(db_session, app)
    assert first.census_no == "430000-0902-0000001" and second.census_no == "430000-0902-0000002"
    assert census_prefix_of(app) == "430000-0902"


def test_rolled_back_registration_gives_its_serial_back(app: Flask, db: Any) -> None:
    with db.transaction() as session:
        make_census(session, app)
    session = db.Session()
    make_census(session, app)
    session.rollback()
    session.close()
    with db.transaction() as session:
        record = make_census(session, app)
    assert record.census_no.endswith("-0000002")


def test_concurrent_registration_never_repeats_or_skips(app: Flask, db: Any) -> None:
    """8 threads, each registering 5 books in its own session and transaction."""
    with db.transaction() as session:
        registrar = staff(session)
        registrar_id = registrar.id
    prefix = census_prefix_of(app)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(5):
                with get_database(app).transaction() as session:
                    from library.models import StaffUser

                    user = session.get(StaffUser, registrar_id)
                    create_record(session, data=census_data(), authors=[AuthorInput("清", "王闓運", "撰")],
                                  prefix=prefix, staff=user, now=clock.now())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    with db.transaction() as session:
        serials = sorted(session.scalars(select(CensusRecord.serial)))
        numbers = set(session.scalars(select(CensusRecord.census_no)))
        counter = session.get(CensusCounter, prefix)
        assert counter is not None and counter.last_serial == 40
    assert serials == list(range(1, 41))
    assert len(numbers) == 40


def test_counter_row_is_locked_for_update_on_postgresql(app: Flask, db: Any) -> None:
    """A second transaction waits for the first one's counter lock (PostgreSQL only: SQLite
    serialises writers at BEGIN IMMEDIATE)."""
    if db.dialect != "postgresql":
        pytest.skip("row locks are a PostgreSQL feature; SQLite serialises whole write transactions")
    prefix = census_prefix_of(app)
    first = db.Session()
    issue_census_number(first, prefix)
    first.commit()
    holder = db.Session()
    issue_census_number(holder, prefix)  # holds the lock
    other = db.Session()
    other.execute(text("SET LOCAL lock_timeout = '300ms'"))
    from sqlalchemy.exc import OperationalError

    with pytest.raises(OperationalError):
        issue_census_number(other, prefix)
    other.rollback()
    holder.commit()
    _serial, number = issue_census_number(other, prefix)
    other.commit()
    assert number.endswith("-0000003")
    for s in (first, holder, other):
        s.close()


def test_number_is_unique_in_the_database(app: Flask, db_session: Any) -> None:
    record = make_census(db_session, app)
    db_session.commit()
    dup = make_census(db_session, app)
    dup.census_no = record.census_no
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_fourth_grade_has_no_class_service_and_database(app: Flask, db_session: Any) -> None:
    with pytest.raises(CensusInvalid) as info:
        make_census(db_session, app, grade_code="4", grade_class="甲")
    assert "四级" in info.value.errors["grade_class"]
    db_session.rollback()
    record = make_census(db_session, app, grade_code="4", grade_class=None)
    db_session.commit()
    with pytest.raises(IntegrityError):
        db_session.execute(text("UPDATE census_records SET grade_class = '甲' WHERE id = :id"), {"id": record.id})
    db_session.rollback()
    with pytest.raises(IntegrityError):
        db_session.execute(text("UPDATE census_records SET grade_code = '1', grade_class = '丁' WHERE id = :id"),
                           {"id": record.id})


def test_validation_reports_each_wrong_field(app: Flask, db_session: Any) -> None:
    with pytest.raises(CensusInvalid) as info:
        make_census(db_session, app, title="", bu_code="jing", lei_code="shi-10", edition_text="清乾隆九十年刻本",
                    damage_share=120, binding_code="nosuch", damage_types=["mould", "bogus"])
    errors = info.value.errors
    assert set(errors) >= {"title", "lei_code", "edition_text", "damage_share", "binding_code", "damage_types"}
    assert "没有九十年" in errors["edition_text"]


def test_edition_date_is_parsed_and_original_kept(app: Flask, db_session: Any) -> None:
    record = make_census(db_session, app, edition_text="清乾隆卅年刻本")
    assert (record.edition_year_from, record.edition_year_to, record.edition_ganzhi) == (1765, 1765, "乙酉")
    assert record.edition_text == "清乾隆卅年刻本" and record.edition_period == "清"
    other = make_census(db_session, app, edition_text="日本寬永刻本")
    assert other.edition_year_from is None and other.edition_text == "日本寬永刻本"


def test_workflow_and_history(app: Flask, db_session: Any) -> None:
    registrar, reviewer = staff(db_session), staff(db_session, "ancient_books_reviewer")
    record = make_census(db_session, app, registrar=registrar)
    now = clock.now()
    diff = update_record(db_session, record, data=census_data(title="益陽縣志", juan="十二卷", volumes=3),
                         authors=[AuthorInput("清", "姚念楊", "修")], staff=registrar, now=now)
    assert diff["juan"] == ["二十五卷", "十二卷"] and diff["volumes"] == [2, 3] and "authors" in diff
    submit_record(db_session, record, staff=registrar, now=now)
    with pytest.raises(WorkflowRefused):
        update_record(db_session, record, data=census_data(), authors=[], staff=registrar, now=now)
    with pytest.raises(CensusInvalid):
        return_record(db_session, record, reviewer=reviewer, now=now, comment="  ")
    return_record(db_session, record, reviewer=reviewer, now=now, comment="行款请按半叶著录")
    assert record.status == "returned" and record.review_comment == "行款请按半叶著录"
    update_record(db_session, record, data=census_data(juan="十二卷", volumes=3, layout_hangkuan="半叶九行"),
                  authors=[AuthorInput("清", "姚念楊", "修")], staff=registrar, now=now)
    submit_record(db_session, record, staff=registrar, now=now)
    approve_record(db_session, record, reviewer=reviewer, now=now, comment="著录完整")
    with pytest.raises(WorkflowRefused):
        approve_record(db_session, record, reviewer=reviewer, now=now)
    db_session.flush()
    history = db_session.scalars(select(CensusChange).where(CensusChange.record_id == record.id)
                                 .order_by(CensusChange.id)).all()
    assert [c.action for c in history] == ["create", "update", "submit", "return", "update", "submit", "approve"]
    assert all(c.staff_id is not None and c.at is not None for c in history)
    assert history[3].comment == "行款请按半叶著录" and history[3].staff_id == reviewer.id
    assert history[4].changes["layout_hangkuan"] == ["半叶十行行二十二字", "半叶九行"]


def test_search_folds_traditional_and_simplified(app: Flask, db_session: Any) -> None:
    make_census(db_session, app, title="資治通鑑", edition_text="清同治八年湖北崇文書局刻本", call_number="GJ/S0009",
                authors=[AuthorInput("宋", "司馬光", "编")])
    make_census(db_session, app, title="說文解字", edition_text="清同治十二年陳昌治刻本",
                authors=[AuthorInput("汉", "許慎", "撰")])
    db_session.flush()

    def titles(q: str) -> list[str]:
        return [r.title for r in search_records(db_session, query=q)[0]]

    assert titles("资治通鉴") == ["資治通鑑"]  # simplified query, traditional record
    assert titles("資治通鑑") == ["資治通鑑"]
    assert titles("司马光") == ["資治通鑑"]  # author
    assert titles("崇文书局") == ["資治通鑑"]  # edition
    assert titles("gj/s0009") == ["資治通鑑"]  # call number, case-insensitive
    assert titles("说文 许慎") == ["說文解字"]  # every word must match
    number = search_records(db_session, query="說文")[0][0].census_no
    assert titles(number) == ["說文解字"]
    assert titles("100%") == []


def test_statistics_by_dimension(app: Flask, db_session: Any) -> None:
    make_approved(db_session, app, bu_code="jing", lei_code="jing-01", volumes=4, grade_code="4", grade_class=None,
                  edition_text="清乾隆三十年刻本", damage_level_code="level2")
    make_approved(db_session, app, bu_code="jing", lei_code="jing-01", volumes=2, grade_code="2", grade_class="甲",
                  edition_text="明萬曆間刻本", edition_type_code="keben", damage_level_code="level2")
    make_census(db_session, app, bu_code="ji", lei_code="", volumes=9)  # a draft does not count
    db_session.flush()
    stats = statistics(db_session)
    bu = {r.label: (r.books, r.volumes) for r in stats["bu"]}
    assert bu == {"经部": (2, 6)}
    assert {r.label: r.books for r in stats["grade"]} == {"二级": 1, "四级": 1}
    assert {r.label: (r.books, r.volumes) for r in stats["damage"]} == {"二级破损": (2, 6)}
    assert {r.label: r.volumes for r in stats["period"]} == {"明": 2, "清": 4}
    assert {r.label: r.books for r in stats["edition_type"]} == {"刻本": 2}
    everything = statistics(db_session, statuses=("draft", "submitted", "returned", "approved"))
    assert sum(r.books for r in everything["bu"]) == 3


def test_optional_link_to_a_cnmarc_record(app: Flask, db_session: Any) -> None:
    from tests.catalog.factories import make_record

    bib = make_record(db_session, "益阳县志")
    record = make_census(db_session, app, bib_record_id=bib.id)
    assert record.bib_record_id == bib.id
    with pytest.raises(CensusInvalid) as info:
        make_census(db_session, app, bib_record_id=bib.id + 1000)
    assert "bib_record_id" in info.value.errors
