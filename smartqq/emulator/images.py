"""Images the emulator serves: real QR codes (segno) and readable captcha PNGs."""

from __future__ import annotations

import io
import random

import segno

from smartqq._png import encode_gray

__all__ = ["captcha_png", "qr_png"]

# 5x7 glyphs for the captcha alphabet (no 0/O/1/I to keep codes readable).
_GLYPHS = {
    "A": "01110100011000111111100011000110001",
    "B": "11110100011111010001100011000111110",
    "C": "01111100001000010000100001000001111",
    "D": "11110100011000110001100011000111110",
    "E": "11111100001111010000100001000011111",
    "F": "11111100001111010000100001000010000",
    "G": "01111100001000010011100011000101111",
    "H": "10001100011111110001100011000110001",
    "J": "00111000100001000010100101001001100",
    "K": "10001100101010011000101001001010001",
    "L": "10000100001000010000100001000011111",
    "M": "10001110111010110001100011000110001",
    "N": "10001110011010110011100011000110001",
    "P": "11110100011000111110100001000010000",
    "Q": "01110100011000110001101011001001101",
    "R": "11110100011000111110101001001010001",
    "S": "01111100000111000001000011000111110",
    "T": "11111001000010000100001000010000100",
    "U": "10001100011000110001100011000101110",
    "V": "10001100011000110001100010101000100",
    "W": "10001100011000110101101011101110001",
    "X": "10001100010101000100010101000110001",
    "Y": "10001100010101000100001000010000100",
    "Z": "11111000010001000100010001000011111",
}
CAPTCHA_ALPHABET = "".join(_GLYPHS)


def qr_png(data: str, scale: int = 3) -> bytes:
    """A QR-code PNG of ``data`` (error level M, like ptqrshow's ``l=M``)."""
    buf = io.BytesIO()
    segno.make_qr(data, error="m").save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()


def captcha_png(code: str, seed: int | None = None) -> bytes:
    """A 4-letter captcha drawn with a bitmap font and light noise, as PNG."""
    rng = random.Random(seed)
    scale, pad = 4, 6
    width = pad * 2 + len(code) * 6 * scale
    height = pad * 2 + 7 * scale
    rows = [[235 + rng.randrange(20) for _ in range(width)] for _ in range(height)]
    for n, ch in enumerate(code.upper()):
        glyph = _GLYPHS.get(ch, "0" * 35)
        dy = rng.randrange(-2, 3)
        for gy in range(7):
            for gx in range(5):
                if glyph[gy * 5 + gx] == "1":
                    for sy in range(scale):
                        for sx in range(scale):
                            y = pad + dy + gy * scale + sy
                            x = pad + n * 6 * scale + gx * scale + sx
                            if 0 <= y < height and 0 <= x < width:
                                rows[y][x] = rng.randrange(40)
    return encode_gray(width, height, rows)
