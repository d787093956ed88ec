"""How fast hostile input is refused (README "Reliability": "What is bounded").

Run: ``python benchmarks/hostile_limits.py``. Each figure is the median of a few
runs on loopback; nothing here is asserted (the tests assert behaviour, not time).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from smartqq.client.session_store import load_session
from smartqq.emulator import OICQServer, TQQEmulator, demo_world
from smartqq.errors import SessionFileError
from smartqq.legacy.oicq import messages as msg
from smartqq.protocol import CookieJar

REPEAT = 5


def median_ms(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def session_files(tmp: Path) -> list[tuple[str, float]]:
    rows = []
    cases = {
        "1 MiB of '[' (nesting)": b"[" * (1 << 20),
        "1 MiB + 1 byte (size cap)": b" " * ((1 << 20) + 1),
        "1 MiB of 9s (one huge number)": b'{"version": 1, "session": {"qq": '
        + b"9" * 1_048_500
        + b"}}",
    }
    for name, data in cases.items():
        path = tmp / "s.json"
        path.write_bytes(data)
        os.chmod(path, 0o600)
        rows.append((f"session file: {name}", median_ms(lambda p=path: _refused(p))))
    fifo = tmp / "fifo.json"
    os.mkfifo(fifo, 0o600)
    rows.append(("session file: a FIFO", median_ms(lambda: _refused(fifo))))
    return rows


def _refused(path: Path) -> None:
    try:
        load_session(path)
    except SessionFileError:
        return
    raise AssertionError("accepted")


def cookies() -> list[tuple[str, float]]:
    flood = [f"junk{i}=x; Domain=qq.com; Path=/" for i in range(5000)]
    big = ["skey=" + "v" * 8000 + "; Domain=qq.com"] * 1000
    packed = ["; ".join(f"c{i}=x" for i in range(500))] * 1000  # 500 pairs a line

    def run(headers: list[str]) -> None:
        CookieJar().update_from("http://ptlogin4.web2.qq.com/check_sig", headers)

    return [
        ("cookie jar: one answer with 5,000 Set-Cookie lines", median_ms(lambda: run(flood))),
        ("cookie jar: 1,000 Set-Cookie lines of 8 KB", median_ms(lambda: run(big))),
        ("cookie jar: 1,000 lines of 500 name=value pairs", median_ms(lambda: run(packed))),
    ]


async def tqq_refusals() -> list[tuple[str, float]]:
    rows = []
    async with TQQEmulator() as tqq:
        for name, payload in (
            ("tqq: a 1 MB body (413 before reading it)", _post(b"x" * (1 << 20))),
            ("tqq: a 100 KB header line (closed)", b"POST / HTTP/1.1\r\nX: " + b"a" * 100_000),
            (
                "tqq: Content-Length of 5,000 digits (400)",
                b"POST / HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n",
            ),
        ):
            times = []
            for _ in range(REPEAT):
                start = time.perf_counter()
                await _exchange(tqq.port, payload)
                times.append((time.perf_counter() - start) * 1000)
            rows.append((name, statistics.median(times)))
    return rows


def _post(body: bytes) -> bytes:
    return b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body


async def _exchange(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
    except ConnectionError:
        pass
    try:
        data = await asyncio.wait_for(reader.read(), 10)
    except ConnectionError:
        data = b""
    writer.close()
    try:
        await writer.wait_closed()
    except ConnectionError:
        pass
    return data


async def oicq() -> list[tuple[str, float]]:
    rows = []
    async with OICQServer(demo_world(), max_registrations=10**9) as srv:
        prefix = struct.pack(">BBBBI", 0x81, 0x0A, 0x01, 0x03, 1 << 20)
        times = []
        for _ in range(REPEAT):
            start = time.perf_counter()
            await _exchange(srv.port, prefix + b"\0" * (1 << 20))
            times.append((time.perf_counter() - start) * 1000)
        rows.append(("OICQ: a 1 MB frame (closed at its length field)", statistics.median(times)))
        for n in range(100_000):
            srv.world.add_account(20_000 + n, password="p")
        reg = msg.Register(nick="n", password="p")
        start = time.perf_counter()
        for _ in range(1000):
            srv._register(reg)
        rows.append(
            (
                "OICQ: 1,000 registrations with 100,000 accounts",
                (time.perf_counter() - start) * 1000,
            )
        )
    return rows


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = session_files(Path(tmp))
    rows += cookies()
    rows += await tqq_refusals()
    rows += await oicq()
    for name, ms in rows:
        print(f"{ms:9.2f} ms  {name}")


if __name__ == "__main__":
    asyncio.run(main())
