"""Benchmark: checkouts and check-ins through the circulation service layer with 1, 4 and 16
concurrent workers (threads, each with its own session and one transaction per operation; with
``--processes``, one worker process each, as web server processes; with ``--processes N``, N
processes sharing the workers as threads, as N waitress processes of a few threads), on SQLite (default: a
temporary file) or PostgreSQL (``--database-url``; a scratch database is created and dropped).
The points handlers run inside every transaction, as in production. Each worker first checks out
and returns a few copies untimed (``--warmup``), as a server process that has been running.

Each level gets fresh readers and copies; on PostgreSQL the database is vacuumed (ANALYZE) and
checkpointed before each level, as pgbench vacuums its tables before it measures.

Prints throughput and p50/p95 latency. On PostgreSQL it also runs ``pgbench`` (TPC-B-like default
script, as many clients as the largest level) against a scratch database of the same server, in
the same run, as the reference, and then reads the 16-worker level twice:

- closed loop: every worker starts its next operation as soon as the last one ends (the most the
  service can do: with more workers than cores, latency is mostly waiting for a core);
- paced: the 16 workers together start operations at 10% of the pgbench rate, evenly spread (16
  counters each serving a reader every few seconds at a rush), and the latency at that load.

    .venv/bin/python bench/circulation.py
    .venv/bin/python bench/circulation.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres --processes
    .venv/bin/python bench/circulation.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres --processes 4

Targets (PostgreSQL, 16 workers): checkout p95 < 25 ms at a throughput >= 10% of pgbench tps.
Read the figures with the load average printed beside them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench._common import load, machine_line, scratch_database  # noqa: E402
from library import migrate  # noqa: E402

migrate.import_all_models()

from catalog.models import BibRecord, Item  # noqa: E402
from catalog.seeds import seed_item_types  # noqa: E402
from circulation.hooks import register_loan_quota_provider  # noqa: E402
from circulation.rules import seed_rules  # noqa: E402
from circulation.services import checkin, checkout  # noqa: E402
from library import clock  # noqa: E402
from library.db import Database  # noqa: E402
from library.models import Branch, OpeningHours  # noqa: E402
from library.seeds import seed_reader_categories  # noqa: E402
from library.services import create_branch, create_reader, get_branch_by_code  # noqa: E402
from reading_points.points import handlers as points_handlers  # noqa: E402
from reading_points.points import services as points_services  # noqa: E402

# As in production (reading_points.points.init_app): the points handlers run inside every
# checkout/return transaction, and extra-loans rewards raise the loan limit.
points_handlers.connect()
register_loan_quota_provider(points_services.extra_loan_quota)


BRANCH_CODE = "BENCH"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[k]


def prepare(db: Database) -> int:
    """What every level shares: the seeded configuration and a branch open every day."""
    with db.transaction() as s:
        seed_reader_categories(s)
        seed_item_types(s)
        seed_rules(s)
        points_services.seed_points(s)
        branch = create_branch(s, code=BRANCH_CODE, name="压测馆", kind="central")
        for wd in range(7):
            branch.opening_hours.append(OpeningHours(weekday=wd, opens=dt.time(8), closes=dt.time(20)))
        s.flush()
        return branch.id


def _one(db: Database, kind: str, branch_code: str, card: str, barcode: str, return_after: dt.timedelta) -> None:
    with db.transaction() as s:
        branch = get_branch_by_code(s, branch_code)  # as the JSON API loads the counter's branch
        if kind == "checkout":
            checkout(s, item_barcode=barcode, card_number=card, branch=branch, now=clock.now())
        else:  # returned weeks later, on time (the usual return: the points handler gives its bonus)
            checkin(s, item_barcode=barcode, branch=branch, now=clock.now() + return_after)


def _work(db: Database, kind: str, branch_code: str, cards: list[str], codes: list[str], interval: float,
          offset: float, warm: list[str], return_after: dt.timedelta, per_reader: int, *, wait: Any) -> tuple[list[float], list[str], float, float, float]:
    """One worker: first, untimed, a warm-up (checkout and return of its ``warm`` copies: a
    server process runs many requests, its first ones compile statements and fill caches), then
    its operations, one transaction each (paced every ``interval`` s if set). Returns the
    latencies (ms), the errors, the CPU seconds this thread spent on the timed operations, and
    when they started and ended (``perf_counter``: one monotonic clock for every process)."""
    mine: list[float] = []
    errors: list[str] = []
    for bc in warm:
        _one(db, "checkout", branch_code, cards[-1], bc, return_after)
        _one(db, "checkin", branch_code, cards[-1], bc, return_after)
    wait()
    cpu = time.thread_time()
    began = time.perf_counter()
    next_start = began + offset
    for n, bc in enumerate(codes):
        card = cards[n // per_reader % len(cards)]  # each reader borrows a few books
        if interval:
            delay = next_start - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            next_start += interval
        t0 = time.perf_counter()
        try:
            _one(db, kind, branch_code, card, bc, return_after)
        except Exception as exc:  # a benchmark reports, it does not stop
            errors.append(f"{kind} {bc}: {exc!r}")
        mine.append((time.perf_counter() - t0) * 1000)
    return mine, errors, time.thread_time() - cpu, began, time.perf_counter()


_proc: dict[str, Any] = {}


def _proc_init(url: str, barrier: Any) -> None:
    _proc["db"] = Database(url)
    _proc["barrier"] = barrier


Job = tuple[str, str, list[str], list[str], float, float, list[str], dt.timedelta, int]
Done = tuple[list[float], list[str], float, float, float]


def _proc_work(jobs: list[Job]) -> list[Done]:
    """One worker process: its workers, one thread each (a web server process with threads)."""
    if len(jobs) == 1:
        return [_work(_proc["db"], *jobs[0], wait=_proc["barrier"].wait)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as tpool:
        return list(tpool.map(lambda j: _work(_proc["db"], *j, wait=_proc["barrier"].wait), jobs))


def run_level(db: Database, branch_code: str, cards: list[list[str]], barcodes: list[list[str]], workers: int,
              rate: float | None = None, processes: int = 0, warm: list[list[str]] | None = None,
              return_after: dt.timedelta = dt.timedelta(days=14), per_reader: int = 5) -> dict[str, Any]:
    """``workers`` threads of this process (or, ``processes`` > 0, spread over that many worker
    processes, as threads of each: how web server processes and their threads scale the web
    tier; -1: one process per worker) each check out then check in their own copies: as fast as
    they can, or (``rate``) paced so that all workers together start ``rate`` operations per
    second."""
    results: dict[str, list[float]] = {"checkout": [], "checkin": []}
    errors: list[str] = []
    cpu_ms: dict[str, float] = {}
    interval = workers / rate if rate else 0.0

    def phase(kind: str, pool: Any = None) -> float:
        jobs = [(kind, branch_code, cards[w], barcodes[w], interval, w * interval / workers,
                 warm[w] if warm and kind == "checkout" else [], return_after, per_reader) for w in range(workers)]
        if pool is not None:
            groups = [jobs[i::nproc] for i in range(nproc)]
            done = [d for group in pool.map(_proc_work, groups, chunksize=1) for d in group]
        else:
            barrier = threading.Barrier(workers)
            with ThreadPoolExecutor(max_workers=workers) as tpool:
                done = list(tpool.map(lambda j: _work(db, *j, wait=barrier.wait), jobs))
        for lat, errs, _cpu, _began, _ended in done:
            results[kind].extend(lat)
            errors.extend(errs)
        cpu_ms[kind] = sum(d[2] for d in done) * 1000
        return max(d[4] for d in done) - min(d[3] for d in done)  # from the barrier to the last one done

    out: dict[str, Any] = {"workers": workers}
    pool = None
    nproc = workers if processes < 0 else min(processes, workers)
    if processes:
        db.engine.dispose()  # no pooled connection is inherited by the forked workers
        ctx = multiprocessing.get_context("fork")
        pool = ctx.Pool(nproc, initializer=_proc_init, initargs=(db.url, ctx.Barrier(workers)))
    try:
        for kind in ("checkout", "checkin"):
            wall = phase(kind, pool)
            lat = results[kind]
            out[kind] = {"ops": len(lat), "tps": len(lat) / wall if wall else 0.0, "p50": percentile(lat, 50),
                         "p90": percentile(lat, 90), "p95": percentile(lat, 95), "p99": percentile(lat, 99),
                         "max": max(lat) if lat else 0.0, "mean": statistics.fmean(lat) if lat else 0.0,
                         "cpu_ms": cpu_ms[kind] / len(lat) if lat else 0.0}
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    out["errors"] = errors[:5]
    out["error_count"] = len(errors)
    return out


def pgbench(server_url: str, *, clients: int, seconds: int) -> float | None:
    """TPC-B-like tps of pgbench on a scratch database of the same server (None if unavailable)."""
    exe = shutil.which("pgbench")
    if exe is None:
        return None
    url = make_url(server_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    with scratch_database(server_url, label="pgbench", migrate=False) as scratch:
        name = make_url(scratch).database or ""
        subprocess.run([exe, *args, "-i", "-q", "-s", "1", name], check=True, env=env, capture_output=True)
        done = subprocess.run([exe, *args, "-c", str(clients), "-j", "2", "-T", str(seconds), name], check=True,
                              env=env, capture_output=True, text=True)
    m = re.search(r"tps = ([0-9.]+) \((?:without initial connection time|excluding connections establishing)",
                  done.stdout)
    return float(m.group(1)) if m else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="", help="PostgreSQL server URL (a scratch db is created)")
    parser.add_argument("--workers", default="1,4,16", help="concurrency levels")
    parser.add_argument("--ops", type=int, default=100, help="checkouts (and check-ins) per worker")
    parser.add_argument("--warmup", type=int, default=5,
                        help="untimed checkouts and returns per worker before the timed ones")
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--loans-per-reader", type=int, default=5,
                        help="each worker's readers borrow this many copies each in turn (the points caps allow 10 "
                             "a day: each checkout earns points)")
    parser.add_argument("--return-after-days", type=int, default=14,
                        help="copies are returned this many days after the checkout (on time: a points bonus)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="only the paced reading, at this many operations per second (no pgbench)")
    parser.add_argument("--processes", nargs="?", type=int, const=-1, default=0, metavar="N",
                        help="workers run in worker processes (as web server processes), not as threads of this "
                             "one: alone, one process per worker; with N, N processes sharing the workers as "
                             "threads (16 workers, N=4: 4 processes of 4 threads)")
    args = parser.parse_args()
    levels = [int(x) for x in args.workers.split(",") if x.strip()]
    pg = args.database_url.startswith("postgresql")
    tmp = Path(tempfile.mkdtemp(prefix="circ-bench-"))
    try:
        with scratch_database(args.database_url, label="circulation", directory=tmp) as url:
            print(machine_line())
            shape = ("threads of one process" if not args.processes else "one process each" if args.processes < 0
                     else f"threads of {args.processes} processes")
            print(f"workers are {shape}; points handlers connected; "
                  f"{args.warmup} untimed checkouts and returns per worker first")
            run(url, args, levels, pg)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _level(url: str, args: argparse.Namespace, workers: int, index: int, rate: float | None = None) -> dict[str, Any]:
    db = Database(url)
    try:
        # a fresh set of copies and readers per level so every checkout finds an available copy
        readers = -(-args.ops // args.loans_per_reader) + 1  # one more for the warm-up
        _branch_id, cards, codes = prepare_level(db, workers, args.ops + args.warmup, index, readers)
        warm, barcodes = [c[:args.warmup] for c in codes], [c[args.warmup:] for c in codes]
        settle(db)
        return run_level(db, BRANCH_CODE, cards, barcodes, workers, rate=rate, processes=args.processes, warm=warm,
                         return_after=dt.timedelta(days=args.return_after_days), per_reader=args.loans_per_reader)
    finally:
        db.dispose()


def settle(db: Database) -> None:
    """Before a level, as pgbench vacuums its tables before it measures: on PostgreSQL, VACUUM
    (ANALYZE) the database and CHECKPOINT, so a level does not pay for the previous one's dead
    rows and dirty pages (autovacuum and the checkpointer catching up with the last burst)."""
    if db.dialect != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")
        conn.exec_driver_sql("CHECKPOINT")


def run(url: str, args: argparse.Namespace, levels: list[int], pg: bool) -> None:
    keeper = None
    if not pg:
        # A long-running server keeps connections open; without one, SQLite checkpoints and deletes
        # the WAL every time the last connection closes (the engine uses NullPool for SQLite).
        import sqlite3

        keeper = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        if args.rate:
            paced = _level(url, args, max(levels), 0, rate=args.rate)
            for kind in ("checkout", "checkin"):
                c = paced[kind]
                print(f"paced at {args.rate:.1f}/s, {max(levels)} workers: {kind} {c['tps']:.1f}/s p50 {c['p50']:.1f} "
                      f"p90 {c['p90']:.1f} p95 {c['p95']:.1f} p99 {c['p99']:.1f} max {c['max']:.1f} ms, "
                      f"Python CPU/op {c['cpu_ms']:.1f} ms  errors {paced['error_count']}  (load {load():.1f})")
            return
        reference = None
        if pg:
            reference = pgbench(args.database_url, clients=max(levels), seconds=args.pgbench_seconds)
            print(f"pgbench TPC-B-like ({max(levels)} clients, {args.pgbench_seconds} s): "
                  + (f"{reference:.1f} tps" if reference else "not available") + f"  (load {load():.1f})")
        rows = []
        for index, workers in enumerate(levels):
            res = _level(url, args, workers, index)
            rows.append(res)
            c, i = res["checkout"], res["checkin"]
            print(f"workers={workers:>2}  checkout {c['tps']:7.1f}/s p50 {c['p50']:6.1f} ms p95 {c['p95']:6.1f} ms"
                  f"  |  checkin {i['tps']:7.1f}/s p50 {i['p50']:6.1f} ms p95 {i['p95']:6.1f} ms"
                  f"  errors {res['error_count']}  Python CPU/op {c['cpu_ms']:.1f}/{i['cpu_ms']:.1f} ms"
                  f"  (load {load():.1f})")
            for e in res["errors"]:
                print("   ", e)
        if reference:
            top = rows[-1]["checkout"]
            share = top["tps"] / reference * 100
            print(f"closed loop, {max(levels)} workers: checkout {top['tps']:.1f}/s = {share:.1f}% of pgbench "
                  f"(target >= 10%: {'met' if share >= 10 else 'NOT met'}); p95 {top['p95']:.1f} ms")
            # Latency at the target load: 16 counters together doing 10% of the pgbench rate.
            rate = reference * 0.10
            paced = _level(url, args, max(levels), len(levels), rate=rate)
            c = paced["checkout"]
            print(f"paced at {rate:.1f}/s (10% of pgbench), {max(levels)} workers: checkout {c['tps']:.1f}/s "
                  f"p50 {c['p50']:.1f} ms p95 {c['p95']:.1f} ms (target < 25 ms: "
                  f"{'met' if c['p95'] < 25 else 'NOT met'}); checkin p95 {paced['checkin']['p95']:.1f} ms  "
                  f"errors {paced['error_count']}  (load {load():.1f})")
    finally:
        if keeper is not None:
            keeper.close()


_prepared: dict[str, Any] = {}


def prepare_level(db: Database, workers: int, ops: int, index: int,
                  readers: int) -> tuple[int, list[list[str]], list[list[str]]]:
    """Fresh readers (``readers`` per worker) and copies (``ops`` per worker, bulk inserted) for
    each level, so every checkout finds an available copy and a reader under the caps."""
    now = clock.now()
    if not _prepared:
        _prepared["branch_id"] = prepare(db)
    branch_id = _prepared["branch_id"]
    with db.transaction() as s:
        branch = s.get_one(Branch, branch_id)
        cards = [[create_reader(s, card_number=f"BR{index}-{w:02d}-{r:04d}", name=f"压测读者{index}-{w}-{r}",
                                category_code="adult", home_branch=branch, pin="1234",
                                card_expires_on=now.date() + dt.timedelta(days=365), fast_hash=True,
                                now=now).card_number for r in range(readers)] for w in range(workers)]
        record_id = s.execute(insert(BibRecord).values(
            flavour="unimarc", leader="00000nam  2200000   450 ", marc={}, title=f"压测图书 L{index}", authors=[],
            isbns=[], subjects=[], created_at=now, updated_at=now).returning(BibRecord.id)).scalar_one()
        barcodes = [[f"L{index}-{w:02d}-{i:06d}" for i in range(ops)] for w in range(workers)]
        s.execute(insert(Item), [dict(barcode=bc, record_id=record_id, home_branch_id=branch_id,
                                      current_branch_id=branch_id, item_type_code="book", status="available",
                                      floating=False, shelf_location="", call_number="", notes="", created_at=now,
                                      updated_at=now) for codes in barcodes for bc in codes])
    return branch_id, cards, barcodes


if __name__ == "__main__":
    sys.exit(main())
