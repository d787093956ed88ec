"""The QR code handed to ``on_qrcode``: PNG bytes, a terminal rendering, notebook display."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from smartqq._png import PNGError, decode_luminance

__all__ = ["QRCode", "show_in_terminal"]


@dataclass(frozen=True, slots=True)
class QRCode:
    png: bytes
    attempt: int = 0
    """0 for the first code, 1 after the first expiry, …"""

    def _repr_png_(self) -> bytes:
        return self.png

    def save(self, path: str) -> None:
        with open(path, "wb") as fh:
            fh.write(self.png)

    def modules(self) -> list[list[bool]]:
        """The code as a grid of dark (True) modules, quiet zone included."""
        _, _, rows = decode_luminance(self.png)
        dark = [[v < 128 for v in row] for row in rows]
        top = next((y for y, row in enumerate(dark) if any(row)), None)
        if top is None:
            raise PNGError("the image is blank")
        left = dark[top].index(True)
        run = 0
        while left + run < len(dark[top]) and dark[top][left + run]:
            run += 1
        size = max(1, run // 7)  # a finder pattern is 7 modules wide
        border = left // size
        count = (len(dark[0]) - 2 * left) // size
        grid: list[list[bool]] = []
        for my in range(-border, count + border):
            y = top + my * size + size // 2
            grid.append(
                [
                    0 <= y < len(dark)
                    and 0 <= (x := left + mx * size + size // 2) < len(dark[0])
                    and dark[y][x]
                    for mx in range(-border, count + border)
                ]
            )
        return grid

    def terminal(self, invert: bool = False) -> str:
        """Two module rows per text line with half blocks; light modules are drawn
        (readable on dark terminals), or dark ones with ``invert=True``."""
        grid = self.modules()
        if len(grid) % 2:
            grid.append([False] * len(grid[0]))
        chars = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
        lines = []
        for y in range(0, len(grid), 2):
            lines.append(
                "".join(
                    chars[(grid[y][x] == invert, grid[y + 1][x] == invert)]
                    for x in range(len(grid[y]))
                )
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<QRCode attempt={self.attempt} {len(self.png)} bytes>"


def show_in_terminal(qr: QRCode) -> None:
    """The default ``on_qrcode``: print the code to stderr."""
    # Without a callback the only place a person can see the code is the terminal.
    sys.stderr.write("Scan this QR code with the QQ mobile app:\n" + qr.terminal() + "\n")
    sys.stderr.flush()
