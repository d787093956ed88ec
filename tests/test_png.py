"""The pure-Python PNG codec behind terminal QR rendering and the captcha image."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartqq._png import PNGError, _paeth, decode_luminance, encode_gray

GRID = [[0, 255, 128, 64], [255, 0, 32, 200], [10, 20, 30, 40]]


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def filtered(rows: list[bytes], bpp: int, ftype: int) -> bytes:
    """Apply PNG filter ``ftype`` to every row (the encoder side of §9 of the PNG spec)."""
    out, prev = bytearray(), bytes(len(rows[0]))
    for row in rows:
        line = bytearray()
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, _paeth(a, b, c)][ftype]
            line.append((x - pred) & 0xFF)
        out += bytes([ftype]) + line
        prev = row
    return bytes(out)


def png(
    width: int,
    height: int,
    depth: int,
    ctype: int,
    rows: list[bytes],
    ftype: int = 0,
    palette: bytes = b"",
    interlace: int = 0,
) -> bytes:
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    bpp = max(1, depth * channels // 8)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, interlace)
    body = chunk(b"IHDR", ihdr)
    if palette:
        body += chunk(b"PLTE", palette)
    data = zlib.compress(filtered(rows, bpp, ftype))
    half = len(data) // 2  # split IDAT: decoders must join the chunks
    body += chunk(b"IDAT", data[:half]) + chunk(b"IDAT", data[half:]) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


@pytest.mark.parametrize("ftype", [0, 1, 2, 3, 4])
def test_every_filter_type_on_grey_and_rgb(ftype: int) -> None:
    grey = [bytes(r) for r in GRID]
    assert decode_luminance(png(4, 3, 8, 0, grey, ftype)) == (4, 3, GRID)
    rgb = [bytes(v for x in r for v in (x, x, x)) for r in GRID]
    assert decode_luminance(png(4, 3, 8, 2, rgb, ftype))[2] == GRID
    rgba = [bytes(v for x in r for v in (x, x, x, 255)) for r in GRID]
    assert decode_luminance(png(4, 3, 8, 6, rgba, ftype))[2] == GRID
    grey_alpha = [bytes(v for x in r for v in (x, 255)) for r in GRID]
    assert decode_luminance(png(4, 3, 8, 4, grey_alpha, ftype))[2] == GRID


def test_palette_and_low_bit_depths() -> None:
    palette = bytes([0, 0, 0, 255, 255, 255])
    # 1-bit palette: 8 pixels in one byte, index 1 (white) where the bit is set.
    assert decode_luminance(png(8, 1, 1, 3, [bytes([0b10100000])], palette=palette))[2] == [
        [255, 0, 255, 0, 0, 0, 0, 0]
    ]
    assert decode_luminance(png(2, 1, 8, 3, [bytes([1, 7])], palette=palette))[2] == [[255, 255]]
    # 2-bit grey scales 0..3 to 0..255.
    assert decode_luminance(png(4, 1, 2, 0, [bytes([0b00011011])]))[2] == [[0, 85, 170, 255]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a", "not a PNG"),
        (png(2, 1, 8, 0, [b"\x00\x00"], interlace=1), "interlaced"),
        (png(2, 1, 16, 0, [b"\x00\x00\x00\x00"]), "unsupported PNG layout"),
        (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", b"not zlib")
            + chunk(b"IEND", b""),
            "bad image data",
        ),
        (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 5, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x01\x02"))
            + chunk(b"IEND", b""),
            "truncated",
        ),
    ],
)
def test_bad_images_raise_png_error(data: bytes, message: str) -> None:
    with pytest.raises(PNGError, match=message):
        decode_luminance(data)


@given(
    st.integers(1, 12).flatmap(
        lambda w: st.lists(
            st.lists(st.integers(0, 255), min_size=w, max_size=w), min_size=1, max_size=8
        )
    )
)
def test_encode_then_decode_round_trips(rows: list[list[int]]) -> None:
    assert decode_luminance(encode_gray(len(rows[0]), len(rows), rows)) == (
        len(rows[0]),
        len(rows),
        rows,
    )
