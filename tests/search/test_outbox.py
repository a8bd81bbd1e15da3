"""The index follows the database through the search outbox: edits, deletions, new copies and
status changes are visible right after commit; a node that missed changes catches up; the
rebuild command gives the same answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from catalog import search
from catalog.models import BibRecord, Item, SearchOutbox
from catalog.outbox import enqueue
from catalog.search.params import query_from_args
from catalog.search.service import _watermark
from catalog.services import delete_record, save_record, withdraw_item
from library import clock
from library.db import get_database
from library.models import Branch
from tests.factories import make_branch
from tests.search.factories import cnmarc, make_item, make_record


def found(app: Flask, **args: Any) -> list[int]:
    return [h.record_id for h in search.search(app, query_from_args(args)).hits]


def facet(app: Flask, name: str, **args: Any) -> dict[str, int]:
    return dict(search.search(app, query_from_args(args)).facets.get(name, []))


def test_edit_delete_and_copies_are_followed(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        a, b = make_branch(s), make_branch(s)
        rec = make_record(s, cnmarc("星空与少年", authors=("刘洋",)))
        rid, a_id, b_id = rec.id, a.id, b.id
    assert search.apply_outbox(app) == 1
    assert found(app, q="星空") == [rid]
    assert facet(app, "branch", q="星空") == {}
    # a new copy: the branch facet follows
    with db.transaction() as s:
        rec2 = s.get(BibRecord, rid)
        branch = s.get(Branch, a_id)
        assert rec2 is not None and branch is not None
        make_item(s, rec2, branch)
    search.after_commit(app)
    assert facet(app, "branch", q="星空") == {str(a_id): 1}
    # checkout (circulation changes the status and writes the outbox): no copy available any more
    with db.transaction() as s:
        item = s.scalars(select(Item).where(Item.record_id == rid)).one()
        item.status = "on_loan"
        enqueue(s, rid, now=clock.now())
    search.after_commit(app)
    assert facet(app, "branch", q="星空") == {}
    assert found(app, q="星空", branch=str(a_id)) == []
    # returned at another branch
    with db.transaction() as s:
        item = s.scalars(select(Item).where(Item.record_id == rid)).one()
        item.status, item.current_branch_id = "available", b_id
        enqueue(s, rid, now=clock.now())
    search.after_commit(app)
    assert found(app, q="星空", branch=str(b_id)) == [rid]
    # edited: the old title is gone, the new one found
    with db.transaction() as s:
        rec3 = s.get(BibRecord, rid)
        save_record(s, cnmarc("银河与少年", authors=("刘洋",)), now=clock.now(), existing=rec3)
    search.after_commit(app)
    assert found(app, q="星空") == []
    assert found(app, q="银河") == [rid]
    # the copy withdrawn, then the record deleted
    with db.transaction() as s:
        item = s.scalars(select(Item).where(Item.record_id == rid)).one()
        withdraw_item(s, item, now=clock.now())
    search.after_commit(app)
    assert found(app, q="银河", branch=str(b_id)) == []
    with db.transaction() as s:
        rec4 = s.get(BibRecord, rid)
        assert rec4 is not None
        delete_record(s, rec4, now=clock.now())
    search.after_commit(app)
    assert found(app, q="银河") == []


def test_search_sees_changes_committed_without_after_commit(app: Flask) -> None:
    """Another process (an import, another web node) wrote the change: the next search catches up."""
    with get_database(app).transaction() as s:
        rid = make_record(s, cnmarc("洞庭湖的春天")).id
    assert found(app, q="洞庭湖") == [rid]


def test_a_node_that_missed_changes_catches_up_from_its_watermark(app: Flask, make_app: Any) -> None:
    db = get_database(app)
    with db.transaction() as s:
        first = make_record(s, cnmarc("资江记忆")).id
    assert found(app, q="资江") == [first]
    node2 = make_app()  # a second web node with its own index directory
    assert found(node2, q="资江") == [first]
    watermark = search.backend(node2).last_outbox_id()
    # node 2 is down while node 1 takes changes
    with db.transaction() as s:
        second = make_record(s, cnmarc("资江长河")).id
        rec = s.get(BibRecord, first)
        assert rec is not None
        delete_record(s, rec, now=clock.now())
    search.after_commit(app)
    assert search.backend(node2).last_outbox_id() == watermark
    assert found(node2, q="资江") == [second]  # caught up on its first search
    assert search.backend(node2).last_outbox_id() > watermark
    assert search.apply_outbox(node2) == 0  # nothing pending: nothing done


class _Row:
    def __init__(self, id_: int, created_at: dt.datetime) -> None:
        self.id, self.created_at = id_, created_at


def test_gap_in_outbox_ids_holds_the_watermark_until_it_is_old() -> None:
    """An id taken by a transaction not yet committed (PostgreSQL sequences) must not be skipped."""
    now = clock.now()
    young, old = now - dt.timedelta(seconds=1), now - dt.timedelta(seconds=100)
    assert _watermark(10, [_Row(11, young), _Row(12, young)], now) == 12
    assert _watermark(10, [_Row(11, young), _Row(13, young)], now) == 11  # 12 may still commit
    assert _watermark(10, [_Row(11, old), _Row(13, old)], now) == 13  # 12 was rolled back long ago
    assert _watermark(10, [_Row(12, young)], now) == 10


def test_reindex_command_rebuilds_from_the_database(app: Flask, runner: Any) -> None:
    db = get_database(app)
    with db.transaction() as s:
        branch = make_branch(s)
        ids = []
        for i in range(5):
            rec = make_record(s, cnmarc(f"茶叶简史第{i}册", authors=("陈平",)))
            make_item(s, rec, branch)
            ids.append(rec.id)
        gone = make_record(s, cnmarc("茶叶已删"))
        delete_record(s, gone, now=clock.now())
    search.backend(app).clear()
    result = runner.invoke(args=["catalog", "reindex", "--procs", "1"])
    assert result.exit_code == 0, result.output
    assert "indexed 5 records" in result.output
    with db.transaction() as s:
        max_id = s.scalar(select(func.max(SearchOutbox.id)))
    assert search.backend(app).last_outbox_id() == max_id
    assert sorted(found(app, q="茶叶")) == sorted(ids)
