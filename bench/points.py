"""Points benchmark: postings per second through the service layer (``earn``, one transaction
per posting, as a checkout would), with 1 and 8 worker threads, and the time to render
"my points" for a reader with 10,000 entries.

    .venv/bin/python bench/points.py                        # temporary SQLite file
    .venv/bin/python bench/points.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
      (on PostgreSQL a database named <name>_bench_points_<random> is created and dropped)

Workers post for distinct readers (the common case: many counters, many readers) unless
``--same-reader`` makes them contend for one account row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bench._common import machine_line, scratch_database  # noqa: E402
from library import clock  # noqa: E402
from library.app import create_app  # noqa: E402
from library.db import get_database  # noqa: E402
from library.registry import run_seeds  # noqa: E402
from library.services import create_branch, create_reader  # noqa: E402
from reading_points.points import services  # noqa: E402
from reading_points.points.models import PointsRule  # noqa: E402

NOW = dt.datetime(2026, 6, 15, 2, 0, tzinfo=dt.UTC)


def _prepare(url: str, data_dir: str, readers: int) -> tuple[object, list[int]]:
    app = create_app({"LIBRARY_DATABASE_URL": url, "LIBRARY_DATA_DIR": data_dir, "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False, "SERVER_NAME": "localhost"})
    db = get_database(app)
    with db.transaction() as s:
        run_seeds(app, s)
        for rule in s.scalars(select(PointsRule)):  # no caps: every posting counts
            rule.daily_cap = rule.monthly_cap = None
        branch = create_branch(s, code="BENCH", name="压测分馆", kind="branch")
        ids = [create_reader(s, card_number=f"B{i:08d}", name=f"读者{i}", category_code="adult", home_branch=branch,
                             pin="123456", card_expires_on=dt.date(2030, 1, 1), fast_hash=True).id
               for i in range(readers)]
    return app, ids


def _postings(app: object, reader_ids: list[int], workers: int, per_worker: int, tag: str) -> float:
    db = get_database(app)  # type: ignore[arg-type]
    barrier = threading.Barrier(workers + 1)
    errors: list[BaseException] = []

    def run(w: int) -> None:
        rid = reader_ids[w % len(reader_ids)]
        barrier.wait()
        try:
            for i in range(per_worker):
                at = NOW + dt.timedelta(seconds=i)
                with db.transaction() as s:
                    services.earn(s, reader_id=rid, kind="checkout", idempotency_key=f"{tag}:{w}:{i}",
                                  reason="借阅图书", now=at, source=f"bench:{w}")
        except BaseException as exc:  # report, do not hide
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return workers * per_worker / elapsed


def _render_my_points(app: object, reader_id: int, card: str, repeats: int) -> list[float]:
    flask_app = app  # type: ignore[assignment]
    client = flask_app.test_client()  # type: ignore[attr-defined]
    response = client.post("/login", data={"card_number": card, "pin": "123456"})
    assert response.status_code == 302, response.status_code
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        page = client.get("/points/")
        times.append(time.perf_counter() - started)
        assert page.status_code == 200
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--postings", type=int, default=400, help="postings per worker count (split among workers)")
    parser.add_argument("--history", type=int, default=10_000, help="entries of the reader whose page is timed")
    parser.add_argument("--same-reader", action="store_true", help="all workers post for one reader")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="points-bench-") as tmp, \
            scratch_database(args.database_url, label="points", directory=Path(tmp)) as url:
        try:
            _run(args, url, tmp)
        finally:
            clock.set_now(None)
    return 0


def _run(args: argparse.Namespace, url: str, tmp: str) -> None:
    clock.set_now(NOW)
    app, readers = _prepare(url, tmp, 9)
    print(machine_line(get_database(app).engine))  # type: ignore[arg-type]
    for workers in (1, 8):
        pool = readers[:1] if args.same_reader else readers[1:]
        rate = _postings(app, pool, workers, max(args.postings // workers, 1), f"w{workers}")
        print(f"postings/s with {workers} worker(s){' on one reader' if args.same_reader else ''}: {rate:8.1f}")
    # "my points" for a reader with --history entries, posted through the same service layer
    db = get_database(app)  # type: ignore[arg-type]
    target = readers[0]
    started = time.perf_counter()
    batch = 100
    for start in range(0, args.history, batch):
        with db.transaction() as s:
            for i in range(start, min(start + batch, args.history)):
                services.earn(s, reader_id=target, kind="checkout", idempotency_key=f"hist:{i}",
                              reason="借阅图书", now=NOW - dt.timedelta(minutes=50 * (args.history - i)))
    print(f"built a {args.history}-entry history in {time.perf_counter() - started:.1f}s "
          f"({args.history / (time.perf_counter() - started):.0f} postings/s batched {batch} per transaction)")
    times = _render_my_points(app, target, "B00000000", 15)
    print(f"'my points' with {args.history} entries: median {statistics.median(times) * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms over {len(times)} renders")
    get_database(app).dispose()  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
