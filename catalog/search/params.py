"""Reading a search from URL parameters (the OPAC pages and the JSON API take the same ones):

- ``q``: the search box (words, "phrases", field:word, OR, NOT/-word)
- ``title``, ``author``, ``subject``, ``isbn``, ``callno``, ``publisher``: fielded boxes (AND)
- ``f1``/``t1``/``op1`` ... ``f5``/``t5``/``op5``: advanced rows (field, text, and|or|not)
- ``year_from``, ``year_to``: publication year range
- ``branch``, ``material``, ``language``, ``decade``, ``clc``: facet filters (repeatable)
- ``sort``: relevance | year | year_asc | title; ``page``; ``per_page`` (1–100)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.search.query import FACETS, SORTS, Node, SearchQuery, advanced, and_, parse_box

FIELDED = ("title", "author", "subject", "isbn", "callno", "publisher")
MAX_PER_PAGE = 100
ADV_ROWS = 5


def _int(value: Any, default: int | None, lo: int, hi: int) -> int | None:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return max(lo, min(hi, n))


def _getlist(args: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(args, "getlist", None)
    if getlist is not None:
        return [str(v) for v in getlist(name)]
    v = args.get(name)
    if v is None:
        return []
    return [str(x) for x in v] if isinstance(v, list | tuple) else [str(v)]


def query_from_args(args: Mapping[str, Any], *, default_per_page: int = 20) -> SearchQuery:
    """Build the SearchQuery of these parameters (bad numbers fall back to defaults)."""
    parts: list[Node | None] = [parse_box(str(args.get("q", "") or ""))]
    rows: list[tuple[str, str, str]] = []
    for name in FIELDED:
        text = str(args.get(name, "") or "").strip()
        if text:
            rows.append(("and", name, text))
    for i in range(1, ADV_ROWS + 1):
        text = str(args.get(f"t{i}", "") or "").strip()
        if text:
            op = str(args.get(f"op{i}", "and") or "and").lower()
            rows.append((op if op in ("and", "or", "not") else "and", str(args.get(f"f{i}", "") or ""), text))
    y_from = _int(args.get("year_from"), None, 0, 9999)
    y_to = _int(args.get("year_to"), None, 0, 9999)
    adv = advanced(rows, y_from, y_to)
    node = and_(*parts, adv) if rows or adv is not None else parts[0]
    filters = {name: [v for v in _getlist(args, name) if v.strip()] for name in FACETS}
    sort = str(args.get("sort", "relevance") or "relevance")
    return SearchQuery(
        node=node,
        filters={k: v for k, v in filters.items() if v},
        sort=sort if sort in SORTS else "relevance",
        page=_int(args.get("page"), 1, 1, 10_000) or 1,
        per_page=_int(args.get("per_page"), default_per_page, 1, MAX_PER_PAGE) or default_per_page,
    )


def has_criteria(args: Mapping[str, Any]) -> bool:
    keys = ["q", *FIELDED, "year_from", "year_to", *FACETS] + [f"t{i}" for i in range(1, ADV_ROWS + 1)]
    return any(str(args.get(k, "") or "").strip() for k in keys)
