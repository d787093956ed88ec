"""A minimal PNG codec: enough to write a grey-scale image and to read back the
PNGs a QR endpoint serves (8-bit or 1/2/4-bit grey, palette, RGB, RGBA; no
interlace) without Pillow or any system library."""

from __future__ import annotations

import struct
import zlib

__all__ = ["PNGError", "decode_luminance", "encode_gray"]

_SIG = b"\x89PNG\r\n\x1a\n"


class PNGError(ValueError):
    """The bytes are not a PNG this module can read."""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_gray(width: int, height: int, pixels: list[list[int]]) -> bytes:
    """An 8-bit grey-scale PNG from rows of 0–255 values."""
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        _SIG
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_luminance(data: bytes) -> tuple[int, int, list[list[int]]]:
    """(width, height, rows of 0–255 luminance) of a non-interlaced PNG."""
    if not data.startswith(_SIG):
        raise PNGError("not a PNG")
    pos, idat, palette = 8, bytearray(), b""
    width = height = depth = ctype = -1
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if interlace:
                raise PNGError("interlaced PNGs are not supported")
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(ctype)
    if width <= 0 or height <= 0 or channels is None or depth not in (1, 2, 4, 8):
        raise PNGError("unsupported PNG layout")
    try:
        raw = zlib.decompress(bytes(idat))
    except zlib.error as exc:
        raise PNGError(f"bad image data: {exc}") from None
    bits = depth * channels
    stride = (width * bits + 7) // 8
    bpp = max(1, bits // 8)
    rows: list[list[int]] = []
    prev = bytearray(stride)
    off = 0
    for _ in range(height):
        if off + 1 + stride > len(raw):
            raise PNGError("truncated image data")
        ftype, line = raw[off], bytearray(raw[off + 1 : off + 1 + stride])
        off += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                line[i] = (line[i] + _paeth(a, b, c)) & 0xFF
        prev = line
        rows.append(_luminance(line, width, depth, ctype, palette))
    return width, height, rows


def _luminance(line: bytearray, width: int, depth: int, ctype: int, palette: bytes) -> list[int]:
    if depth < 8:
        per = 8 // depth
        mask = (1 << depth) - 1
        vals = [(line[x // per] >> (8 - depth * (x % per + 1))) & mask for x in range(width)]
        if ctype == 3:
            return [_pal(palette, v) for v in vals]
        return [v * 255 // mask for v in vals]
    if ctype == 0:
        return list(line[:width])
    if ctype == 3:
        return [_pal(palette, v) for v in line[:width]]
    step = {2: 3, 4: 2, 6: 4}[ctype]
    if ctype == 4:
        return [line[x * step] for x in range(width)]
    return [
        (line[x * step] * 299 + line[x * step + 1] * 587 + line[x * step + 2] * 114) // 1000
        for x in range(width)
    ]


def _pal(palette: bytes, index: int) -> int:
    if 3 * index + 2 >= len(palette):
        return 255
    r, g, b = palette[3 * index : 3 * index + 3]
    return (r * 299 + g * 587 + b * 114) // 1000
