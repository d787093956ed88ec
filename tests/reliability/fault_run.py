"""A seeded fault-injection run that counts every message (shared by the CI and soak tests).

A bot (password login, re-login on kick) receives uniquely tagged buddy, group
and discussion messages at a steady rate while a seeded schedule injects the
faults of issue 7: dropped connections mid-poll, HTTP 502/504/404, slow answers
past the client's timeout, malformed bodies, every retcode of PROTOCOL §6.2,
1202 on sends, a session expiry, an emulator restart that keeps the world and a
kick. Afterwards the emulator's delivered log is compared with what the
handlers saw.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import random
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smartqq import (
    Client,
    DiscuMessage,
    GroupMessage,
    MessageEvent,
    SendStatus,
)
from smartqq.emulator import BOT_QQ, Emulator, Fault
from smartqq.errors import SmartQQError

POLL_TIMEOUT = 2.0
HOLD = 0.5
BACKOFF_CAP = 0.5


@dataclass
class FaultRunResult:
    injected: int = 0
    delivered: int = 0
    seen: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    out_of_order: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    max_gap_after_fault: float = 0.0
    """Seconds from a fault's end to the next message a handler saw (worst case)."""
    gaps: dict[str, float] = field(default_factory=dict)
    replies: Counter[str] = field(default_factory=Counter)
    reply_errors: list[str] = field(default_factory=list)
    leftover_tasks: list[str] = field(default_factory=list)
    fd_before: int = 0
    fd_after: int = 0
    rss_kib: list[int] = field(default_factory=list)
    traced_growth_kib: dict[str, int] = field(default_factory=dict)
    """With ``trace=True``: memory allocated after warm-up and still held at the end, by area."""

    def summary(self) -> str:
        return (
            f"injected={self.injected} delivered={self.delivered} seen={self.seen} "
            f"lost={len(self.lost)} duplicated={len(self.duplicated)} "
            f"out_of_order={len(self.out_of_order)} faults={sum(self.faults.values())} "
            f"max_gap_after_fault={self.max_gap_after_fault:.2f}s "
            f"(worst: {max(self.gaps, key=self.gaps.__getitem__, default='-')}) "
            f"replies={dict(self.replies)} "
            f"rss_kib first/last={self.rss_kib[:1]}/{self.rss_kib[-1:]} "
            f"traced_growth_kib={self.traced_growth_kib}"
        )


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


FaultAction = Callable[[Emulator], Any]


def _schedule() -> list[tuple[str, FaultAction]]:
    def poll(action: str, value: float = 0) -> FaultAction:
        return lambda emu: emu.faults.add("poll2", action, value)  # type: ignore[arg-type]

    def slow(emu: Emulator) -> Fault:
        return emu.faults.add("poll2", "delay", POLL_TIMEOUT + 0.5)

    def retcodes(*codes: int) -> FaultAction:
        def add(emu: Emulator) -> None:
            for code in codes:
                emu.faults.add("poll2", "retcode", code)

        return add

    async def rotate(emu: Emulator) -> None:
        emu.config.rotate_ptwebqq_every = 0
        await asyncio.sleep(0.1)
        emu.config.rotate_ptwebqq_every = None

    def sends_1202(emu: Emulator) -> None:
        for endpoint in ("send_buddy_msg2", "send_qun_msg2", "send_discu_msg2"):
            emu.faults.add(endpoint, "retcode", 1202)

    return [
        ("close mid-poll", poll("close")),
        ("HTTP 502", poll("status", 502)),
        ("HTTP 504", poll("status", 504)),
        ("HTTP 404", poll("status", 404)),
        ("slow past timeout", slow),
        ("malformed body", poll("malformed")),
        ("116 rotation", rotate),
        ("103 burst", retcodes(103, 103, 103)),
        ("120", retcodes(120)),
        ("121", retcodes(121)),
        ("100", retcodes(100)),
        ("108", retcodes(108)),
        ("100000", retcodes(100000)),
        ("100001", retcodes(100001)),
        ("100002", retcodes(100002)),
        ("unknown 999 x4", retcodes(999, 999, 999, 999)),
        ("1202 on sends", sends_1202),
        ("session expiry", lambda emu: emu.expire_sessions()),
        ("restart keeping the world", lambda emu: emu.restart()),
        ("kick", lambda emu: emu.kick(BOT_QQ)),
    ]


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


async def fault_run(
    duration: float, seed: int, rate: float = 40.0, fault_every: float = 0.35, trace: bool = False
) -> FaultRunResult:
    rng = random.Random(seed)
    res = FaultRunResult(fd_before=_fd_count())
    seen: list[tuple[str, int]] = []
    seen_at: list[float] = []
    fault_ends: list[tuple[str, float]] = []
    reply_status: dict[str, str] = {}
    background: set[asyncio.Task[Any]] = set()
    async with Emulator(hold=HOLD, qr_confirm_after=1, max_batch=rng.choice([1, 5, 20])) as emu:
        client = Client(
            BOT_QQ,
            "bot-password",
            base_url=emu.url,
            poll_timeout=POLL_TIMEOUT,
            backoff_base=0.02,
            backoff_cap=BACKOFF_CAP,
            send_interval=0,
            relogin_on_kick=True,
            contacts_refresh=None,
        )

        @client.on()
        async def record(msg: MessageEvent) -> None:
            tag = msg.text.strip()
            kind = (
                "group"
                if isinstance(msg, GroupMessage)
                else "discu"
                if isinstance(msg, DiscuMessage)
                else "buddy"
            )
            seen.append((kind, int(tag[1:])))
            seen_at.append(time.monotonic())
            if int(tag[1:]) % 10 == 0:
                try:
                    result = await msg.reply("re:" + tag)
                    reply_status["re:" + tag] = result.status.value
                except SmartQQError as exc:
                    reply_status["re:" + tag] = "error"
                    res.reply_errors.append(f"{tag}: {type(exc).__name__}: {exc}")

        async with client:
            schedule = _schedule()
            start = time.monotonic()
            warm: Counter[str] | None = None
            slow_rules: list[Fault] = []
            next_fault = start + fault_every
            n = 0
            while time.monotonic() - start < duration:
                n += 1
                kind = rng.choice(["buddy", "group", "discu"])
                tag = f"m{n}"
                if kind == "buddy":
                    emu.user(10002).send_buddy(BOT_QQ, tag, token=tag)
                elif kind == "group":
                    emu.user(10003).send_group("Python Fans", tag, token=tag)
                else:
                    emu.user(10002).send_discu("Weekend plans", tag, token=tag)
                if time.monotonic() >= next_fault:
                    name, action = rng.choice(schedule)
                    res.faults[name] += 1
                    fault_ends.append((name, time.monotonic()))
                    outcome = action(emu)
                    if isinstance(outcome, Fault) and outcome.action == "delay":
                        slow_rules.append(outcome)
                    if asyncio.iscoroutine(outcome):
                        task = asyncio.ensure_future(outcome)
                        background.add(task)
                        task.add_done_callback(background.discard)
                    next_fault = time.monotonic() + fault_every * rng.uniform(0.5, 1.5)
                if n % 50 == 0:
                    res.rss_kib.append(_rss_kib())
                if trace and warm is None and time.monotonic() - start > duration / 10:
                    gc.collect()
                    warm = _areas(tracemalloc.take_snapshot())
                await asyncio.sleep(1 / rate)
            await asyncio.gather(*background)
            emu.faults.clear()
            # Let the last queued messages arrive.
            quiet_until = time.monotonic() + 10
            while time.monotonic() < quiet_until:
                delivered = {d.token for d in emu.service.delivered if d.qq == BOT_QQ}
                if delivered <= {f"m{i}" for _, i in seen} and not emu.service.queues.get(BOT_QQ):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            if trace and warm is not None:
                gc.collect()
                final = _areas(tracemalloc.take_snapshot())
                res.traced_growth_kib = {
                    k: (final[k] - warm.get(k, 0)) // 1024 for k in sorted(final)
                }
        res.injected = n
        delivered_tokens = [d.token for d in emu.service.delivered if d.qq == BOT_QQ and d.token]
        res.delivered = len(set(delivered_tokens))
        res.seen = len(seen)
        seen_tags = Counter(f"m{i}" for _, i in seen)
        res.lost = sorted(set(delivered_tokens) - set(seen_tags))
        res.duplicated = sorted(t for t, c in seen_tags.items() if c > 1)
        for kind in ("buddy", "group", "discu"):
            numbers = [i for k, i in seen if k == kind]
            res.out_of_order += [
                f"{kind}:m{b}<m{a}" for a, b in itertools.pairwise(numbers) if b < a
            ]
        # A slow answer stalls the poll it fires on until the client gives up on it. Rules
        # set while the client is stalled wait for later polls, so the emulator's firing
        # times are the truth. Faults injected during a stall end when it ends (chained),
        # or the stall would be charged to each of them.
        windows = sorted((t, t + POLL_TIMEOUT) for rule in slow_rules for t in rule.fired_at)
        pending_slow = list(slow_rules)
        for name, start in fault_ends:
            end = start
            if name == "slow past timeout" and pending_slow:
                rule = pending_slow.pop(0)
                if rule.fired_at:
                    end = rule.fired_at[0] + POLL_TIMEOUT
            for a, b in windows:
                # A stall that starts within one backoff of the end continues the outage.
                if a - BACKOFF_CAP - HOLD <= end <= b:
                    end = max(end, b)
            after = next((t for t in seen_at if t > end), None)
            if after is not None:
                res.gaps[name] = max(res.gaps.get(name, 0.0), after - end)
        res.max_gap_after_fault = max(res.gaps.values(), default=0.0)
        sent_counts = Counter(r["text"] for r in emu.sent)
        for text, status in reply_status.items():
            count = sent_counts.get(text, 0)
            if status == SendStatus.SENT.value and count != 1:
                res.replies["sent but not exactly once"] += 1
            elif count > 1:
                res.replies["sent twice"] += 1
            else:
                res.replies[status] += 1
    current = asyncio.current_task()
    res.leftover_tasks = [
        t.get_name() for t in asyncio.all_tasks() if t is not current and not t.done()
    ]
    res.fd_after = _fd_count()
    return res
