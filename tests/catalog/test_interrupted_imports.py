"""Imports whose process died: every committed batch renews the import's heartbeat; an import not
heard from within the stale threshold is shown as interrupted (中断) with when it was last seen,
the clean-up job marks it so, and resuming it imports each record exactly once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from catalog import jobs
from catalog.errors import ImportNotResumable, ImportSuperseded
from catalog.importer import claim_resume, create_batch, import_file, mark_interrupted_imports, run_batch
from catalog.marc import to_iso2709
from catalog.models import BibRecord, ImportBatch
from library import clock
from library.db import Database
from tests import factories
from tests.catalog.factories import cnmarc_record
from tests.scheduler.test_scheduler import PROJECT_ROOT, wait_until

T0 = dt.datetime(2026, 5, 4, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def central(db: Database) -> int:
    with db.transaction() as session:
        return factories.make_branch(session, code="ZY", kind="central").id


def _file(path: Path, n: int = 25) -> bytes:
    """``n`` records with neither ISBN nor a control number a match could use twice: a re-run
    of the whole file with match "none" would add every one of them again."""
    data = b"".join(to_iso2709(cnmarc_record(f"书{i}", isbn=None, control_number=f"K{i}")) for i in range(n))
    path.write_bytes(data)
    return data


def _batch(db: Database) -> ImportBatch:
    with db.transaction() as session:
        batch = session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(1)).one()
        session.expunge(batch)
        return batch


def _records(db: Database) -> list[str]:
    with db.transaction() as session:
        numbers = [c or "" for c in session.scalars(select(BibRecord.control_number))]
    return sorted(numbers, key=lambda c: int(c[1:] or 0))


def _killed_after_two_batches(db: Database, path: Path, *, match: str = "none") -> ImportBatch:
    """Import 25 records 10 at a time; the process "dies" after the second commit (one minute
    after it started), leaving the import running with 20 records committed."""
    calls: list[int] = []

    def progress(done: int) -> None:
        calls.append(done)
        clock.set_now(T0 + dt.timedelta(minutes=len(calls)))
        if len(calls) == 2:
            raise KeyboardInterrupt  # what a kill does: nothing after this line runs

    clock.set_now(T0)
    with pytest.raises(KeyboardInterrupt):
        import_file(db, path, match=match, batch_size=10, progress=progress)
    batch = _batch(db)
    assert (batch.status, batch.read, batch.imported) == ("running", 20, 20)
    return batch


def test_heartbeat_follows_the_committed_batches_and_a_silent_import_is_interrupted(app: Flask, db: Database,
                                                                                   central: int,
                                                                                   tmp_path: Path) -> None:
    _file(tmp_path / "a.mrc")
    batch = _killed_after_two_batches(db, tmp_path / "a.mrc")
    stale = jobs.import_stale_after(app)
    # The second batch was committed one minute after the start, with its heartbeat.
    assert (batch.created_at, batch.heartbeat_at) == (T0, T0 + dt.timedelta(minutes=1))
    assert batch.shown_status(T0 + dt.timedelta(minutes=1) + stale, stale) == "running"
    assert jobs.interrupted_imports(app) == "0 interrupted imports marked"

    later = batch.heartbeat_at + stale + dt.timedelta(seconds=1)
    clock.set_now(later)
    assert batch.shown_status(later, stale) == "interrupted"
    assert jobs.interrupted_imports(app) == "1 interrupted imports marked"
    marked = _batch(db)
    assert (marked.status, marked.heartbeat_at, marked.read) == ("interrupted", T0 + dt.timedelta(minutes=1), 20)


def test_resume_imports_every_record_once(db: Database, central: int, tmp_path: Path) -> None:
    data = _file(tmp_path / "a.mrc")
    batch = _killed_after_two_batches(db, tmp_path / "a.mrc")
    stale = dt.timedelta(minutes=10)
    with db.transaction() as session, pytest.raises(ImportNotResumable):  # not silent long enough yet
        claim_resume(session, batch.id, now=batch.heartbeat_at + stale / 2, stale_after=stale)
    resumed_at = batch.heartbeat_at + 2 * stale
    clock.set_now(resumed_at)
    with db.transaction() as session:  # pending/running and silent: resumable before the clean-up ran
        claimed = claim_resume(session, batch.id, now=resumed_at, stale_after=stale)
        assert (claimed.status, claimed.attempt) == ("running", 2)
    summary = run_batch(db, batch.id, data, batch_size=10, resume=True)
    assert (summary.read, summary.imported, summary.updated) == (25, 25, 0)
    assert _records(db) == [f"K{i}" for i in range(25)]  # each once, none twice
    done = _batch(db)
    assert (done.status, done.read, done.imported, done.attempt, done.heartbeat_at) == (
        "done", 25, 25, 2, resumed_at)
    with db.transaction() as session, pytest.raises(ImportNotResumable):  # finished: nothing to resume
        claim_resume(session, batch.id, now=resumed_at + 2 * stale, stale_after=stale)


def test_rerun_of_the_whole_file_is_not_idempotent_without_a_match(db: Database, central: int,
                                                                   tmp_path: Path) -> None:
    """Why interrupted imports are resumed rather than re-run: with match "none" a re-run adds
    the 20 committed records again (with match "isbn" or "control-number" it updates them)."""
    path = tmp_path / "a.mrc"
    _file(path)
    _killed_after_two_batches(db, path)
    import_file(db, path, match="none", batch_size=10)
    assert len(_records(db)) == 45


def test_an_attempt_taken_over_writes_nothing_more(db: Database, central: int, tmp_path: Path) -> None:
    """A process that was slow, not dead: its import was marked interrupted and resumed by
    another attempt. Its next batch rolls back (ImportSuperseded) and no record is doubled."""
    data = _file(tmp_path / "a.mrc")
    stale = dt.timedelta(minutes=10)
    calls: list[int] = []

    def slow_then_superseded(done: int) -> None:
        calls.append(done)
        if len(calls) == 1:  # while this attempt pauses, another one takes the import over and ends it
            clock.set_now(T0 + 2 * stale)
            batch = _batch(db)
            with db.transaction() as session:
                assert mark_interrupted_imports(session, now=clock.now(), stale_after=stale) == 1
            with db.transaction() as session:
                claim_resume(session, batch.id, now=clock.now(), stale_after=stale)
            assert run_batch(db, batch.id, data, batch_size=10, resume=True).read == 25

    clock.set_now(T0)
    with db.transaction() as session:
        batch_id = create_batch(session, filename="a.mrc", match="none", now=T0, branch_id=central).id
    with pytest.raises(ImportSuperseded):
        run_batch(db, batch_id, data, batch_size=10, progress=slow_then_superseded)
    assert _records(db) == [f"K{i}" for i in range(25)]
    done = _batch(db)
    assert (done.status, done.read, done.attempt) == ("done", 25, 2)


def test_a_slow_import_marked_interrupted_carries_on(db: Database, central: int, tmp_path: Path) -> None:
    """Marked interrupted but not resumed: its next commit shows it alive and it finishes."""
    data = _file(tmp_path / "a.mrc")
    stale = dt.timedelta(minutes=10)

    def marked_while_slow(done: int) -> None:
        if done < len(data):
            clock.set_now(clock.now() + 2 * stale)
            with db.transaction() as session:
                mark_interrupted_imports(session, now=clock.now(), stale_after=stale)
            assert _batch(db).status == "interrupted"

    clock.set_now(T0)
    with db.transaction() as session:
        batch_id = create_batch(session, filename="a.mrc", match="none", now=T0, branch_id=central).id
    assert run_batch(db, batch_id, data, batch_size=10, progress=marked_while_slow).imported == 25
    assert (_batch(db).status, len(_records(db))) == ("done", 25)


def _interrupted_upload(app: Flask, db: Database, central: int) -> tuple[int, Path]:
    """An upload whose web process died after committing 10 of 25 records; its file is still in
    the imports folder, as the dead process left it."""
    folder = Path(app.config["LIBRARY_DATA_DIR"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "1-up.mrc"
    data = _file(path)
    clock.set_now(T0)
    with db.transaction() as session:
        batch_id = create_batch(session, filename="up.mrc", match="none", now=T0, branch_id=central,
                                source="upload", path=str(path), total_bytes=len(data)).id

    def die(_done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(db, batch_id, data, batch_size=10, progress=die)
    clock.set_now(T0 + jobs.import_stale_after(app) + dt.timedelta(minutes=1))
    return batch_id, path


def test_upload_page_shows_the_interrupted_import_and_resumes_it(app: Flask, client: FlaskClient, staff_login: Any,
                                                                 db: Database, central: int) -> None:
    batch_id, path = _interrupted_upload(app, db, central)
    staff_login("cataloguer")
    assert client.get(f"/staff/catalog/import/{batch_id}/status.json").get_json()["status"] == "interrupted"
    page = client.get(f"/staff/catalog/import/{batch_id}").get_data(as_text=True)
    assert "中断" in page and "最后心跳 2026-05-04 10:00:00" in page and "从中断处继续导入" in page
    assert "中断" in client.get("/staff/catalog/import").get_data(as_text=True)

    response = client.post(f"/staff/catalog/import/{batch_id}/resume")
    assert response.status_code == 302
    app.extensions["catalog.import_threads"][batch_id].join(timeout=60)
    status = client.get(f"/staff/catalog/import/{batch_id}/status.json").get_json()
    assert (status["status"], status["read"], status["imported"]) == ("done", 25, 25)
    assert _records(db) == [f"K{i}" for i in range(25)]
    assert not path.exists()  # the upload is deleted once the import has ended
    again = client.post(f"/staff/catalog/import/{batch_id}/resume", follow_redirects=True)
    assert "不能继续" in again.get_data(as_text=True) or "已不在服务器上" in again.get_data(as_text=True)
    assert _records(db) == [f"K{i}" for i in range(25)]


def test_an_interrupted_upload_without_its_file_cannot_be_resumed(app: Flask, client: FlaskClient,
                                                                  staff_login: Any, db: Database,
                                                                  central: int) -> None:
    batch_id, path = _interrupted_upload(app, db, central)
    path.unlink()
    staff_login("cataloguer")
    page = client.get(f"/staff/catalog/import/{batch_id}").get_data(as_text=True)
    assert "中断" in page and "从中断处继续导入" not in page and "重新上传" in page
    page = client.post(f"/staff/catalog/import/{batch_id}/resume", follow_redirects=True).get_data(as_text=True)
    assert "已不在服务器上" in page
    assert _batch(db).status in ("running", "interrupted") and len(_records(db)) == 10


KILLED_IMPORT = textwrap.dedent("""
    import os, sys, time
    from catalog.importer import run_batch
    from library.db import Database

    def stall(done):  # after the first committed batch the process hangs until it is killed
        print("batch committed", flush=True)
        time.sleep(3600)

    db = Database(os.environ["LIBRARY_DATABASE_URL"])
    run_batch(db, int(sys.argv[1]), open(sys.argv[2], "rb").read(), batch_size=10, progress=stall)
""")


def test_an_import_killed_with_sigkill_is_resumed(app: Flask, db: Database, central: int, database_url: str,
                                                  tmp_path: Path) -> None:
    """A real process imports and is killed with SIGKILL after its first batch: the import stays
    running with 10 records, goes stale, and a resume brings in the other 15, once each."""
    path = tmp_path / "a.mrc"
    data = _file(path)
    with db.transaction() as session:
        batch_id = create_batch(session, filename="a.mrc", match="none", now=clock.now(), branch_id=central,
                                source="upload", path=str(path), total_bytes=len(data)).id
    env = dict(os.environ, LIBRARY_DATABASE_URL=database_url, PYTHONPATH=str(PROJECT_ROOT))
    proc = subprocess.Popen([sys.executable, "-c", KILLED_IMPORT, str(batch_id), str(path)], cwd=PROJECT_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: _batch(db).read == 10, timeout=120)
    finally:
        proc.send_signal(signal.SIGKILL)
        output = proc.communicate(timeout=30)[0]
    assert "batch committed" in output
    left = _batch(db)
    assert (left.status, left.read, len(_records(db))) == ("running", 10, 10)
    stale = dt.timedelta(minutes=10)
    later = left.heartbeat_at + stale + dt.timedelta(seconds=1)
    assert left.shown_status(later, stale) == "interrupted"
    with db.transaction() as session:
        assert mark_interrupted_imports(session, now=later, stale_after=stale) == 1
    with db.transaction() as session:
        claim_resume(session, batch_id, now=later, stale_after=stale)
    summary = run_batch(db, batch_id, data, batch_size=10, resume=True)
    assert (summary.read, summary.imported) == (25, 25)
    assert _records(db) == [f"K{i}" for i in range(25)]
