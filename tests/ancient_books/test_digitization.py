"""The digitization workflow per volume, scan batches, master-file fixity (verify-files) and
the dashboard figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from ancient_books.digitization import (
    board,
    current_step,
    dashboard,
    finish_step,
    register_scan_batch,
    start_digitization,
    start_step,
    volume_steps,
)
from ancient_books.errors import StepRefused
from library import clock
from tests.ancient_books.factories import make_approved, make_census, make_published, staff


def test_only_approved_books_enter_digitization(app: Flask, db_session: Any) -> None:
    draft = make_census(db_session, app)
    with pytest.raises(StepRefused):
        start_digitization(db_session, draft, staff=None, now=clock.now())
    record = make_approved(db_session, app, volumes=2)
    steps = start_digitization(db_session, record, staff=None, now=clock.now())
    assert len(steps) == 16
    with pytest.raises(StepRefused):
        start_digitization(db_session, record, staff=None, now=clock.now())
    vol1 = volume_steps(db_session, record.id, 1)
    assert vol1["selection"].state == "done" and vol1["condition"].state == "open"
    assert all(vol1[s].state == "locked" for s in ("repair", "scanning", "qc", "metadata", "publishing", "archiving"))


def test_steps_run_in_order_with_repair_and_rework(app: Flask, db_session: Any, tmp_path: Path) -> None:
    worker = staff(db_session)
    record = make_approved(db_session, app, volumes=1)
    start_digitization(db_session, record, staff=worker, now=clock.now())
    steps = volume_steps(db_session, record.id, 1)
    with pytest.raises(StepRefused):
        start_step(db_session, steps["scanning"], staff=worker, now=clock.now())  # still locked
    with pytest.raises(StepRefused):
        finish_step(db_session, steps["condition"], staff=worker, now=clock.now())  # no outcome
    finish_step(db_session, steps["condition"], staff=worker, now=clock.now(), outcome="repair")
    assert steps["repair"].state == "open" and steps["scanning"].state == "locked"
    start_step(db_session, steps["repair"], staff=worker, now=clock.now())
    assert steps["repair"].state == "in_progress" and steps["repair"].assignee_id == worker.id
    finish_step(db_session, steps["repair"], staff=worker, now=clock.now())
    assert steps["scanning"].state == "open"
    finish_step(db_session, steps["scanning"], staff=worker, now=clock.now())
    assert current_step(steps.values()) == "qc"
    finish_step(db_session, steps["qc"], staff=worker, now=clock.now(), outcome="rework")
    assert steps["scanning"].state == "open" and steps["qc"].state == "locked" and steps["qc"].rework_count == 1
    finish_step(db_session, steps["scanning"], staff=worker, now=clock.now())
    finish_step(db_session, steps["qc"], staff=worker, now=clock.now(), outcome="pass")
    finish_step(db_session, steps["metadata"], staff=worker, now=clock.now())
    with pytest.raises(StepRefused) as info:
        finish_step(db_session, steps["publishing"], staff=worker, now=clock.now())
    assert "图像" in info.value.text
    assert record.published_at is None


def test_condition_without_repair_skips_it(app: Flask, db_session: Any) -> None:
    record = make_approved(db_session, app, volumes=1)
    start_digitization(db_session, record, staff=None, now=clock.now())
    steps = volume_steps(db_session, record.id, 1)
    finish_step(db_session, steps["condition"], staff=staff(db_session), now=clock.now(), outcome="no_repair")
    assert steps["repair"].state == "skipped" and steps["scanning"].state == "open"


def test_published_book_is_marked_and_counted(app: Flask, db_session: Any) -> None:
    record = make_published(db_session, app, pages=2, volumes=2)
    assert record.published_at is not None
    d = dashboard(db_session, now=clock.now())
    assert d.books_at["finished"] == 1 and d.volumes_at["finished"] == 2
    assert d.published_books == 1 and d.master_files == 2 and d.total_images == 4
    assert sum(v for _m, v in d.images_per_month) == 4 and d.images_per_month[-1][1] == 4
    assert sum(v for _m, v in d.volumes_archived_per_month) == 2


def test_board_filters_by_current_step(app: Flask, db_session: Any) -> None:
    a = make_approved(db_session, app, volumes=1)
    b = make_approved(db_session, app, volumes=1)
    start_digitization(db_session, a, staff=None, now=clock.now())
    start_digitization(db_session, b, staff=None, now=clock.now())
    finish_step(db_session, volume_steps(db_session, b.id, 1)["condition"], staff=staff(db_session),
                now=clock.now(), outcome="no_repair")
    assert [x.record.census_no for x in board(db_session, step="condition")] == [a.census_no]
    assert [x.record.census_no for x in board(db_session, step="scanning")] == [b.census_no]
    d = dashboard(db_session, now=clock.now())
    assert d.books_at["condition"] == 1 and d.books_at["scanning"] == 1


def test_scan_batch_rejects_wrong_volume_and_missing_file(app: Flask, db_session: Any, tmp_path: Path) -> None:
    record = make_approved(db_session, app, volumes=2)
    with pytest.raises(StepRefused):
        register_scan_batch(db_session, record, volume_no=3, image_count=10, resolution_ppi=400, colour="colour",
                            file_format="TIFF", scanned_at=clock.now(), now=clock.now())
    with pytest.raises(StepRefused):
        register_scan_batch(db_session, record, volume_no=1, image_count=10, resolution_ppi=400, colour="colour",
                            file_format="TIFF", scanned_at=clock.now(), files=[tmp_path / "absent.tif"],
                            now=clock.now())


def test_verify_files_finds_a_changed_byte_and_a_deleted_file(app: Flask, db: Any, runner: Any,
                                                              tmp_path: Path) -> None:
    masters = tmp_path / "masters"
    masters.mkdir()
    files = []
    for i in range(3):
        f = masters / f"{i:04d}.tif"
        f.write_bytes(bytes(range(256)) * 40 + bytes([i]))
        files.append(f)
    with db.transaction() as session:
        record = make_approved(session, app, volumes=1)
        register_scan_batch(session, record, volume_no=1, image_count=3, resolution_ppi=600, colour="colour",
                            file_format="TIFF", scanned_at=clock.now(), files=files, now=clock.now())
    ok = runner.invoke(args=["ancient-books", "verify-files"])
    assert ok.exit_code == 0, ok.output
    assert "3 ok" in ok.output
    data = bytearray(files[1].read_bytes())
    data[1000] ^= 0x01  # one bit of one byte; same size
    files[1].write_bytes(bytes(data))
    files[2].unlink()
    bad = runner.invoke(args=["ancient-books", "verify-files"])
    assert bad.exit_code == 1
    assert f"CHANGED  {files[1].resolve()}" in bad.output
    assert f"MISSING  {files[2].resolve()}" in bad.output
    assert str(files[0].resolve()) not in bad.output
    assert "1 ok, 1 missing, 1 changed" in bad.output
    with db.transaction() as session:
        assert dashboard(session, now=clock.now()).fixity_problems == 2
