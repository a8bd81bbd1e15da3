"""The scheduler: APScheduler 3 running every registered :class:`library.registry.JobSpec`.

- One ``BackgroundScheduler`` with a ``SQLAlchemyJobStore`` in the application's database and the
  library's time zone (Asia/Shanghai). Jobs get fixed ids, ``replace_existing=True``, a generous
  ``misfire_grace_time``, ``coalesce=True`` and ``max_instances=1``. A job that is already in the
  store with the same trigger keeps its stored next run time, so a run missed while no
  scheduler was up still happens (once, coalesced) after a restart.
- Exactly one process runs jobs: the leader. On PostgreSQL it holds ``pg_try_advisory_lock`` on a
  dedicated connection (the lock dies with the process); on SQLite it holds a lease row
  (``scheduler_leases``) that it renews; a standby polls and takes over when the leader is gone.
- Every run is claimed in ``scheduler_job_runs`` (unique job id + scheduled time) before it
  starts and finished with its result or error, so a run happens once even if two processes
  ever both believed they led. Job functions are idempotent on top of that.
- Jobs run on the executor's threads; each job function opens its own session.
- A running run's process renews the run's ``heartbeat_at`` (a small thread, every
  ``LIBRARY_SCHEDULER_RUN_HEARTBEAT_SECONDS``). A process that dies (killed, out of memory,
  machine lost) stops renewing it: a run not heard from within
  ``LIBRARY_SCHEDULER_RUN_STALE_SECONDS`` is shown as interrupted at once and marked so in the
  database by the heartbeat job. Retrying it is the next scheduled run or "run now" (jobs are
  idempotent); the interrupted run's own (job, scheduled time) is not run again.
"""

from __future__ import annotations

import abc
import datetime as dt
import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import click
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import Engine, create_engine, delete, inspect, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from library.db import get_database, make_engine
from library.registry import JobSpec, jobs, register_job
from library.scheduler_models import JobRun, SchedulerLease

log = logging.getLogger("library.scheduler")

JOBSTORE_TABLE = "apscheduler_jobs"
LEASE_NAME = "scheduler"
ADVISORY_LOCK_KEY = 0x4C49425241525953  # "LIBRARYS" as a bigint: the scheduler leader lock
HEARTBEAT_JOB_ID = "scheduler.heartbeat"
# A running job renews its run's heartbeat this often; a run silent for RUN_STALE_SECONDS (ten
# missed beats) is interrupted. Both configurable (LIBRARY_SCHEDULER_RUN_*_SECONDS).
RUN_HEARTBEAT_SECONDS = 30.0
RUN_STALE_SECONDS = 300.0


def wall_now() -> dt.datetime:
    """Real time for leases and run records: APScheduler fires on the wall clock, and a lease
    must expire even while a test has frozen ``library.clock``."""
    return dt.datetime.now(dt.UTC)


def settings(app: Flask) -> dict[str, float]:
    return {
        "lease": float(app.config["LIBRARY_SCHEDULER_LEASE_SECONDS"]),
        "poll": float(app.config["LIBRARY_SCHEDULER_POLL_SECONDS"]),
        "grace": float(app.config["LIBRARY_SCHEDULER_MISFIRE_GRACE_SECONDS"]),
        "heartbeat": float(app.config["LIBRARY_SCHEDULER_HEARTBEAT_SECONDS"]),
        "run_heartbeat": float(app.config.get("LIBRARY_SCHEDULER_RUN_HEARTBEAT_SECONDS", RUN_HEARTBEAT_SECONDS)),
        "run_stale": float(app.config.get("LIBRARY_SCHEDULER_RUN_STALE_SECONDS", RUN_STALE_SECONDS)),
    }


def stale_after(app: Flask) -> dt.timedelta:
    """How long a running run may go without a heartbeat before it counts as interrupted."""
    return dt.timedelta(seconds=settings(app)["run_stale"])


# -- leader election ---------------------------------------------------------------------------


class LeaderLock(abc.ABC):
    """The interface of the two leader locks."""

    @abc.abstractmethod
    def acquire(self) -> bool: ...

    @abc.abstractmethod
    def still_held(self) -> bool: ...

    @abc.abstractmethod
    def release(self) -> None: ...


class AdvisoryLock(LeaderLock):
    """PostgreSQL: a session advisory lock held on a dedicated connection. If the process dies,
    PostgreSQL closes the connection and releases the lock; a standby gets it on its next try."""

    def __init__(self, engine: Engine, key: int = ADVISORY_LOCK_KEY) -> None:
        # Its own unpooled engine: closing the connection must really end the database session
        # (a pooled connection would go back to the pool still holding the lock).
        self.engine = create_engine(engine.url, poolclass=NullPool)
        self.key = key
        self.conn: Any = None

    def acquire(self) -> bool:
        if self.conn is None:
            self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(self.conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
        except Exception:
            self._drop()
            return False
        return got

    def still_held(self) -> bool:
        if self.conn is None:
            return False
        try:
            held = self.conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                     "AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = :k"),
                {"k": self.key},
            ).scalar()
        except Exception:
            self._drop()
            return False
        return bool(held)

    def release(self) -> None:
        if self.conn is not None:
            try:
                self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            except Exception:
                log.debug("advisory unlock failed; closing the connection releases it", exc_info=True)
            self._drop()

    def _drop(self) -> None:
        try:
            if self.conn is not None:
                self.conn.close()
        except Exception:
            log.debug("closing the advisory lock connection", exc_info=True)
        finally:
            self.conn = None


class LeaseLock(LeaderLock):
    """A lease row (SQLite, or any database without advisory locks): taken when absent, expired
    or already ours; renewed by the holder; a dead holder's lease runs out after ``lease``."""

    def __init__(self, app: Flask, holder: str, lease_seconds: float) -> None:
        self.db = get_database(app)
        self.holder = holder
        self.lease = dt.timedelta(seconds=lease_seconds)

    def acquire(self) -> bool:
        now = wall_now()
        try:
            with self.db.transaction() as session:
                row = session.get(SchedulerLease, LEASE_NAME)
                if row is None:
                    session.add(SchedulerLease(name=LEASE_NAME, holder=self.holder, acquired_at=now,
                                               heartbeat_at=now, expires_at=now + self.lease))
                    return True
                if row.holder == self.holder or row.expires_at <= now:
                    if row.holder != self.holder:
                        row.acquired_at = now
                    row.holder = self.holder
                    row.heartbeat_at = now
                    row.expires_at = now + self.lease
                    return True
                return False
        except SQLAlchemyError:
            # Another process inserted the row first, or the database is busy or gone: not ours.
            log.debug("lease not acquired", exc_info=True)
            return False

    def still_held(self) -> bool:
        """Renew the lease; False when another process holds it now."""
        return self.acquire()

    def release(self) -> None:
        try:
            with self.db.transaction() as session:
                session.execute(delete(SchedulerLease).where(SchedulerLease.name == LEASE_NAME,
                                                             SchedulerLease.holder == self.holder))
        except SQLAlchemyError:
            log.warning("could not release the scheduler lease; it expires by itself", exc_info=True)


def make_lock(app: Flask, holder: str) -> LeaderLock:
    db = get_database(app)
    if db.dialect == "postgresql":
        return AdvisoryLock(db.engine)
    return LeaseLock(app, holder, settings(app)["lease"])


# -- running one job ---------------------------------------------------------------------------


def claim_run(app: Flask, job_id: str, scheduled: dt.datetime, *, runner: str, manual: bool = False) -> int | None:
    """Insert the run record; ``None`` when this (job, scheduled time) was already claimed."""
    try:
        with get_database(app).transaction() as session:
            now = wall_now()
            run = JobRun(job_id=job_id, scheduled_run_time=scheduled, manual=manual, runner=runner,
                         started_at=now, heartbeat_at=now, status="running", result="", error="")
            session.add(run)
            session.flush()
            return run.id
    except IntegrityError:
        return None


def finish_run(app: Flask, run_id: int, *, status: str, result: str = "", error: str = "") -> None:
    now = wall_now()
    with get_database(app).transaction() as session:
        session.execute(update(JobRun).where(JobRun.id == run_id).values(
            status=status, result=result[:4000], error=error[-8000:], finished_at=now, heartbeat_at=now))


def beat(app: Flask, run_id: int) -> bool:
    """Renew the heartbeat of a run this process is running. A run already marked interrupted
    (its heartbeats were late, the process was not dead) is running again. False when the run
    is no longer running here (finished, or gone)."""
    with get_database(app).transaction() as session:
        done = session.execute(update(JobRun).where(JobRun.id == run_id, JobRun.status.in_(("running", "interrupted")))
                               .values(heartbeat_at=wall_now(), status="running"))
    return bool(getattr(done, "rowcount", 0))


class RunHeartbeat:
    """Renews a run's heartbeat on its own thread while the job runs (the job function itself
    knows nothing of it). It dies with the process, which is the point."""

    def __init__(self, app: Flask, run_id: int, interval: float) -> None:
        self.app, self.run_id, self.interval = app, run_id, interval
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"run-heartbeat-{run_id}", daemon=True)

    def _loop(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                if not beat(self.app, self.run_id):
                    return
            except SQLAlchemyError:  # a busy or unreachable database: try again at the next beat
                log.warning("heartbeat of job run %s not recorded", self.run_id, exc_info=True)

    def __enter__(self) -> RunHeartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        self.thread.join()


def mark_interrupted_runs(session: Session, *, now: dt.datetime, stale_after: dt.timedelta) -> int:
    """Mark "interrupted" every running run not heard from since ``now - stale_after`` (its
    process died); ``heartbeat_at`` keeps when it was last seen. Returns how many."""
    done = session.execute(update(JobRun).where(JobRun.status == "running", JobRun.heartbeat_at < now - stale_after)
                           .values(status="interrupted"))
    return int(getattr(done, "rowcount", 0) or 0)


def execute(app: Flask, spec: JobSpec, scheduled: dt.datetime, *, runner: str, manual: bool = False) -> JobRun | None:
    """Claim and run one scheduled run of ``spec``; returns the finished record, or ``None`` when
    another process (or an earlier attempt) already claimed that run."""
    run_id = claim_run(app, spec.id, scheduled, runner=runner, manual=manual)
    if run_id is None:
        log.info("job %s run at %s already claimed; skipped", spec.id, scheduled.isoformat())
        return None
    log.info("job %s run at %s started by %s", spec.id, scheduled.isoformat(), runner)
    try:
        with RunHeartbeat(app, run_id, settings(app)["run_heartbeat"]), app.app_context():
            value = spec.func(app)
    except Exception as exc:
        finish_run(app, run_id, status="error", error="".join(traceback.format_exception(exc)))
        log.exception("job %s failed", spec.id)
    else:
        finish_run(app, run_id, status="success", result="" if value is None else str(value))
    with get_database(app).transaction() as session:
        return session.get(JobRun, run_id)


def run_now(app: Flask, job_id: str, *, runner: str) -> JobRun | None:
    """Run a job at once (the admin's "run now"), recorded like a scheduled run."""
    spec = next((j for j in jobs(app) if j.id == job_id), None)
    if spec is None:
        raise KeyError(job_id)
    return execute(app, spec, wall_now(), runner=runner, manual=True)


def stored_job_target() -> None:
    """What the job store references: the recording executor runs the registered JobSpec by id
    instead, so the stored jobs never pickle the application."""


class RecordingExecutor(ThreadPoolExecutor):
    """A thread pool executor that claims each run in ``scheduler_job_runs`` and runs the
    registered JobSpec of that id with the application."""

    def __init__(self, runner: SchedulerRunner, max_workers: int = 4) -> None:
        super().__init__(max_workers)
        self.runner = runner

    def _do_submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        def callback(f: Any) -> None:
            exc = f.exception()
            if exc is not None:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, f.result())

        self._pool.submit(self._run, job, run_times).add_done_callback(callback)

    def _run(self, job: Any, run_times: list[dt.datetime]) -> list[JobExecutionEvent]:
        events = []
        for run_time in run_times:
            late = wall_now() - run_time
            if job.misfire_grace_time is not None and late > dt.timedelta(seconds=job.misfire_grace_time):
                events.append(JobExecutionEvent(EVENT_JOB_MISSED, job.id, job._jobstore_alias, run_time))
                continue
            spec = self.runner.spec(job.id)
            if spec is None:
                continue
            record = execute(self.runner.app, spec, run_time, runner=self.runner.holder)
            code = EVENT_JOB_ERROR if record is not None and record.status == "error" else EVENT_JOB_EXECUTED
            events.append(JobExecutionEvent(code, job.id, job._jobstore_alias, run_time,
                                            retval=record.result if record else None))
        return events


# -- the scheduler process ---------------------------------------------------------------------


class LibraryScheduler(BackgroundScheduler):
    """APScheduler's background scheduler, minus one race: its loop may process due jobs once
    more after ``shutdown()`` set the state to stopped, with the executor already closed, and
    so skip a run without running it. A stopped scheduler here processes nothing."""

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        wait: float | None = super()._process_jobs()
        return wait

    def stop_cleanly(self) -> None:
        """Pause, let a round that is under way finish, then shut down (waiting for running jobs)."""
        self.pause()
        with self._jobstores_lock:
            pass
        self.shutdown(wait=True)


def job_store(app: Flask) -> SQLAlchemyJobStore:
    """The job store on its own engine (APScheduler disposes the store's engine on shutdown)."""
    return SQLAlchemyJobStore(engine=make_engine(get_database(app).url), tablename=JOBSTORE_TABLE)


class SchedulerRunner:
    """Leader election plus the APScheduler instance. ``run()`` blocks (``library scheduler``);
    ``start_in_thread()`` is the embedded mode of ``library serve``. Stop with ``stop()``."""

    def __init__(self, app: Flask, *, holder: str | None = None) -> None:
        self.app = app
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lock = make_lock(app, self.holder)
        self.scheduler: LibraryScheduler | None = None
        self.stopping = threading.Event()
        self.is_leader = False
        self.thread: threading.Thread | None = None

    def spec(self, job_id: str) -> JobSpec | None:
        return next((j for j in jobs(self.app) if j.id == job_id), None)

    def _start_scheduler(self) -> None:
        cfg = settings(self.app)
        scheduler = LibraryScheduler(
            jobstores={"default": job_store(self.app)},
            executors={"default": RecordingExecutor(self)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(cfg["grace"])},
            timezone=self.app.config.get("LIBRARY_TIMEZONE", "Asia/Shanghai"),
        )
        scheduler.start(paused=True)
        wanted = {j.id for j in jobs(self.app)}
        for stored in scheduler.get_jobs():
            if stored.id not in wanted:
                stored.remove()
        for spec in jobs(self.app):
            existing = scheduler.get_job(spec.id)
            kwargs: dict[str, Any] = {}
            job = scheduler.add_job(stored_job_target, spec.trigger, id=spec.id, name=spec.id,
                                    replace_existing=True, **spec.trigger_args, **kwargs)
            if existing is not None and str(existing.trigger) == str(job.trigger) and existing.next_run_time:
                # Keep the run that fell due while no scheduler was up: it runs once (coalesced).
                job.modify(next_run_time=existing.next_run_time)
        scheduler.resume()
        self.scheduler = scheduler
        log.info("scheduler %s is the leader; %d jobs", self.holder, len(wanted))

    def _stop_scheduler(self) -> None:
        if self.scheduler is not None:
            try:
                self.scheduler.stop_cleanly()
            except Exception:
                log.debug("scheduler shutdown", exc_info=True)
            self.scheduler = None

    def step(self) -> None:
        """One round of the leader loop: become leader, stay leader, or step down."""
        if not self.is_leader:
            if self.lock.acquire():
                self.is_leader = True
                try:
                    self._start_scheduler()
                except Exception:
                    log.exception("scheduler failed to start; releasing the lock")
                    self._stop_scheduler()
                    self.lock.release()
                    self.is_leader = False
        elif not self.lock.still_held():
            log.warning("scheduler %s lost the leader lock; standing by", self.holder)
            self.is_leader = False
            self._stop_scheduler()
        elif self.scheduler is not None:
            self.scheduler.wakeup()  # pick up changes other processes made to the job store

    def run(self) -> None:
        poll = settings(self.app)["poll"]
        try:
            while not self.stopping.is_set():
                try:
                    self.step()
                except Exception:  # the loop outlives database hiccups; the lock decides who leads
                    log.exception("scheduler %s: leader check failed", self.holder)
                self.stopping.wait(poll)
        finally:
            self._stop_scheduler()
            if self.is_leader:
                self.lock.release()
                self.is_leader = False

    def start_in_thread(self) -> threading.Thread:
        self.thread = threading.Thread(target=self.run, name="library-scheduler", daemon=True)
        self.thread.start()
        return self.thread

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=30)


# -- what the admin page shows -----------------------------------------------------------------


def job_overview(app: Flask) -> list[dict[str, Any]]:
    """Each registered job with its trigger, next run (from the job store) and last run."""
    db = get_database(app)
    next_runs: dict[str, dt.datetime | None] = {}
    with db.engine.connect() as conn:
        if inspect(conn).has_table(JOBSTORE_TABLE):
            for job_id, ts in conn.execute(text(f"SELECT id, next_run_time FROM {JOBSTORE_TABLE}")):
                next_runs[job_id] = dt.datetime.fromtimestamp(ts, dt.UTC) if ts is not None else None
    rows = []
    now, stale = wall_now(), stale_after(app)
    with db.Session() as session:
        for spec in sorted(jobs(app), key=lambda j: j.id):
            last = session.scalar(select(JobRun).where(JobRun.job_id == spec.id)
                                  .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1))
            rows.append({
                "id": spec.id,
                "description": spec.description,
                "trigger": f"{spec.trigger} " + ", ".join(f"{k}={v}" for k, v in spec.trigger_args.items()),
                "next_run": next_runs.get(spec.id),
                "scheduled": spec.id in next_runs,
                "last": last,
                "last_status": last.shown_status(now, stale) if last is not None else None,
            })
    return rows


def leader_info(app: Flask) -> dict[str, Any]:
    """Who leads (SQLite lease) or whether the advisory lock is held (PostgreSQL)."""
    db = get_database(app)
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            held = conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                     "AND ((classid::bigint << 32) | objid::bigint) = :k"), {"k": ADVISORY_LOCK_KEY}).scalar()
        return {"held": bool(held), "holder": None, "expires_at": None}
    with db.Session() as session:
        row = session.get(SchedulerLease, LEASE_NAME)
        if row is None:
            return {"held": False, "holder": None, "expires_at": None}
        return {"held": row.expires_at > wall_now(), "holder": row.holder, "expires_at": row.expires_at}


# -- wiring ------------------------------------------------------------------------------------


RUN_HISTORY_DAYS = 60


def heartbeat(app: Flask) -> str:
    """Proves the scheduler runs (its last run shows on the admin page), marks the runs whose
    process died as interrupted and keeps the run history to the last ``RUN_HISTORY_DAYS`` days."""
    now = wall_now()
    cutoff = now - dt.timedelta(days=RUN_HISTORY_DAYS)
    with get_database(app).transaction() as session:
        interrupted = mark_interrupted_runs(session, now=now, stale_after=stale_after(app))
        pruned = session.execute(delete(JobRun).where(JobRun.started_at < cutoff, JobRun.status != "running"))
    return (f"alive {now.isoformat(timespec='seconds')}; {interrupted} interrupted runs marked; "
            f"pruned {getattr(pruned, 'rowcount', 0)} old runs")


def start_embedded(app: Flask) -> SchedulerRunner:
    """``library serve``: run the scheduler in this process, as leader or standby."""
    runner = SchedulerRunner(app)
    runner.start_in_thread()
    app.extensions["library.scheduler_runner"] = runner
    return runner


@click.command("scheduler")
@click.option("--holder", default=None, help="Name of this process in the job-run records (default host:pid).")
@with_appcontext
def scheduler_command(holder: str | None) -> None:
    """Run the scheduled jobs (one leader per database; others wait as standby)."""
    import signal

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    runner = SchedulerRunner(app, holder=holder)

    def _stop(_signum: int, _frame: Any) -> None:
        runner.stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"scheduler {runner.holder}: {len(jobs(app))} jobs; waiting for the leader lock")
    runner.run()
    click.echo(f"scheduler {runner.holder}: stopped")


def init_app(app: Flask, *, starter: Callable[[Flask], Any] | None = None) -> None:
    """Add the ``library scheduler`` command, the embedded starter and the heartbeat job."""
    env = os.environ
    app.config.setdefault("LIBRARY_SCHEDULER_LEASE_SECONDS", float(env.get("LIBRARY_SCHEDULER_LEASE_SECONDS", 30)))
    app.config.setdefault("LIBRARY_SCHEDULER_POLL_SECONDS", float(env.get("LIBRARY_SCHEDULER_POLL_SECONDS", 5)))
    app.config.setdefault("LIBRARY_SCHEDULER_MISFIRE_GRACE_SECONDS",
                          float(env.get("LIBRARY_SCHEDULER_MISFIRE_GRACE_SECONDS", 7 * 86400)))
    app.config.setdefault("LIBRARY_SCHEDULER_HEARTBEAT_SECONDS",
                          float(env.get("LIBRARY_SCHEDULER_HEARTBEAT_SECONDS", 300)))
    app.config.setdefault("LIBRARY_SCHEDULER_RUN_HEARTBEAT_SECONDS",
                          float(env.get("LIBRARY_SCHEDULER_RUN_HEARTBEAT_SECONDS", RUN_HEARTBEAT_SECONDS)))
    app.config.setdefault("LIBRARY_SCHEDULER_RUN_STALE_SECONDS",
                          float(env.get("LIBRARY_SCHEDULER_RUN_STALE_SECONDS", RUN_STALE_SECONDS)))
    app.cli.add_command(scheduler_command)
    app.extensions["library.start_embedded_scheduler"] = starter or start_embedded
    register_job(app, JobSpec(HEARTBEAT_JOB_ID, heartbeat, "interval",
                              {"seconds": settings(app)["heartbeat"]},
                              description="scheduler heartbeat"))
