"""``smartqq demo``: the echo bot against the embedded emulator, with a live transcript.

The emulator serves the demo world; the bot logs in by QR (rendered in the
terminal from the PNG, confirmed by the emulator), lists its contacts, and
answers scripted buddy, group and discussion messages (faces and one long
message that gets split). A summary with reply latencies ends the run.
"""

from __future__ import annotations

import asyncio
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from smartqq.client import Client, QRCode
from smartqq.content import Content, Face, Text
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.events import DiscuMessage, GroupMessage, LoggedIn, MessageEvent

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "echo_bot.py"
LONG_TEXT = " ".join(
    f"line {i}: the quick brown fox jumps over the lazy dog." for i in range(1, 31)
)


class Printer:
    def __init__(self, color: bool) -> None:
        self.color = color
        self.start = time.monotonic()

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def line(self, who: str, where: str, text: str, code: str = "0") -> None:
        stamp = f"{time.monotonic() - self.start:6.2f}s"
        short = text if len(text) <= 70 else text[:67] + "..."
        print(
            f"{self.paint(stamp, '2')} {self.paint(f'{who:>10}', code)} @ {where:<22} {short}",
            flush=True,
        )


def _register_echo(client: Client) -> None:
    if EXAMPLE.exists():
        spec = importlib.util.spec_from_file_location("smartqq_example_echo_bot", EXAMPLE)
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            module.register(client)
            return

    @client.on()
    async def echo(msg: MessageEvent) -> None:  # installed copies ship without examples/
        parts = [seg for seg in msg.content.segments if isinstance(seg, Text | Face)]
        if parts:
            await msg.reply(Content.of("echo: ", *parts))


def _where(event: MessageEvent, names: dict[tuple[str, int], str]) -> str:
    if isinstance(event, GroupMessage):
        return "group " + names.get(("group", event.from_uin), str(event.from_uin))
    if isinstance(event, DiscuMessage):
        return "discuss " + names.get(("discu", event.did), str(event.did))
    return "buddy chat"


async def run_demo(*, interactive: bool = False, color: str = "auto", web: bool = False) -> int:
    use_color = color == "always" or (color == "auto" and sys.stdout.isatty())
    out = Printer(use_color)
    async with Emulator(hold=5 if interactive else 2, qr_confirm_after=2, qr_account=BOT_QQ) as emu:
        print(
            out.paint(
                f"Embedded SmartQQ emulator on {emu.url} (the real service closed in 2019)", "1"
            )
        )

        def show_qr(qr: QRCode) -> None:
            print("Bot login by QR code (the emulator scans and confirms it):")
            print(qr.terminal())

        client = Client(
            base_url=emu.url, on_qrcode=show_qr, qr_poll_interval=0.2, send_interval=0.05
        )
        received: list[MessageEvent] = []
        names: dict[tuple[str, int], str] = {}

        @client.on()
        async def logged_in(ev: LoggedIn) -> None:
            out.line("system", "login", f"logged in as {ev.nick} (uin {ev.uin})", "33")

        @client.on()
        async def transcript(msg: MessageEvent) -> None:
            received.append(msg)
            out.line(await msg.get_sender(), _where(msg, names), str(msg.content), "36")

        # Registered after the transcript so each message is printed before its reply.
        _register_echo(client)

        def show_reply(rec: dict[str, Any]) -> None:
            out.line("SmartBot", _reply_where(emu, rec), rec["text"], "32")

        unwatch = emu.on_sent(show_reply)
        script: list[tuple[int, str, Any, Any]] = [
            (10002, "buddy", BOT_QQ, "hi bot! how are you?"),
            (10003, "group", "Python Fans", ["asyncio is great ", ["face", 14]]),
            (
                10002,
                "discu",
                "Weekend plans",
                ["hiking on saturday? ", ["face", 76], " bring snacks"],
            ),
            (10004, "buddy", BOT_QQ, ["thanks ", ["face", 63]]),
            (10002, "buddy", BOT_QQ, LONG_TEXT),
        ]
        sent_at: list[float] = []
        async with client:
            friends, groups, discus = await asyncio.gather(
                client.get_friends(), client.get_groups(), client.get_discus()
            )
            names.update({("group", g.gid): g.name for g in groups})
            names.update({("discu", d.did): d.name for d in discus})
            # Warm the contact cache so sender names resolve without a round trip.
            await client.contacts.refresh()
            for g in groups:
                await client.contacts.group_members(g.gid)
            for d in discus:
                await client.contacts.discu_members(d.did)
            print(
                out.paint("Friends:", "1"),
                ", ".join(f"{f.display_name} [{f.category_name}]" for f in friends),
            )
            print(out.paint("Groups:", "1"), ", ".join(g.name for g in groups))
            print(out.paint("Discussions:", "1"), ", ".join(d.name for d in discus))
            for qq, kind, target, content in script:
                user = emu.user(qq)
                sent_at.append(time.time())
                if kind == "buddy":
                    user.send_buddy(target, content)
                elif kind == "group":
                    user.send_group(target, content)
                else:
                    user.send_discu(target, content)
                await asyncio.sleep(0.15)
            # 5 replies, the long one in 3 parts: wait for all 7 (bounded).
            deadline = time.monotonic() + 8
            while len(emu.sent) < len(script) + 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if interactive:
                await _interactive(emu)
            if web:
                await _serve_web(emu, out)
        unwatch()
        latencies = _latencies(script, sent_at, emu.sent)
        print(out.paint("Summary:", "1"))
        print(f"  messages received by the bot: {len(received)}")
        print(
            f"  messages sent by the bot:     {len(emu.sent)} (the long one in {_parts(emu.sent)} parts)"
        )
        if latencies:
            print(
                f"  reply latency: median {statistics.median(latencies):.1f} ms, worst {max(latencies):.1f} ms"
            )
        ok = len(received) >= len(script) and len(latencies) == len(script)
        print("demo finished " + ("OK" if ok else "with missing replies"))
        return 0 if ok else 1


def _latencies(
    script: list[tuple[int, str, Any, Any]], sent_at: list[float], sent: list[dict[str, Any]]
) -> list[float]:
    """Milliseconds from each scripted message to the bot's first reply part for it."""
    out = []
    for (_, _, _, content), t0 in zip(script, sent_at, strict=True):
        first = (
            content if isinstance(content, str) else next(c for c in content if isinstance(c, str))
        )
        prefix = ("echo: " + first)[:24]
        reply = next((r for r in sent if r["text"].startswith(prefix)), None)
        if reply is not None:
            out.append((reply["t"] - t0) * 1000)
    return out


def _parts(sent: list[dict[str, Any]]) -> int:
    return sum(1 for rec in sent if "line " in rec["text"])


def _reply_where(emu: Emulator, rec: dict[str, Any]) -> str:
    if rec["kind"] == "group":
        return "group " + emu.world.find_group(rec["to"]).name
    if rec["kind"] == "discu":
        return "discuss " + emu.world.discussions[rec["to"]].name
    return "reply to " + emu.world.account(rec["to"]).nick


async def _serve_web(emu: Emulator, out: Printer) -> None:
    """Keep the emulator and the bot running for the web page until interrupted."""
    print(out.paint(f"Web page: {emu.url}/", "1"), flush=True)
    print(
        "  chat as Alice (10002, password alice-pw) or Bob (10003, bob-pw); "
        f"phone: {emu.url}/phone; operator: {emu.url}/operator; Ctrl-C stops",
        flush=True,
    )
    await asyncio.Event().wait()


async def _interactive(emu: Emulator) -> None:
    print("Interactive: type a message as Alice (10002) to the bot; an empty line or EOF ends.")
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line.strip():
            return
        seen = len(emu.sent)
        emu.user(10002).send_buddy(BOT_QQ, line.rstrip("\n"))
        for _ in range(60):  # the reply is printed live by the on_sent watcher
            await asyncio.sleep(0.05)
            if len(emu.sent) > seen:
                break
