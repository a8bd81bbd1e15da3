"""Small derivative page images for the reader, written as real PNG files with the standard
library (zlib): the demo draws a page with its frame (版框), column lines (界行), the centre
column (版心) and lines of text blocks, so the viewer has something true to show without a
dependency on an imaging library."""

from __future__ import annotations

import random
import struct
import zlib
from pathlib import Path

PAPER = (236, 224, 196)
INK = (46, 38, 32)
RED = (150, 40, 32)


def png_bytes(width: int, height: int, pixels: bytearray) -> bytes:
    """Encode RGB ``pixels`` (width*height*3 bytes, row by row) as a PNG file."""
    raw = bytearray()
    stride = width * 3
    for y in range(height):
        raw.append(0)
        raw += pixels[y * stride:(y + 1) * stride]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw), 6)) + chunk(b"IEND", b""))


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG header; ValueError when ``data`` is not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _rect(px: bytearray, width: int, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
    row = bytes(colour) * (x1 - x0)
    for y in range(y0, y1):
        start = (y * width + x0) * 3
        px[start:start + len(row)] = row


def page_image(width: int, height: int, *, columns: int = 10, seed: int = 0, seal: bool = False) -> bytes:
    """A drawn page of a thread-bound book: frame, column lines, 版心 with a fish-tail mark,
    and vertical runs of character blocks; optionally a red seal (钤印)."""
    rng = random.Random(seed)
    px = bytearray(bytes(PAPER) * (width * height))
    mx, my = width // 12, height // 10
    x0, y0, x1, y1 = mx, my, width - mx, height - my
    for t in (0, 3):  # 四周双边: an outer thick and an inner thin line
        w = 3 if t == 0 else 1
        _rect(px, width, x0 + t, y0 + t, x1 - t, y0 + t + w, INK)
        _rect(px, width, x0 + t, y1 - t - w, x1 - t, y1 - t, INK)
        _rect(px, width, x0 + t, y0 + t, x0 + t + w, y1 - t, INK)
        _rect(px, width, x1 - t - w, y0 + t, x1 - t, y1 - t, INK)
    inner_w = (x1 - x0 - 8)
    centre = x0 + 4 + inner_w // 2
    banxin = max(inner_w // (2 * columns + 2), 6)
    _rect(px, width, centre - banxin, y0 + 4, centre - banxin + 1, y1 - 4, INK)
    _rect(px, width, centre + banxin, y0 + 4, centre + banxin + 1, y1 - 4, INK)
    fish = y0 + (y1 - y0) // 4
    for k in range(banxin):
        _rect(px, width, centre - banxin + k, fish + k // 2, centre + banxin - k, fish + k // 2 + 1, INK)
    half_cols = columns // 2
    for side_left in (True, False):
        left = x0 + 4 if side_left else centre + banxin + 1
        right = centre - banxin if side_left else x1 - 4
        col_w = (right - left) / half_cols
        for c in range(half_cols):
            cx = int(left + c * col_w)
            if c:
                _rect(px, width, cx, y0 + 4, cx + 1, y1 - 4, (120, 100, 80))
            glyph = max(int(col_w * 0.5), 2)
            gx = cx + int((col_w - glyph) / 2)
            y = y0 + 10
            length = rng.randint(8, 20)
            for _ in range(length):
                if y + glyph > y1 - 8:
                    break
                _rect(px, width, gx, y, gx + glyph, y + glyph, INK)
                y += glyph + max(glyph // 3, 1)
    if seal:
        s = max(width // 10, 6)
        sx, sy = x1 - 4 - s - 4, y0 + 10
        _rect(px, width, sx, sy, sx + s, sy + s, RED)
        _rect(px, width, sx + 3, sy + 3, sx + s - 3, sy + s - 3, PAPER)
        _rect(px, width, sx + s // 3, sy + 4, sx + s // 3 + 2, sy + s - 4, RED)
    return png_bytes(width, height, px)


def write_page_image(path: Path, width: int, height: int, **kwargs: object) -> tuple[int, int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(page_image(width, height, **kwargs))  # type: ignore[arg-type]
    return width, height
