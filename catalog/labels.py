"""Barcode labels: a Code 128 encoder (code set B, or C for long all-digit barcodes) drawn as SVG."""

from __future__ import annotations

from xml.sax.saxutils import escape

# bar/space widths of the 107 Code 128 symbols (0-102 data, 103-105 start A/B/C, 106 stop)
PATTERNS = ["212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141", "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112"]  # noqa: SIM905
START_B, START_C, STOP = 104, 105, 106
QUIET = 10  # modules of white on each side


def encode(text: str) -> list[int]:
    """The symbol values for ``text`` (printable ASCII), start and check symbol included, stop
    excluded. All-digit text of even length (4 or more) uses code set C (two digits a symbol)."""
    if not text or any(not (32 <= ord(ch) <= 126) for ch in text):
        raise ValueError("Code 128 labels take printable ASCII only")
    if text.isdigit() and len(text) >= 4 and len(text) % 2 == 0:
        values = [START_C] + [int(text[i:i + 2]) for i in range(0, len(text), 2)]
    else:
        values = [START_B] + [ord(ch) - 32 for ch in text]
    check = (values[0] + sum(i * v for i, v in enumerate(values[1:], start=1))) % 103
    return values + [check]


def modules(text: str) -> str:
    """The barcode as a string of '1' (bar) and '0' (space) modules, quiet zones included."""
    out = ["0" * QUIET]
    for v in [*encode(text), STOP]:
        bar = True
        for w in PATTERNS[v]:
            out.append(("1" if bar else "0") * int(w))
            bar = not bar
    out.append("0" * QUIET)
    return "".join(out)


def svg(text: str, *, caption: str = "", module: float = 1.0, height: float = 40.0) -> str:
    """A label: the bars, the barcode in digits below them and an optional caption line (call
    number or short title) above."""
    bits = modules(text)
    width = len(bits) * module
    top = 14.0 if caption else 2.0
    rects = []
    i = 0
    while i < len(bits):
        if bits[i] == "1":
            j = i
            while j < len(bits) and bits[j] == "1":
                j += 1
            rects.append(f'<rect x="{i * module:g}" y="{top:g}" width="{(j - i) * module:g}" height="{height:g}"/>')
            i = j
        else:
            i += 1
    total_h = top + height + 14
    label = escape(text, {'"': "&quot;"})
    cap = (f'<text x="{width / 2:g}" y="11" text-anchor="middle" font-size="10">{escape(caption[:40])}</text>'
           if caption else "")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {total_h:g}" '
            f'width="{width:g}" height="{total_h:g}" role="img" aria-label="{label}">'
            f'<rect width="100%" height="100%" fill="#fff"/>{cap}<g fill="#000">{"".join(rects)}</g>'
            f'<text x="{width / 2:g}" y="{top + height + 11:g}" text-anchor="middle" font-family="monospace" '
            f'font-size="11">{escape(text)}</text></svg>')
