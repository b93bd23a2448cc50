"""Rebuild the raster icons from the C.G.O.S mark: `python scripts/build_icons.py`.

The mark (static/favicon.svg) is a blue rounded square holding a white « C »
and a gold dot. Browsers that want a bitmap get it drawn here with the standard
library only (no imaging package): static/apple-touch-icon.png (180 px, home
screens), static/favicon.ico (a 32 px PNG inside an ICO, for /favicon.ico) and
static/mark.png (96 px, the logo of the HTML mails, where SVG is not shown).
"""

import math
import struct
import zlib
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"
BLUE = (0, 58, 112)
WHITE = (255, 255, 255)
GOLD = (245, 183, 0)
# The mark's geometry on a unit square, the same as static/favicon.svg (viewBox 0 0 40 40).
CORNER = 0.2
RING_CENTRE = (0.5, 0.5)
RING_INNER, RING_OUTER = 0.19, 0.30
RING_GAP_DEGREES = 40
DOT_CENTRE, DOT_RADIUS = (0.745, 0.5), 0.08
SAMPLES = 4


def colour_at(x: float, y: float) -> tuple[int, int, int, int]:
    """The mark's colour (RGBA) at a point of the unit square."""
    cx = min(max(x, CORNER), 1 - CORNER)
    cy = min(max(y, CORNER), 1 - CORNER)
    if math.hypot(x - cx, y - cy) > CORNER:
        return (0, 0, 0, 0)
    if math.hypot(x - DOT_CENTRE[0], y - DOT_CENTRE[1]) <= DOT_RADIUS:
        return (*GOLD, 255)
    dx, dy = x - RING_CENTRE[0], y - RING_CENTRE[1]
    if RING_INNER <= math.hypot(dx, dy) <= RING_OUTER and abs(math.degrees(math.atan2(dy, dx))) >= RING_GAP_DEGREES:
        return (*WHITE, 255)
    return (*BLUE, 255)


def pixels(size: int) -> list[list[tuple[int, int, int, int]]]:
    """The mark drawn at `size` px, each pixel the average of SAMPLES² points (smooth edges)."""
    rows = []
    for row in range(size):
        line = []
        for column in range(size):
            samples = [
                colour_at((column + (i + 0.5) / SAMPLES) / size, (row + (j + 0.5) / SAMPLES) / size)
                for i in range(SAMPLES)
                for j in range(SAMPLES)
            ]
            alpha = sum(s[3] for s in samples)
            if alpha == 0:
                line.append((0, 0, 0, 0))
                continue
            rgb = [round(sum(s[k] * s[3] for s in samples) / alpha) for k in range(3)]
            line.append((*rgb, round(alpha / len(samples))))
        rows.append(line)
    return rows


def png(size: int, opaque: bool = False) -> bytes:
    """A PNG of the mark; `opaque` puts it on white (iOS draws transparency black)."""
    raw = b""
    for line in pixels(size):
        raw += b"\x00"
        for r, g, b, a in line:
            if opaque:
                r, g, b = (round(c * a / 255 + 255 * (1 - a / 255)) for c in (r, g, b))
                a = 255
            raw += bytes((r, g, b, a))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def ico(image: bytes, size: int) -> bytes:
    """An ICO file holding one PNG image (understood by every browser since 2010)."""
    directory = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), 6 + 16)
    return directory + entry + image


if __name__ == "__main__":
    (STATIC / "apple-touch-icon.png").write_bytes(png(180, opaque=True))
    (STATIC / "favicon.ico").write_bytes(ico(png(32), 32))
    (STATIC / "mark.png").write_bytes(png(96))
    print("wrote static/apple-touch-icon.png, static/favicon.ico, static/mark.png")
