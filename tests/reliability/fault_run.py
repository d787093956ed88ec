"""A seeded fault-injection run that counts every message (shared by the CI and soak tests).

A bot (password login, re-login on kick) receives uniquely tagged buddy, group
and discussion messages at a steady rate while a seeded schedule injects the
faults of issue 7: dropped connections mid-poll, HTTP 502/504/404, slow answers
past the client's timeout, malformed bodies, every retcode of PROTOCOL §6.2,
1202 on sends, a session expiry, an emulator restart that keeps the world and a
kick. Afterwards the emulator's delivered log is compared with what the
handlers saw.

The emulator side (world, injection, fault schedule) is :func:`drive`; the bot
side is :class:`Bot`. The CI runs put both in one process. The soak runs the
emulator and its driver in a child process (this file run as a script, talking
JSON lines over stdin/stdout), so that the memory sampled in the test process
is the SDK's alone and not the emulator's per-message test logs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smartqq import Client, DiscuMessage, GroupMessage, KickMessage, MessageEvent, SendStatus
from smartqq.emulator import BOT_QQ, Emulator, Fault
from smartqq.errors import SmartQQError

if __package__:
    from .hostile_mix import HostileLog, Hostiles
    from .memory_probe import MemoryProbe
else:  # run as a script: the soak's emulator child process (its folder is on sys.path)
    from hostile_mix import HostileLog, Hostiles  # type: ignore[no-redef]
    from memory_probe import MemoryProbe  # type: ignore[no-redef]

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
    hostile: HostileLog = field(default_factory=HostileLog)
    peer_seen: Counter[str] = field(default_factory=Counter)
    """The poisoning peer's valid control messages, as the bot's handlers saw them."""
    unexpected: list[str] = field(default_factory=list)
    """Texts the handlers saw that nobody should have delivered (poison, say)."""
    kicks_seen: int = 0
    fd_before: int = 0
    fd_after: int = 0
    rss_kib: list[int] = field(default_factory=list)
    """The bot process's RSS, sampled every second."""
    rss_warm_kib: int = 0
    """RSS when the warm-up (the first tenth of the run) ended."""
    rss_mid_kib: int = 0
    """RSS half-way through the run."""
    blocks_mid: int = 0
    blocks_end: int = 0
    """Allocated Python memory blocks half-way and at the end (after a collection)."""
    traced_late_growth_kib: dict[str, int] = field(default_factory=dict)
    """With ``trace=True``: the net change of traced memory from half-way to the end, by
    area. Bounded caches (yarl's URL caches, the de-duplication window) fill during the
    first half; a leak keeps growing."""

    def summary(self) -> str:
        return (
            f"injected={self.injected} delivered={self.delivered} seen={self.seen} "
            f"lost={len(self.lost)} duplicated={len(self.duplicated)} "
            f"out_of_order={len(self.out_of_order)} faults={sum(self.faults.values())} "
            f"max_gap_after_fault={self.max_gap_after_fault:.2f}s "
            f"(worst: {max(self.gaps, key=self.gaps.__getitem__, default='-')}) "
            f"replies={dict(self.replies)} "
            f"poison sent={self.hostile.poison_sent} answers={self.hostile.poison_answers} "
            f"inject refused={self.hostile.inject_refused} "
            f"accepted={self.hostile.inject_accepted} "
            f"controls ok/seen={len(self.hostile.controls_ok)}/{sum(self.peer_seen.values())} "
            f"peer_logins={self.hostile.peer_logins} unexpected={len(self.unexpected)} "
            f"poisoned_at_poll={self.hostile.poisoned_at_poll} "
            f"qr codes={self.hostile.qr_codes} answers={self.hostile.qr_answers} "
            f"confirmed={self.hostile.qr_confirmed} kicks seen/scheduled="
            f"{self.kicks_seen}/{self.faults['kick']} "
            f"rss_kib first/warm/mid/last={self.rss_kib[:1]}/{self.rss_warm_kib}/"
            f"{self.rss_mid_kib}/{self.rss_kib[-1:]} "
            f"blocks mid/end={self.blocks_mid}/{self.blocks_end} "
            f"traced_late_growth_kib={self.traced_late_growth_kib}"
        )


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


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


@dataclass
class DriveLog:
    """What the emulator side did and delivered; JSON-able for the child process."""

    injected: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    fault_starts: list[tuple[str, float]] = field(default_factory=list)
    slow_fired: list[list[float]] = field(default_factory=list)
    """``Fault.fired_at`` of each slow-answer rule, in the order they were set."""
    delivered: list[str] = field(default_factory=list)
    """Tokens the emulator wrote to the bot's polls, in order."""
    sent: list[str] = field(default_factory=list)
    """Texts the emulator accepted from the bot."""
    hostile: HostileLog = field(default_factory=HostileLog)
    """What the poisoning peer and the QR stranger did and were told."""

    def to_json(self) -> str:
        return json.dumps({**self.__dict__, "hostile": self.hostile.__dict__})

    @classmethod
    def from_json(cls, text: str) -> DriveLog:
        raw = json.loads(text)
        raw["fault_starts"] = [tuple(x) for x in raw["fault_starts"]]
        raw["hostile"] = HostileLog(**raw["hostile"])
        return cls(**raw)


def new_emulator(seed: int) -> Emulator:
    # QR auto-confirm stays at its default (off): the mix's stranger must never log in.
    return Emulator(hold=HOLD, max_batch=random.Random(seed).choice([1, 5, 20]))


async def drive(
    emu: Emulator,
    duration: float,
    seed: int,
    rate: float = 40.0,
    fault_every: float = 0.35,
    *,
    slow_rules: list[Fault],
) -> DriveLog:
    """Inject tagged messages at ``rate`` per second and seeded faults for ``duration``."""
    rng = random.Random(seed)
    log = DriveLog()
    faults: Counter[str] = Counter()
    background: set[asyncio.Task[Any]] = set()
    hostiles = Hostiles(emu)
    schedule = _schedule() + hostiles.schedule()
    hostile_first = hostiles.schedule()
    start = time.monotonic()
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
            # The hostile cases come early in every run (short CI runs included), then
            # take their turn in the seeded mix like any other fault.
            early = hostile_first[len(log.fault_starts)] if len(log.fault_starts) < 2 else None
            name, action = early or rng.choice(schedule)
            faults[name] += 1
            log.fault_starts.append((name, time.monotonic()))
            outcome = action(emu)
            if isinstance(outcome, Fault) and outcome.action == "delay":
                slow_rules.append(outcome)
            if asyncio.iscoroutine(outcome):
                task = asyncio.ensure_future(outcome)
                background.add(task)
                task.add_done_callback(background.discard)
            next_fault = time.monotonic() + fault_every * rng.uniform(0.5, 1.5)
        await asyncio.sleep(1 / rate)
    await asyncio.gather(*background)
    emu.faults.clear()
    log.hostile = hostiles.finish()
    log.injected = n
    log.faults = dict(faults)
    return log


async def drain(emu: Emulator, timeout: float = 10.0) -> list[str]:
    """Wait until nothing is queued for the bot; the tokens delivered to it."""
    until = time.monotonic() + timeout
    while emu.service.queues.get(BOT_QQ) and time.monotonic() < until:
        await asyncio.sleep(0.05)
    return [d.token for d in emu.service.delivered if d.qq == BOT_QQ and d.token]


def finish_log(emu: Emulator, log: DriveLog, slow_rules: list[Fault]) -> None:
    log.delivered = [d.token for d in emu.service.delivered if d.qq == BOT_QQ and d.token]
    log.sent = [str(r["text"]) for r in emu.sent]
    log.slow_fired = [list(rule.fired_at) for rule in slow_rules]
    log.hostile.poisoned_at_poll = int(emu.stats()["poisoned"])


_KINDS = ("buddy", "group", "discu")


class Bot:
    """The bot under test: records every message it sees and replies to every tenth."""

    def __init__(self, url: str) -> None:
        # Compact records (about 20 bytes a message), so that a ten-minute soak's own
        # bookkeeping does not swamp the SDK's memory figures.
        self._kinds = bytearray()
        self._numbers = array("q")
        self.seen_at = array("d")
        self.reply_status: dict[str, str] = {}
        self.reply_errors: list[str] = []
        self.busy = 0
        self.peer_seen: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.kicks = 0
        self.client = Client(
            BOT_QQ,
            "bot-password",
            base_url=url,
            poll_timeout=POLL_TIMEOUT,
            backoff_base=0.02,
            backoff_cap=BACKOFF_CAP,
            send_interval=0,
            relogin_on_kick=True,
            contacts_refresh=None,
        )
        self.client.on()(self._record)
        self.client.on()(self._kicked)

    async def _kicked(self, event: KickMessage) -> None:
        self.kicks += 1

    async def _record(self, msg: MessageEvent) -> None:
        self.busy += 1
        try:
            tag = msg.text.strip()
            if tag[:1] == "p" and tag[1:].isdigit():
                self.peer_seen[tag] += 1  # the poisoning peer's valid control message
                return
            if tag[:1] != "m" or not tag[1:].isdigit():
                self.unexpected.append(tag[:40])
                return
            if isinstance(msg, GroupMessage):
                kind = "group"
            elif isinstance(msg, DiscuMessage):
                kind = "discu"
            else:
                kind = "buddy"
            self._kinds.append(_KINDS.index(kind))
            self._numbers.append(int(tag[1:]))
            self.seen_at.append(time.monotonic())
            if int(tag[1:]) % 10 == 0:
                try:
                    result = await msg.reply("re:" + tag)
                    self.reply_status["re:" + tag] = result.status.value
                except SmartQQError as exc:
                    self.reply_status["re:" + tag] = "error"
                    self.reply_errors.append(f"{tag}: {type(exc).__name__}: {exc}")
        finally:
            self.busy -= 1

    @property
    def seen(self) -> list[tuple[str, int]]:
        """(kind, number) of every message a handler saw, in order."""
        return [(_KINDS[k], n) for k, n in zip(self._kinds, self._numbers, strict=True)]

    async def settle(self, delivered: list[str], timeout: float = 10.0) -> None:
        """Wait until the handlers saw every delivered token and finished replying."""
        # Allocation-light: after one pass, only new arrivals are checked against what is
        # still missing (the soak's memory samples run meanwhile).
        missing = {int(t[1:]) for t in delivered}
        checked = 0
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            for n in self._numbers[checked:]:
                missing.discard(n)
            checked = len(self._numbers)
            if self.busy == 0 and not missing:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)


async def fault_run(
    duration: float,
    seed: int,
    rate: float = 40.0,
    fault_every: float = 0.35,
    trace: bool = False,
    separate_process: bool = False,
) -> FaultRunResult:
    """One run; ``separate_process`` puts the emulator and its driver in a child process."""
    res = FaultRunResult(fd_before=_fd_count())
    probe = MemoryProbe(res, duration, trace)
    if separate_process:
        log, bot = await _run_split(duration, seed, rate, fault_every, probe)
    else:
        slow_rules: list[Fault] = []
        async with new_emulator(seed) as emu:
            bot = Bot(emu.url)
            async with bot.client:
                probe.start()
                log = await drive(emu, duration, seed, rate, fault_every, slow_rules=slow_rules)
                # The memory figures end with the run: what follows is the test's own
                # bookkeeping (tens of thousands of tokens compared), not the bot's.
                await probe.stop()
                await bot.settle(await drain(emu))
            finish_log(emu, log, slow_rules)
    _analyse(log, bot, res)
    current = asyncio.current_task()
    res.leftover_tasks = [
        t.get_name() for t in asyncio.all_tasks() if t is not current and not t.done()
    ]
    res.fd_after = _fd_count()
    return res


async def _run_split(
    duration: float, seed: int, rate: float, fault_every: float, probe: MemoryProbe
) -> tuple[DriveLog, Bot]:
    args = [__file__, "--child", str(duration), str(seed), str(rate), str(fault_every)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=2**26,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None

    async def read() -> Any:
        line = await asyncio.wait_for(proc.stdout.readline(), duration + 60)  # type: ignore[union-attr]
        if not line:
            raise RuntimeError("the emulator process ended early")
        return json.loads(line)

    async def say(word: str) -> None:
        proc.stdin.write(word.encode() + b"\n")  # type: ignore[union-attr]
        await proc.stdin.drain()  # type: ignore[union-attr]

    try:
        url = (await read())["url"]
        bot = Bot(url)
        async with bot.client:
            probe.start()
            await say("go")
            await asyncio.sleep(duration)  # the child injects for this long
            await probe.stop()  # before reading tens of thousands of tokens (see above)
            delivered = (await read())["delivered"]
            await bot.settle(delivered)
            await say("finish")
            log = DriveLog.from_json(json.dumps(await read()))
    finally:
        if proc.returncode is None:
            proc.stdin.close()
            await proc.wait()
    return log, bot


async def _child(duration: float, seed: int, rate: float, fault_every: float) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def say(obj: object) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    slow_rules: list[Fault] = []
    async with new_emulator(seed) as emu:
        say({"url": emu.url})
        await reader.readline()  # go
        log = await drive(emu, duration, seed, rate, fault_every, slow_rules=slow_rules)
        say({"delivered": await drain(emu)})
        await reader.readline()  # finish: the bot saw everything and is done replying
        finish_log(emu, log, slow_rules)
        say(json.loads(log.to_json()))


def _analyse(log: DriveLog, bot: Bot, res: FaultRunResult) -> None:
    res.injected = log.injected
    res.faults = Counter(log.faults)
    res.delivered = len(set(log.delivered))
    res.seen = len(bot.seen)
    res.hostile = log.hostile
    res.peer_seen = bot.peer_seen
    res.unexpected = bot.unexpected
    res.kicks_seen = bot.kicks
    seen_tags = Counter(f"m{i}" for _, i in bot.seen)
    res.lost = sorted(set(log.delivered) - set(seen_tags))
    res.duplicated = sorted(t for t, c in seen_tags.items() if c > 1)
    for kind in ("buddy", "group", "discu"):
        numbers = [i for k, i in bot.seen if k == kind]
        res.out_of_order += [f"{kind}:m{b}<m{a}" for a, b in itertools.pairwise(numbers) if b < a]
    # A slow answer stalls the poll it fires on until the client gives up on it. Rules
    # set while the client is stalled wait for later polls, so the emulator's firing
    # times are the truth. Faults injected during a stall end when it ends (chained),
    # or the stall would be charged to each of them.
    windows = sorted((t, t + POLL_TIMEOUT) for fired in log.slow_fired for t in fired)
    pending_slow = list(log.slow_fired)
    for name, start in log.fault_starts:
        end = start
        if name == "slow past timeout" and pending_slow:
            fired = pending_slow.pop(0)
            if fired:
                end = fired[0] + POLL_TIMEOUT
        for a, b in windows:
            # A stall that starts within one backoff of the end continues the outage.
            if a - BACKOFF_CAP - HOLD <= end <= b:
                end = max(end, b)
        after = next((t for t in bot.seen_at if t > end), None)
        if after is not None:
            res.gaps[name] = max(res.gaps.get(name, 0.0), after - end)
    res.max_gap_after_fault = max(res.gaps.values(), default=0.0)
    sent_counts = Counter(log.sent)
    for text, status in bot.reply_status.items():
        count = sent_counts.get(text, 0)
        if status == SendStatus.SENT.value and count != 1:
            res.replies["sent but not exactly once"] += 1
        elif count > 1:
            res.replies["sent twice"] += 1
        else:
            res.replies[status] += 1


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    duration_, seed_, rate_, every_ = sys.argv[2:6]
    asyncio.run(_child(float(duration_), int(seed_), float(rate_), float(every_)))
