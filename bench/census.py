"""Census benchmark: registrations per second through the service layer (``create_record``,
one transaction each, the 普查编号 counter row locked for every one) with 1 and 8 worker
threads, checking afterwards that the serials are exactly 1..N; then the reign-date parser's
throughput and the time to build an IIIF manifest of a 200-page book.

    .venv/bin/python bench/census.py                        # temporary SQLite file
    .venv/bin/python bench/census.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
      (on PostgreSQL a database named <name>_bench_census_<random> is created and dropped)
"""

from __future__ import annotations

import argparse
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

DATA = {"title": "益陽縣志", "juan": "二十五卷", "bu_code": "shi", "lei_code": "shi-10",
        "edition_text": "清同治十三年刻本", "edition_type_code": "keben", "binding_code": "xianzhuang", "volumes": 12,
        "grade_code": "3", "grade_class": "乙", "damage_level_code": "level3", "damage_types": ["stain"]}


def _register(app: object, workers: int, per_worker: int) -> tuple[float, list[float]]:
    from ancient_books import census_prefix_of
    from ancient_books.services import AuthorInput, create_record

    prefix = census_prefix_of(app)  # type: ignore[arg-type]
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(workers)

    def run() -> None:
        db = get_database(app)  # type: ignore[arg-type]
        barrier.wait()
        for _ in range(per_worker):
            t = time.perf_counter()
            with db.transaction() as s:
                create_record(s, data=DATA, authors=[AuthorInput("清", "姚念楊", "修")], prefix=prefix, staff=None,
                              now=clock.now())
            with lock:
                latencies.append(time.perf_counter() - t)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    started = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - started, latencies


def _figures(label: str, count: int, total: float, lat: list[float]) -> None:
    lat = sorted(lat)
    p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
    print(f"{label}: {count} in {total:.2f}s = {count / total:.1f}/s; latency median {statistics.median(lat) * 1000:.1f} ms, "
          f"p95 {p95 * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--registrations", type=int, default=200, help="registrations per worker count")
    parser.add_argument("--dates", type=int, default=20000, help="reign dates parsed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="census-bench-") as tmp, \
            scratch_database(args.database_url, label="census", directory=Path(tmp)) as url:
        app = create_app({"LIBRARY_DATABASE_URL": url, "LIBRARY_DATA_DIR": tmp, "SECRET_KEY": "bench"})
        db = get_database(app)
        with db.transaction() as s:
            run_seeds(app, s)
        print(machine_line(db.engine))
        from ancient_books.models import CensusRecord

        done = 0
        for workers in (1, 8):
            per = max(args.registrations // workers, 1)
            total, lat = _register(app, workers, per)
            done += per * workers
            _figures(f"registrations with {workers} worker(s)", per * workers, total, lat)
        with db.transaction() as s:
            serials = sorted(s.scalars(select(CensusRecord.serial)))
        print(f"serials gap-free and unique: {serials == list(range(1, done + 1))} ({len(serials)} records)")

        from ancient_books.reign import ERAS, parse_reign_date, written_forms

        forms = [f for e in ERAS for n in range(1, e.length + 1) for f in written_forms(e, n)]
        forms = (forms * (args.dates // len(forms) + 1))[: args.dates]
        t = time.perf_counter()
        for f in forms:
            parse_reign_date(f)
        elapsed = time.perf_counter() - t
        print(f"reign dates parsed: {len(forms)} in {elapsed:.2f}s = {len(forms) / elapsed:.0f}/s")

        from types import SimpleNamespace

        from ancient_books.iiif import build_manifest

        with db.transaction() as s:
            record = s.scalars(select(CensusRecord).limit(1)).one()
            images = [SimpleNamespace(seq=i, label=f"第{i}叶", width=2400, height=3400, media_type="image/jpeg")
                      for i in range(1, 201)]
            times = []
            for _ in range(20):
                t = time.perf_counter()
                build_manifest(record, images, base_url="https://library.example/iiif/x",  # type: ignore[arg-type]
                               labels={}, holder="资阳区图书馆")
                times.append(time.perf_counter() - t)
        print(f"IIIF manifest of 200 canvases: median {statistics.median(times) * 1000:.2f} ms over {len(times)} builds")
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
