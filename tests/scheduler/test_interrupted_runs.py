"""Job runs whose process died: a running run renews its heartbeat; one not heard from within the
stale threshold is shown as interrupted (中断) with when it was last seen, the heartbeat job
marks it so in the database, and "run now" runs the job again."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from library import scheduler
from library.db import get_database
from library.registry import JobSpec
from library.scheduler_models import JobRun
from tests.scheduler.test_scheduler import PROJECT_ROOT, runs, wait_until


def _run(app: Flask, run_id: int) -> JobRun:
    with get_database(app).Session() as session:
        run = session.get(JobRun, run_id)
        assert run is not None
        return run


def _claim(app: Flask, job_id: str, *, last_seen: dt.datetime) -> int:
    """A run left "running" by a process that was last seen at ``last_seen``."""
    run_id = scheduler.claim_run(app, job_id, last_seen, runner="gone:1")
    assert run_id is not None
    with get_database(app).transaction() as session:
        session.execute(update(JobRun).where(JobRun.id == run_id).values(started_at=last_seen, heartbeat_at=last_seen))
    return run_id


def test_a_running_job_renews_its_heartbeat(app: Flask) -> None:
    app.config["LIBRARY_SCHEDULER_RUN_HEARTBEAT_SECONDS"] = 0.05
    seen: list[JobRun] = []

    def slow(_app: Flask) -> str:
        # The job itself writes nothing: the heartbeat comes from the run's own thread.
        mine = wait_until(lambda: [r for r in runs(app, "t.slow") if r.heartbeat_at > r.started_at])
        seen.extend(mine)
        return "done"

    at = dt.datetime(2026, 4, 23, 1, 0, tzinfo=dt.UTC)
    record = scheduler.execute(app, JobSpec("t.slow", slow, "interval", {"minutes": 1}), at, runner="t")
    assert record is not None and record.status == "success"
    assert seen and seen[0].status == "running"
    assert record.heartbeat_at == record.finished_at  # seen alive until it finished


def test_a_silent_run_is_shown_and_marked_interrupted(app: Flask) -> None:
    now = scheduler.wall_now()
    stale = scheduler.stale_after(app)
    dead = _claim(app, "x.dead", last_seen=now - 2 * stale)
    alive = _claim(app, "x.alive", last_seen=now - stale / 2)
    assert _run(app, dead).shown_status(now, stale) == "interrupted"
    assert _run(app, alive).shown_status(now, stale) == "running"

    assert "1 interrupted runs marked" in scheduler.heartbeat(app)
    assert (_run(app, dead).status, _run(app, dead).heartbeat_at) == ("interrupted", now - 2 * stale)
    assert _run(app, alive).status == "running"
    assert "0 interrupted runs marked" in scheduler.heartbeat(app)


def test_a_late_heartbeat_brings_a_run_back(app: Flask) -> None:
    """Marked interrupted while its process was merely slow: the next beat shows it alive."""
    now = scheduler.wall_now()
    run_id = _claim(app, "x.slow", last_seen=now - 2 * scheduler.stale_after(app))
    with get_database(app).transaction() as session:
        assert scheduler.mark_interrupted_runs(session, now=now, stale_after=scheduler.stale_after(app)) == 1
    assert scheduler.beat(app, run_id)
    assert _run(app, run_id).status == "running"
    scheduler.finish_run(app, run_id, status="success")
    assert not scheduler.beat(app, run_id)
    assert _run(app, run_id).status == "success"


def test_admin_page_shows_the_interrupted_run_and_runs_the_job_again(app: Flask, client: FlaskClient,
                                                                     staff_login: Any) -> None:
    last_seen = scheduler.wall_now() - 3 * scheduler.stale_after(app)
    _claim(app, "campaigns.states", last_seen=last_seen)
    staff_login("admin")
    html = client.get("/admin/scheduler/").get_data(as_text=True)
    assert "中断" in html and "最后心跳" in html
    assert scheduler.job_overview(app)[[j["id"] for j in scheduler.job_overview(app)].index(
        "campaigns.states")]["last_status"] == "interrupted"
    assert client.post("/admin/scheduler/campaigns.states/run").status_code == 302
    assert [r.status for r in runs(app, "campaigns.states")] == ["running", "success"]  # claimed times differ
    overview = {j["id"]: j for j in scheduler.job_overview(app)}
    assert overview["campaigns.states"]["last_status"] == "success"


KILLED_JOB = textwrap.dedent("""
    import os, sys, time
    from library import scheduler
    from library.app import create_app
    from library.registry import JobSpec

    app = create_app({"LIBRARY_DATABASE_URL": os.environ["LIBRARY_DATABASE_URL"],
                      "LIBRARY_DATA_DIR": os.environ["LIBRARY_DATA_DIR"], "SECRET_KEY": "test",
                      "LIBRARY_SCHEDULER_RUN_HEARTBEAT_SECONDS": 0.1})

    def forever(_app):
        print("job started", flush=True)
        while True:
            time.sleep(1)

    scheduler.execute(app, JobSpec("t.forever", forever, "interval", {"minutes": 1}), scheduler.wall_now(),
                      runner="victim")
""")


def test_a_killed_process_leaves_a_run_that_goes_stale(app: Flask, database_url: str, tmp_path: Path) -> None:
    """A real process runs a job and is killed with SIGKILL in the middle of it: its run stays
    "running" with the last heartbeat it wrote, and the clean-up marks it interrupted."""
    env = dict(os.environ, LIBRARY_DATABASE_URL=database_url, LIBRARY_DATA_DIR=str(tmp_path / "victim"),
               PYTHONPATH=str(PROJECT_ROOT))
    proc = subprocess.Popen([sys.executable, "-c", KILLED_JOB], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Alive: it beats (a heartbeat later than the start).
        wait_until(lambda: [r for r in runs(app, "t.forever") if r.heartbeat_at > r.started_at], timeout=120)
        with get_database(app).transaction() as session:
            assert scheduler.mark_interrupted_runs(session, now=scheduler.wall_now(),
                                                   stale_after=scheduler.stale_after(app)) == 0
    finally:
        proc.send_signal(signal.SIGKILL)
        output = proc.communicate(timeout=30)[0]
    assert "job started" in output
    [run] = runs(app, "t.forever")
    assert (run.status, run.finished_at) == ("running", None)
    # Dead: nothing renews the heartbeat any more; with a one-second threshold it goes stale.
    short = dt.timedelta(seconds=1)

    def marked() -> int:
        with get_database(app).transaction() as session:
            return scheduler.mark_interrupted_runs(session, now=scheduler.wall_now(), stale_after=short)

    assert wait_until(marked, timeout=30) == 1
    [after] = runs(app, "t.forever")
    assert (after.status, after.finished_at) == ("interrupted", None)
    assert after.heartbeat_at == run.heartbeat_at and after.heartbeat_at > after.started_at
