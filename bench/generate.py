"""Realistic generated bibliographic records for benchmarks (the generator lives in
``catalog.sample`` so that the demo can use it too).

``generate_records(n, seed=1)`` yields pymarc records: about 70% Chinese books in CNMARC
(UNIMARC, UTF-8) and 30% English books in MARC21, with titles, authors, publishers, subjects,
ISBNs and classification; the same seed always gives the same records.
``write_iso2709(records, path)`` writes them as one ISO 2709 file (UTF-8, UNIMARC leader/09 blank).

    .venv/bin/python bench/generate.py --records 1000 -o generated.mrc
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.sample import generate_records, write_iso2709  # noqa: E402

__all__ = ["generate_records", "write_iso2709"]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write generated records to an ISO 2709 file.")
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", default="generated.mrc")
    args = parser.parse_args()
    written = write_iso2709(generate_records(args.records, args.seed), args.output)
    print(f"wrote {written} records to {args.output}")
