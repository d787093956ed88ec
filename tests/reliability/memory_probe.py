"""Memory sampling for the fault run: RSS every second, allocated blocks half-way and at
the end, and (a diagnostic) tracemalloc growth by area. Split from ``fault_run``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
import time
import tracemalloc
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .fault_run import FaultRunResult


def _rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _areas(snapshot: tracemalloc.Snapshot) -> Counter[str]:
    out: Counter[str] = Counter()
    for stat in snapshot.statistics("filename"):
        name = stat.traceback[0].filename
        if "smartqq/emulator" in name:
            area = "emulator (incl. its test logs)"
        elif "smartqq/" in name:
            area = "smartqq client/protocol"
        elif "aiohttp" in name or "yarl" in name or "multidict" in name:
            area = "aiohttp"
        else:
            area = "other"
        out[area] += stat.size
    return out


class MemoryProbe:
    """Samples RSS every second, and the interpreter's allocated block count at half-way
    and at the end (``sys.getallocatedblocks``: a net count, free of tracing overhead).

    With ``trace`` (a diagnostic; tracing inflates RSS), tracemalloc runs from the start
    and the growth from half-way to the end is attributed by area.
    """

    def __init__(self, res: FaultRunResult, duration: float, trace: bool) -> None:
        self.res = res
        self.duration = duration
        self.trace = trace
        self.warm_done = False
        self.mid: Counter[str] | None = None
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        start = time.monotonic()
        while True:
            self.res.rss_kib.append(_rss_kib())
            elapsed = time.monotonic() - start
            if not self.warm_done and elapsed >= self.duration / 10:
                self.warm_done = True
                self.res.rss_warm_kib = _rss_kib()
            if self.res.rss_mid_kib == 0 and elapsed >= self.duration / 2:
                gc.collect()
                self.res.rss_mid_kib = _rss_kib()
                self.res.blocks_mid = sys.getallocatedblocks()
                if self.trace:
                    self.mid = _areas(tracemalloc.take_snapshot())
            await asyncio.sleep(1.0)

    def start(self) -> None:
        if self.trace:
            tracemalloc.start()
        self._task = asyncio.create_task(self._sample(), name="memory-probe")

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        gc.collect()
        self.res.rss_kib.append(_rss_kib())
        self.res.blocks_end = sys.getallocatedblocks()
        if self.trace:
            final = _areas(tracemalloc.take_snapshot())
            tracemalloc.stop()
            if self.mid is not None:
                self.res.traced_late_growth_kib = {
                    k: (final[k] - self.mid.get(k, 0)) // 1024 for k in sorted(final)
                }
