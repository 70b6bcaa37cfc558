"""Draws HugMood's app icons (a white heart on the brand's purple) as PNGs, with the standard
library only: `python3 web/scripts/icons.py` rewrites web/public/icons/. Kept with the icons
so they can be redrawn; the build does not run it."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

PURPLE = (91, 63, 166)
WHITE = (255, 255, 255)


def pixel(x: float, y: float, maskable: bool) -> tuple[int, int, int, int]:
    """Colour at (x, y) in -1..1: a heart on a rounded square (full bleed when maskable)."""
    corner = 0.0 if maskable else 0.42
    edge = 1 - corner
    inside = min(abs(x), abs(y)) <= edge or (abs(x) - edge) ** 2 + (abs(y) - edge) ** 2 <= corner**2
    if not inside:
        return (0, 0, 0, 0)
    scale = 2.2 if maskable else 1.8  # a maskable icon keeps its picture in the safe circle
    hx, hy = x * scale, -(y * scale) + 0.15
    heart = (hx * hx + hy * hy - 1) ** 3 - hx * hx * hy**3 <= 0
    return (*WHITE, 255) if heart else (*PURPLE, 255)


def png(size: int, maskable: bool) -> bytes:
    rows = bytearray()
    for j in range(size):
        rows.append(0)
        for i in range(size):
            x, y = (i + 0.5) / size * 2 - 1, (j + 0.5) / size * 2 - 1
            rows.extend(pixel(x, y, maskable))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "public" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (out / f"icon-{size}.png").write_bytes(png(size, maskable=False))
    (out / "maskable-512.png").write_bytes(png(512, maskable=True))
