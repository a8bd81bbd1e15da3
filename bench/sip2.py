"""Benchmark: kiosks checking out and in over real SIP2 sockets against the SIP2 server (the same
``Sip2Server`` that ``library sip2`` runs), with 1, 4 and 20 kiosks at once. Each kiosk logs in,
then repeats checkout + checkin of its own copies. Prints messages per second and p50/p95 latency
of the 11 and 09 answers, and the load average (other engineers share this machine).

    .venv/bin/python bench/sip2.py                     # temporary SQLite file
    .venv/bin/python bench/sip2.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import update  # noqa: E402

from bench._common import load, machine_line, scratch_database  # noqa: E402
from library import migrate  # noqa: E402

migrate.import_all_models()

from circulation.models import CirculationRule  # noqa: E402
from circulation.sip2 import protocol as p  # noqa: E402
from circulation.sip2.server import start_in_thread  # noqa: E402
from library.app import create_app  # noqa: E402
from library.db import get_database  # noqa: E402
from library.registry import run_seeds  # noqa: E402

BLANK = " " * 18


class Kiosk:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.buf = b""
        self.seq = 0

    def ask(self, text_: str) -> bytes:
        self.seq = (self.seq + 1) % 10
        body = f"{text_}AY{self.seq}AZ".encode()
        self.sock.sendall(body + p.checksum(body).encode() + b"\r")
        while b"\r" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        frame, _, self.buf = self.buf.partition(b"\r")
        return frame


def run_kiosk(port: int, plan: tuple[str, str, str], rounds: int, latencies: dict[str, list[float]],
              lock: threading.Lock, errors: list[str]) -> None:
    """Log in, then ``rounds`` times check the kiosk's copy out (11) and in (09), timing each answer."""
    login, card, barcode = plan
    k = Kiosk(port)
    try:
        assert k.ask(f"9300CN{login}|COkiosk-secret-1|")[2:3] == b"1"
        mine: dict[str, list[float]] = {"11": [], "09": []}
        for _ in range(rounds):
            for code, msg in (("11", f"11NN{BLANK}{BLANK}AOB|AA{card}|AB{barcode}|"),
                              ("09", f"09N{BLANK}{BLANK}APx|AOB|AB{barcode}|")):
                t = time.perf_counter()
                out = k.ask(msg)
                mine[code].append(time.perf_counter() - t)
                if out[2:3] != b"1":
                    errors.append(out.decode(errors="replace"))
        with lock:
            for code, values in mine.items():
                latencies[code].extend(values)
    finally:
        k.sock.close()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--rounds", type=int, default=10, help="checkout+checkin pairs per kiosk")
    parser.add_argument("--kiosks", default="1,4,20")
    args = parser.parse_args()
    levels = [int(x) for x in args.kiosks.split(",")]
    with tempfile.TemporaryDirectory(prefix="sip2-bench-") as tmp, \
            scratch_database(args.database_url, label="sip2", directory=Path(tmp)) as url:
        _run(args, levels, url, Path(tmp))


def _run(args: argparse.Namespace, levels: list[int], url: str, tmp: Path) -> None:
    app = create_app({"LIBRARY_DATABASE_URL": url, "LIBRARY_DATA_DIR": str(tmp), "SECRET_KEY": "bench"})
    db = get_database(app)
    with app.app_context():
        with db.transaction() as s:
            run_seeds(app, s)
            s.execute(update(CirculationRule).values(max_items=1_000_000))
        from tests import factories
        from tests.circulation.factories import make_item, make_record
        from tests.sip2.factories import make_kiosk

        plans = []
        with db.transaction() as s:
            branch = factories.make_branch(s, code="BENCH")
            record = make_record(s, title="压测图书")
            for i in range(max(levels)):
                kiosk = make_kiosk(s, branch=branch, sip_login=f"BENCH{i:02d}")
                reader = factories.make_reader(s, home_branch=branch)
                item = make_item(s, record=record, branch=branch)
                plans.append((kiosk.sip_login, reader.card_number, item.barcode))
    server = start_in_thread(app)
    print(machine_line(db.engine))
    print(f"each kiosk: login, then {args.rounds} x (checkout 11 + checkin 09) over its own socket")
    try:
        for n in levels:
            latencies: dict[str, list[float]] = {"11": [], "09": []}
            lock = threading.Lock()
            errors: list[str] = []
            threads = [threading.Thread(target=run_kiosk, args=(server.port, plan, args.rounds, latencies, lock,
                                                                errors)) for plan in plans[:n]]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - start
            total = sum(len(v) for v in latencies.values())
            print(f"{n:>3} kiosks: {total} messages in {elapsed:.2f} s = {total / elapsed:.1f} msg/s; "
                  f"refused {len(errors)}; load {load():.2f}")
            for code, name in (("11", "checkout"), ("09", "checkin")):
                v = latencies[code]
                print(f"      {name:<8} n={len(v):<4} median {statistics.median(v) * 1000:7.1f} ms  "
                      f"p95 {percentile(v, 95) * 1000:7.1f} ms  max {max(v) * 1000:7.1f} ms")
    finally:
        server.stop()
        db.dispose()


if __name__ == "__main__":
    main()
