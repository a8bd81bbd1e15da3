"""The scheduler: one leader per database, each job run once (two real ``library scheduler``
processes), a missed run after downtime runs once, run records, the admin page."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from library import clock, scheduler
from library.db import get_database
from library.registry import JobSpec
from library.scheduler_models import JobRun
from reading_points.campaigns import events
from tests.campaigns.factories import local, make_event, notices
from tests.factories import make_reader

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, step: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy (the tests assert on outcomes, never
    on how long they took; the timeout only stops a broken run from hanging)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not reached before the timeout")


def runs(app: Flask, job_id: str | None = None) -> list[JobRun]:
    with get_database(app).Session() as session:
        stmt = select(JobRun).order_by(JobRun.scheduled_run_time, JobRun.id)
        if job_id:
            stmt = stmt.where(JobRun.job_id == job_id)
        return list(session.scalars(stmt))


def test_claim_run_happens_once(app: Flask) -> None:
    at = dt.datetime(2026, 4, 23, 1, 0, tzinfo=dt.UTC)
    first = scheduler.claim_run(app, "x.job", at, runner="a")
    assert first is not None
    assert scheduler.claim_run(app, "x.job", at, runner="b") is None
    assert scheduler.claim_run(app, "x.job", at + dt.timedelta(seconds=1), runner="b") is not None


def test_execute_records_result_and_error(app: Flask) -> None:
    def ok(_app: Flask) -> str:
        return "done 3"

    def boom(_app: Flask) -> None:
        raise RuntimeError("disk full")

    at = dt.datetime(2026, 4, 23, 1, 0, tzinfo=dt.UTC)
    good = scheduler.execute(app, JobSpec("t.ok", ok, "interval", {"minutes": 1}), at, runner="t")
    bad = scheduler.execute(app, JobSpec("t.bad", boom, "interval", {"minutes": 1}), at, runner="t")
    assert good is not None and (good.status, good.result) == ("success", "done 3") and good.finished_at
    assert bad is not None and bad.status == "error" and "disk full" in bad.error
    assert scheduler.execute(app, JobSpec("t.ok", ok, "interval", {"minutes": 1}), at, runner="t") is None


def test_leader_lock_is_exclusive_and_taken_over(app: Flask, make_app: Callable[..., Flask]) -> None:
    other = make_app(LIBRARY_SCHEDULER_LEASE_SECONDS=0.5)
    app.config["LIBRARY_SCHEDULER_LEASE_SECONDS"] = 0.5
    a = scheduler.make_lock(app, "a")
    b = scheduler.make_lock(other, "b")
    try:
        assert a.acquire()
        assert not b.acquire()
        assert a.still_held()
        if isinstance(a, scheduler.AdvisoryLock):
            a._drop()  # the leader's connection dies with its process
        else:
            time.sleep(0.6)  # the leader stops renewing: its lease runs out
        assert wait_until(b.acquire, timeout=10)
        assert not a.still_held()
    finally:
        b.release()
        a.release()


def _scheduler_process(url: str, data_dir: Path, holder: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.update({
        "LIBRARY_DATABASE_URL": url,
        "LIBRARY_DATA_DIR": str(data_dir),
        "LIBRARY_SECRET_KEY": "test",
        "LIBRARY_SCHEDULER_HEARTBEAT_SECONDS": "1",
        "LIBRARY_SCHEDULER_LEASE_SECONDS": "6",
        "LIBRARY_SCHEDULER_POLL_SECONDS": "0.5",
        "PYTHONPATH": str(PROJECT_ROOT),
    })
    return subprocess.Popen(
        [sys.executable, "-c", "from library.cli import main; main()", "scheduler", "--holder", holder],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_scheduler_processes_run_each_job_once(app: Flask, database_url: str, tmp_path: Path) -> None:
    """Two ``library scheduler`` processes on one database: only the leader runs jobs; when it
    is killed the standby takes over; every (job, scheduled time) ran exactly once."""
    procs = {h: _scheduler_process(database_url, tmp_path / h, h) for h in ("alpha", "beta")}
    outputs: dict[str, str] = {}
    try:
        heartbeats = wait_until(lambda: len(r := runs(app, scheduler.HEARTBEAT_JOB_ID)) >= 3 and r, timeout=120)
        # (On a starved machine a leader that cannot renew its lease in time is replaced: that
        # is a correct hand-over, so the leader is whoever ran the latest run.)
        leader = heartbeats[-1].runner
        standby = "beta" if leader == "alpha" else "alpha"
        procs[leader].send_signal(signal.SIGKILL)
        procs[leader].wait(10)
        wait_until(lambda: sum(r.runner == standby for r in runs(app, scheduler.HEARTBEAT_JOB_ID)) >= 2, timeout=120)
    finally:
        for name, p in procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                outputs[name] = p.communicate(timeout=20)[0]
            except subprocess.TimeoutExpired:
                p.kill()
                outputs[name] = p.communicate()[0]
    all_runs = runs(app, scheduler.HEARTBEAT_JOB_ID)
    # Each run of the job is one row, finished successfully, by one process.
    assert all(r.status == "success" for r in all_runs if r.finished_at)
    by_holder = Counter(r.runner for r in all_runs)
    assert set(by_holder) == {leader, standby}
    # The runs never interleave between processes more than the hand-overs require.
    switches = sum(1 for a, b in zip(all_runs, all_runs[1:], strict=False) if a.runner != b.runner)
    assert switches <= 3, [r.runner for r in all_runs]
    # What the processes themselves say they ran: no (job, time) started twice anywhere.
    started = re.findall(r"job (\S+) run at (\S+) started by (\S+)", outputs["alpha"] + outputs["beta"])
    counts = Counter((job, at) for job, at, _ in started)
    assert counts and max(counts.values()) == 1, counts
    heartbeat_starts = {at for job, at, _ in started if job == scheduler.HEARTBEAT_JOB_ID}
    assert len(heartbeat_starts) == len(all_runs)
    assert "stopped" in outputs[standby]


def test_restart_after_downtime_sends_missed_reminder_once(app: Flask) -> None:
    """The embedded scheduler (what ``library serve`` starts) stops; the reminder job falls due
    while it is down; after the restart the missed run happens once and the reminder goes out
    once, to the registered reader only."""
    start = local(2026, 4, 23, 14, 30)
    db = get_database(app)
    with db.transaction() as session:
        sid = make_event(session, starts_at=start, capacity=1).sessions[0].id
        registered, waiting = make_reader(session), make_reader(session)
        for r in (registered, waiting):
            events.register(session, session_id=sid, reader=r, now=start - dt.timedelta(days=3))
        registered_id = registered.id
    app.config["LIBRARY_SCHEDULER_POLL_SECONDS"] = 0.2
    starter = app.extensions["library.start_embedded_scheduler"]

    runner = starter(app)
    wait_until(lambda: runner.scheduler is not None and runner.scheduler.get_job("campaigns.reminders"))
    runner.stop()
    assert runner.scheduler is None and not runner.is_leader

    # Downtime: the 5-minute reminder run fell due while no scheduler was up.
    missed = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=3)
    store = scheduler.job_store(app)
    store.start(BackgroundScheduler(timezone="Asia/Shanghai"), "default")
    job = store.lookup_job("campaigns.reminders")
    assert job is not None
    job._modify(next_run_time=missed)
    store.update_job(job)
    store.shutdown()

    with clock.frozen(start - dt.timedelta(hours=2)):
        runner = starter(app)
        try:
            done = wait_until(lambda: [r for r in runs(app, "campaigns.reminders") if r.finished_at])
        finally:
            runner.stop()
        assert [(r.scheduled_run_time, r.status, r.result) for r in done] == [(missed, "success", "reminders queued 1")]
        from reading_points.campaigns import jobs

        jobs.event_reminders(app)
    with db.transaction() as session:
        assert [n.reader_id for n in notices(session, "event_reminder")] == [registered_id]


def test_admin_page_lists_jobs_and_runs_one_now(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    staff_login("admin")
    page = client.get("/admin/scheduler/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for job_id in ("campaigns.states", "campaigns.reminders", "campaigns.no_shows", scheduler.HEARTBEAT_JOB_ID):
        assert job_id in html
    response = client.post("/admin/scheduler/campaigns.states/run")
    assert response.status_code == 302
    assert [(r.job_id, r.manual, r.status) for r in runs(app)] == [("campaigns.states", True, "success")]
    assert "opened 0, closed 0" in client.get("/admin/scheduler/").get_data(as_text=True)
    assert client.post("/admin/scheduler/no.such.job/run").status_code == 404


def test_admin_page_needs_admin(client: FlaskClient, staff_login: Any) -> None:
    staff_login("organiser")
    assert client.get("/admin/scheduler/").status_code == 403


def test_heartbeat_prunes_old_runs(app: Flask) -> None:
    old = scheduler.wall_now() - dt.timedelta(days=scheduler.RUN_HISTORY_DAYS + 1)
    recent = scheduler.wall_now() - dt.timedelta(days=1)
    for at in (old, recent):
        run_id = scheduler.claim_run(app, "x.job", at, runner="t")
        assert run_id is not None
        with get_database(app).transaction() as session:
            run = session.get(JobRun, run_id)
            assert run is not None
            run.started_at, run.status = at, "success"
    assert scheduler.heartbeat(app).endswith("pruned 1 old runs")
    assert [r.scheduled_run_time for r in runs(app, "x.job")] == [recent]
