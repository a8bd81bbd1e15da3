"""Code 128 labels: every symbol is 11 modules wide, the check symbol is right, and reading the
bars back gives the barcode."""

from __future__ import annotations

import pytest

from catalog.labels import PATTERNS, QUIET, encode, modules, svg


def _read_back(bits: str) -> str:
    """Decode the module string with the symbol table (widths of runs of equal modules)."""
    core = bits[QUIET:-QUIET]
    runs: list[int] = []
    i = 0
    while i < len(core):
        j = i
        while j < len(core) and core[j] == core[i]:
            j += 1
        runs.append(j - i)
        i = j
    widths = "".join(str(w) for w in runs)
    assert widths.endswith(PATTERNS[106])
    symbols = [PATTERNS.index(widths[k:k + 6]) for k in range(0, len(widths) - 7, 6)]
    start, data, check = symbols[0], symbols[1:-1], symbols[-1]
    assert check == (start + sum(i * v for i, v in enumerate(data, start=1))) % 103
    if start == 105:
        return "".join(f"{v:02d}" for v in data)
    return "".join(chr(v + 32) for v in data)


def test_symbol_table() -> None:
    assert len(PATTERNS) == 107 and len(set(PATTERNS)) == 107
    assert all(sum(map(int, p)) == 11 for p in PATTERNS[:106]) and sum(map(int, PATTERNS[106])) == 13


@pytest.mark.parametrize("text", ["ZY0099001", "39080013569295", "A-1/b", "12345"])
def test_round_trip(text: str) -> None:
    assert _read_back(modules(text)) == text


def test_code_c_for_even_digits_and_check_value() -> None:
    assert encode("123456")[0] == 105 and encode("12345")[0] == 104
    assert encode("PJJ123C") == [104, 48, 42, 42, 17, 18, 19, 35, 55]


def test_svg_escapes_and_refuses_non_ascii() -> None:
    out = svg("ZY<1>", caption="I247.5&1")
    assert "ZY&lt;1&gt;" in out and "I247.5&amp;1" in out and out.startswith("<svg")
    with pytest.raises(ValueError):
        encode("条码")
