"""Search benchmark: our index against a plain Whoosh + jieba baseline, in the same run.

    .venv/bin/python bench/search.py --records 100000

1. Generates N records with ``bench.generate.generate_records`` (70% CNMARC, 30% MARC21) and
   extracts their fields with the catalogue's extractor (``catalog.extract``), as
   ``save_record`` does; every record gets available copies at 1–3 of 12 branches. The
   database is not involved: this measures the index (the DB side of indexing is the
   import benchmark's business), so there is no ``--database-url``.
2. Builds our index (``catalog.search`` documents and analysis: OpenCC, jieba, pinyin,
   facet columns) with the multiprocessing writer, and the baseline: a plain Whoosh index of the
   same records (title, author, all text) analysed by jieba's ``ChineseAnalyzer``, written by a
   single ``ix.writer()``. Reports records/second for both.
3. Runs a fixed mix of 200 queries (25 each: one Chinese word, two words, traditional script,
   pinyin, English, author, fielded, ISBN) after a warm-up with other queries, and reports
   p50/p95/p99 in ms: ours for top 20 + total count + all five facets, the baseline for top 10 +
   count (``len(results)``).

Other engineers share the machine's two cores: the figures vary with their load (the load
average is printed).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import load, machine_line  # noqa: E402
from bench.generate import generate_records  # noqa: E402
from catalog.search import analysis  # noqa: E402
from catalog.search.backend import WhooshBackend  # noqa: E402
from catalog.search.documents import document  # noqa: E402
from catalog.search.params import query_from_args  # noqa: E402

BRANCHES = 12


def records(n: int, seed: int) -> list[SimpleNamespace]:
    from catalog.extract import extract
    from catalog.marc import detect_flavour

    rng = random.Random(seed)
    out = []
    for i, rec in enumerate(generate_records(n, seed), start=1):
        values = extract(rec, detect_flavour(rec))
        values["id"] = i
        ns = SimpleNamespace(**values)
        ns.branches = rng.sample(range(1, BRANCHES + 1), rng.randint(0, 3))
        out.append(ns)
    return out


def _percentiles(ms: list[float]) -> tuple[float, float, float]:
    qs = statistics.quantiles(ms, n=100, method="inclusive")
    return qs[49], qs[94], qs[98]


def query_mix(recs: list[SimpleNamespace], seed: int) -> list[tuple[str, dict[str, str], str]]:
    """(kind, our parameters, baseline query string) x 200, drawn from the generated records."""
    import re

    import opencc

    s2t = opencc.OpenCC("s2t")
    rng = random.Random(seed)
    chinese_recs = [r for r in recs if r.language == "chi" and r.authors]
    english_recs = [r for r in recs if r.language != "chi"]
    isbn_recs = [r for r in recs if r.isbns]
    cn = sorted({w for r in chinese_recs[:2000] for w in analysis.query_words(analysis.fold(r.title))
                 if len(w) >= 2 and analysis._HAS_CJK.search(w)})
    subjects = sorted({s.split("--")[0] for r in chinese_recs[:2000] for s in r.subjects if s})
    en = sorted({w.lower() for r in english_recs[:2000] for w in re.findall(r"[A-Za-z]{4,}", r.title)})
    mix: list[tuple[str, dict[str, str], str]] = []
    for _ in range(25):
        w = rng.choice(cn)
        mix.append(("chinese word", {"q": w}, w))
        a, b = rng.choice(cn), rng.choice(subjects)
        mix.append(("two words", {"q": f"{a} {b}"}, f"{a} {b}"))
        t = s2t.convert(rng.choice(cn + subjects))
        mix.append(("traditional", {"q": t}, t))
        syl = analysis.pinyin_of(rng.choice(cn))
        typed = "".join(syl) if rng.random() < 0.6 else "".join(x[0] for x in syl)
        mix.append(("pinyin", {"q": typed}, typed))
        eq = rng.choice(en) if rng.random() < 0.5 else f"{rng.choice(en)} {rng.choice(en)}"
        mix.append(("english", {"q": eq}, eq))
        r = rng.choice(chinese_recs)
        mix.append(("author", {"author": r.authors[0]}, f"author:{r.authors[0]}"))
        w1, s1 = rng.choice(cn), rng.choice(subjects)
        mix.append(("fielded", {"title": w1, "subject": s1}, f"title:{w1} {s1}"))
        isbn = rng.choice(isbn_recs).isbns[0]
        shown = isbn if rng.random() < 0.5 else f"{isbn[:3]}-{isbn[3]}-{isbn[4:8]}-{isbn[8:12]}-{isbn[12]}"
        mix.append(("isbn", {"q": shown}, shown.replace("-", "")))
    return mix


def build_ours(recs: list[SimpleNamespace], path: Path, procs: int, limitmb: int) -> float:
    be = WhooshBackend(path)
    analysis.warm_up()
    t0 = time.perf_counter()
    docs = (document(r, r.branches) for r in recs)
    be.rebuild(docs, procs=procs, limitmb=limitmb, batch=250)
    return time.perf_counter() - t0


def baseline_schema() -> Any:
    from jieba.analyse import ChineseAnalyzer
    from whoosh import fields

    ana = ChineseAnalyzer()
    return fields.Schema(id=fields.ID(stored=True, unique=True), title=fields.TEXT(analyzer=ana),
                         author=fields.TEXT(analyzer=ana), content=fields.TEXT(analyzer=ana))


def build_baseline(recs: list[SimpleNamespace], path: Path) -> float:
    from whoosh import index

    path.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(path), baseline_schema())
    t0 = time.perf_counter()
    writer = ix.writer()
    for r in recs:
        content = "\n".join([r.title, r.responsibility, " ".join(r.authors), " ".join(r.subjects), r.publisher,
                             r.series, r.notes, " ".join(r.isbns), r.classification_clc])
        writer.add_document(id=str(r.id), title=r.title, author=" ".join(r.authors), content=content)
    writer.commit()
    return time.perf_counter() - t0


def run_ours(path: Path, mix: list[tuple[str, dict[str, str], str]]) -> tuple[list[float], list[int]]:
    be = WhooshBackend(path)
    times, totals = [], []
    for _kind, params, _b in mix:
        t0 = time.perf_counter()
        q = query_from_args(dict(params, per_page="20"))
        result = be.search(q)
        times.append((time.perf_counter() - t0) * 1000)
        totals.append(result.total)
    return times, totals


def run_baseline(path: Path, mix: list[tuple[str, dict[str, str], str]]) -> tuple[list[float], list[int]]:
    from whoosh import index
    from whoosh.qparser import QueryParser

    ix = index.open_dir(str(path))
    times, totals = [], []
    with ix.searcher() as s:
        parser = QueryParser("content", ix.schema)
        for _kind, _params, text in mix:
            t0 = time.perf_counter()
            q = parser.parse(text)
            results = s.search(q, limit=10)
            n = len(results)
            [hit["id"] for hit in results]
            times.append((time.perf_counter() - t0) * 1000)
            totals.append(n)
    return times, totals


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--procs", type=int, default=2, help="our indexing processes")
    ap.add_argument("--limitmb", type=int, default=256, help="our writer's memory per process")
    ap.add_argument("--keep", type=Path, default=None, help="build the indexes here and keep them")
    args = ap.parse_args(argv)

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-search-"))
    print(machine_line())
    t0 = time.perf_counter()
    recs = records(args.records, args.seed)
    print(f"generated and extracted {len(recs)} records in {time.perf_counter() - t0:.1f} s")
    try:
        ours_s = build_ours(recs, workdir / "ours", args.procs, args.limitmb)
        base_s = build_baseline(recs, workdir / "baseline")
        n = len(recs)
        print(f"index build: ours {n / ours_s:,.0f} rec/s ({ours_s:.1f} s, procs={args.procs}, "
              f"limitmb={args.limitmb}); baseline single writer {n / base_s:,.0f} rec/s ({base_s:.1f} s); "
              f"ratio {base_s / ours_s:.2f}x")
        warm = query_mix(recs, args.seed + 1000)[:40]
        run_ours(workdir / "ours", warm)
        run_baseline(workdir / "baseline", warm)
        mix = query_mix(recs, args.seed)
        ours_t, ours_n = run_ours(workdir / "ours", mix)
        base_t, base_n = run_baseline(workdir / "baseline", mix)
        o50, o95, o99 = _percentiles(ours_t)
        b50, b95, b99 = _percentiles(base_t)
        print(f"queries: {len(mix)} (25 each: " + ", ".join(sorted({k for k, _p, _b in mix})) + ")")
        print(f"ours     top20+count+facets: p50 {o50:.1f} ms  p95 {o95:.1f} ms  p99 {o99:.1f} ms")
        print(f"baseline top10+count:        p50 {b50:.1f} ms  p95 {b95:.1f} ms  p99 {b99:.1f} ms")
        print("per kind (ours p50 / baseline p50 ms, queries with hits ours / baseline):")
        for kind in sorted({k for k, _p, _b in mix}):
            idx = [i for i, (k, _p, _b) in enumerate(mix) if k == kind]
            print(f"  {kind:13s} {statistics.median(ours_t[i] for i in idx):7.1f} / "
                  f"{statistics.median(base_t[i] for i in idx):7.1f}   "
                  f"{sum(1 for i in idx if ours_n[i])}/{len(idx)} vs {sum(1 for i in idx if base_n[i])}/{len(idx)}")
        print(f"targets: p95 ours <= baseline: {'met' if o95 <= b95 else 'NOT met'}; "
              f"build rate >= 1.5x baseline: {'met' if base_s / ours_s >= 1.5 else 'NOT met'}")
        print(f"load average after: {load():.2f}")
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
