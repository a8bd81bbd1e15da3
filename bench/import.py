"""Import benchmark: pymarc's raw parse rate of a generated ISO 2709 file (the limit) against our
database import rate (read, detect, extract, store, search outbox) in the same run.

    .venv/bin/python bench/import.py --records 100000
    .venv/bin/python bench/import.py --records 100000 --database-url postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymarc import MARCReader  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench._common import machine_line, scratch_database  # noqa: E402
from bench.generate import generate_records, write_iso2709  # noqa: E402
from library import migrate  # noqa: E402


def raw_parse(path: Path) -> tuple[int, float]:
    """pymarc's MARCReader over the whole file (UTF-8 forced: the file is UTF-8 and UNIMARC
    leaves leader/09 blank), the records only iterated. The garbage collector is paused as in
    our import, so that both sides are measured alike."""
    n = 0
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        with path.open("rb") as fh:
            for rec in MARCReader(fh, to_unicode=True, force_utf8=True, permissive=True):
                if rec is not None:
                    n += 1
        return n, time.perf_counter() - start
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file in a temporary directory")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--match", default="none", choices=["none", "isbn", "control-number"])
    args = parser.parse_args()

    migrate.import_all_models()
    from catalog.importer import import_file
    from catalog.models import BibRecord, SearchOutbox
    from catalog.seeds import seed_item_types
    from library.db import Database
    from library.models import Branch

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp_name:
        tmp = Path(tmp_name)
        marc_path = tmp / "records.mrc"
        t0 = time.perf_counter()
        write_iso2709(generate_records(args.records, args.seed), marc_path)
        gen_s = time.perf_counter() - t0
        file_mb = marc_path.stat().st_size / 1e6

        with scratch_database(args.database_url, label="import", directory=tmp) as url:
            db = Database(url)
            with db.transaction() as session:
                seed_item_types(session)
                session.add(Branch(code="ZY", name="资阳区图书馆", kind="central"))
            machine = machine_line(db.engine)

            # the machine is shared: pymarc is timed before and after the import and the faster run
            # is the limit (the conservative choice for the ratio)
            parsed, parse_before = raw_parse(marc_path)
            t0 = time.perf_counter()
            summary = import_file(db, marc_path, match=args.match, batch_size=args.batch_size, tune_gc=True)
            import_s = time.perf_counter() - t0
            _, parse_after = raw_parse(marc_path)
            parse_s = min(parse_before, parse_after)
            with db.transaction() as session:
                stored = session.scalar(select(func.count()).select_from(BibRecord))
                outbox = session.scalar(select(func.count()).select_from(SearchOutbox))
            db.dispose()

    parse_rate = parsed / parse_s
    import_rate = summary.imported / import_s if import_s else 0.0
    print("bench/import.py — MARC import")
    print(f"  {machine}")
    print(f"  match: {args.match}  batch size: {args.batch_size}")
    print(f"  file: {args.records} generated records (seed {args.seed}), {file_mb:.1f} MB,"
          f" written in {gen_s:.1f} s")
    print(f"  pymarc raw parse: {parsed} records in {parse_s:.2f} s = {parse_rate:,.0f} records/s"
          f" (best of before/after the import: {parse_before:.2f} s / {parse_after:.2f} s)")
    print(f"  database import:  {summary.imported} records in {import_s:.2f} s = {import_rate:,.0f} records/s"
          f" ({stored} stored, {outbox} outbox rows)")
    print(f"  import / raw parse = {100 * import_rate / parse_rate:.0f}% (target >= 30%)")


if __name__ == "__main__":
    main()
