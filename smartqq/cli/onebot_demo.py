"""``smartqq demo --onebot``: a OneBot v11 bot talking to the emulator through smartqq.

Design note: the point is to show the OneBot layer doing its job end to end, so
every hop is real and on loopback: the embedded emulator, a ``Client`` logged in
by QR, a ``OneBotServer`` with a forward WebSocket on a free port (with an
access token, as a deployment would have), and a bot that knows nothing about
smartqq. The bot (:class:`EchoBot`) is written here with plain aiohttp rather
than taken from a framework: the core dependencies have no OneBot framework,
and under a hundred lines make the wire protocol visible (events in, ``action`` +
``echo`` calls out, answers matched by ``echo``, all on one socket).

World users send a short script one message at a time and the demo waits for
that message's answer before the next, so the transcript reads in order: what
the person wrote, the event the bot got, the call it made, the reply as the
emulator received it (``emu.on_sent``), and the answer to the call. The run is
judged from the emulator's side: every message must get exactly one reply, in
the chat it came from, and every call must be answered ``ok``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from smartqq._tasks import cancel_and_wait
from smartqq.client import Client, QRCode
from smartqq.content import Content
from smartqq.emulator import BOT_QQ, Emulator
from smartqq.events import LoggedIn
from smartqq.onebot import OneBotServer

from .demo import Printer, _reply_where

__all__ = ["EchoBot", "echo_reply", "run_onebot_demo"]

CONNECT_TIMEOUT = 5.0
ANSWER_TIMEOUT = 3.0
REPLY_TIMEOUT = 3.0
SETTLE = 0.3
"""Seconds to keep listening after the last reply, so a duplicate would still be seen."""

EVENT_FIELDS = ("post_type", "message_type", "group_id", "user_id", "raw_message")
ANSWER_FIELDS = ("status", "retcode", "data", "echo")

Log = Callable[[str, dict[str, Any]], None]


# -- the bot: what a OneBot v11 application does on a forward WebSocket --------------------


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def echo_reply(event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The bot's whole behaviour: the API call that answers a message event."""
    # raw_message is the CQ-code string, already escaped, so echoing it sends faces back.
    text = "echo: " + str(event.get("raw_message", ""))
    if event.get("message_type") == "group":
        return "send_group_msg", {"group_id": event["group_id"], "message": text}
    return "send_private_msg", {"user_id": event["user_id"], "message": text}


class EchoBot:
    """A minimal OneBot v11 bot on a forward WebSocket: events in, API calls out."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, log: Log) -> None:
        self._ws = ws
        self._log = log
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._echoes = itertools.count(1)
        self.connected = asyncio.Event()
        self.events_received = 0
        self.calls_ok = 0
        self.calls_failed = 0

    @property
    def calls_done(self) -> int:
        return self.calls_ok + self.calls_failed

    async def run(self) -> None:
        """Read frames and answer message events until the socket closes."""
        # Answers arrive on the socket the reader is reading, so answering runs beside it.
        responder = asyncio.create_task(self._respond(), name="onebot-demo-bot")
        try:
            await self._read()
        finally:
            await cancel_and_wait(responder)
            for waiter in self._waiting.values():
                waiter.cancel()

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                continue
            if isinstance(frame, dict):
                self._route(frame)

    def _route(self, frame: dict[str, Any]) -> None:
        if "post_type" not in frame:  # an answer to one of our calls
            waiter = self._waiting.get(str(frame.get("echo")))
            if waiter is not None and not waiter.done():
                waiter.set_result(frame)
        elif frame["post_type"] == "message":
            self._events.put_nowait(frame)
        elif frame.get("meta_event_type") == "lifecycle":
            self.connected.set()  # sent first: from here on no event is missed

    async def _respond(self) -> None:
        while True:
            event = await self._events.get()
            self.events_received += 1
            self._log("event received", {k: event[k] for k in EVENT_FIELDS if k in event})
            action, params = echo_reply(event)
            answer = await self.call(action, params)
            if answer is not None and answer.get("status") == "ok":
                self.calls_ok += 1
            else:
                self.calls_failed += 1
            shown = {k: answer[k] for k in ANSWER_FIELDS if k in answer} if answer else {}
            self._log("answer received", shown or {"status": "no answer in time"})

    async def call(self, action: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """Call ``action`` and wait for its answer (``None``: none came in time)."""
        echo = f"call-{next(self._echoes)}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[echo] = waiter
        request = {"action": action, "params": params, "echo": echo}
        try:
            self._log("action sent", request)
            await self._ws.send_str(_compact(request))
            return await asyncio.wait_for(waiter, ANSWER_TIMEOUT)
        except (TimeoutError, ConnectionError, aiohttp.ClientError):
            return None
        finally:
            del self._waiting[echo]


# -- the script and how it is judged -------------------------------------------------------


@dataclass(frozen=True)
class ScriptedMessage:
    qq: int
    chat: Literal["buddy", "group", "discu"]
    target: int | str
    """The bot's QQ, a group's name or number, a discussion's name or id."""
    content: list[Any]

    @property
    def text(self) -> str:
        """The content as the emulator shows it (faces as ``[face:N]``)."""
        return str(Content.parse(self.content))

    def send(self, emu: Emulator) -> None:
        user = emu.user(self.qq)
        if self.chat == "buddy":
            user.send_buddy(int(self.target), self.content)
        elif self.chat == "group":
            user.send_group(self.target, self.content)
        else:
            user.send_discu(self.target, self.content)

    def reply_chat(self, emu: Emulator) -> tuple[str, int]:
        """Where the answer must land: ``(kind, to)`` as the emulator records a send."""
        if self.chat == "group":
            return "group", emu.world.find_group(self.target).code
        if self.chat == "discu":
            return "discu", emu.world.find_discussion(self.target).id
        return "buddy", self.qq

    def where(self, emu: Emulator) -> str:
        if self.chat == "group":
            return "group " + emu.world.find_group(self.target).name
        if self.chat == "discu":
            return "discuss " + emu.world.find_discussion(self.target).name
        return "buddy chat"


SCRIPT = (
    ScriptedMessage(10002, "buddy", BOT_QQ, ["hi bot! can you hear me over OneBot?"]),
    ScriptedMessage(10003, "group", "Python Fans", ["OneBot v11 on SmartQQ ", ["face", 14]]),
    # OneBot has no discussions: they arrive as groups with a synthetic group_id.
    ScriptedMessage(10002, "discu", "Weekend plans", ["a discussion, seen as a group"]),
    ScriptedMessage(10004, "buddy", BOT_QQ, ["thanks ", ["face", 63]]),
)


def replies_for(
    message: ScriptedMessage, emu: Emulator, sent: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The bot's sends that answer ``message``: its echo, in the chat it came from."""
    chat = message.reply_chat(emu)
    wanted = "echo: " + message.text
    return [r for r in sent if (r["kind"], r["to"]) == chat and r["text"] == wanted]


# -- the run -------------------------------------------------------------------------------


def _payload_line(out: Printer, where: str, payload: dict[str, Any], code: str) -> None:
    """A transcript line with a JSON payload, never shortened (the JSON is the point)."""
    stamp = f"{time.monotonic() - out.start:6.2f}s"
    who = out.paint(f"{'OneBot bot':>10}", code)
    print(f"{out.paint(stamp, '2')} {who} @ {where:<22} {_compact(payload)}", flush=True)


def _make_client(emu: Emulator, out: Printer) -> Client:
    def show_qr(qr: QRCode) -> None:
        print("Bot login by QR code (the emulator scans and confirms it):")
        print(qr.terminal())

    client = Client(base_url=emu.url, on_qrcode=show_qr, qr_poll_interval=0.2, send_interval=0.05)

    @client.on()
    async def logged_in(ev: LoggedIn) -> None:
        out.line("system", "login", f"logged in as {ev.nick} (uin {ev.uin})", "33")

    return client


async def _wait_for_answer(bot: EchoBot, calls_before: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while bot.calls_done <= calls_before and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


@dataclass
class Outcome:
    """What happened, for the summary (kept even when the bot cannot connect)."""

    written: int = 0
    bot: EchoBot | None = None


async def _play(emu: Emulator, bot: EchoBot, out: Printer, outcome: Outcome) -> None:
    for message in SCRIPT:
        out.line(emu.world.account(message.qq).nick, message.where(emu), message.text, "36")
        calls_before = bot.calls_done
        message.send(emu)
        outcome.written += 1
        # One message at a time keeps each exchange together in the transcript; a
        # message that gets no answer in time is reported missing, not waited on forever.
        await _wait_for_answer(bot, calls_before, REPLY_TIMEOUT)
    await asyncio.sleep(SETTLE)


async def _run_bot(
    server: OneBotServer, token: str, emu: Emulator, out: Printer, outcome: Outcome
) -> None:
    """Connect the bot to the forward WebSocket, play the script, disconnect."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(server.url("ws") + "/", headers=headers) as ws,
    ):
        bot = outcome.bot = EchoBot(
            ws, lambda where, payload: _payload_line(out, where, payload, "35")
        )
        running = asyncio.create_task(bot.run(), name="onebot-demo-bot-reader")
        try:
            try:
                await asyncio.wait_for(bot.connected.wait(), CONNECT_TIMEOUT)
            except TimeoutError:
                raise TimeoutError(f"no lifecycle event in {CONNECT_TIMEOUT:g} s") from None
            out.line("OneBot bot", "connected", "lifecycle event received; listening", "35")
            await _play(emu, bot, out, outcome)
        finally:
            await ws.close()
            await cancel_and_wait(running)


def _summary(emu: Emulator, sent: list[dict[str, Any]], outcome: Outcome, out: Printer) -> bool:
    """Print the counts; true when every message got exactly one reply, in its own chat."""
    bot = outcome.bot
    answered_once = sum(1 for m in SCRIPT if len(replies_for(m, emu, sent)) == 1)
    calls_ok = bot.calls_ok if bot is not None else 0
    rows = [
        ("messages written to the bot", f"{outcome.written} of {len(SCRIPT)}"),
        ("message events the bot received", str(bot.events_received if bot else 0)),
        ("OneBot calls answered ok", f"{calls_ok} of {bot.calls_done if bot else 0}"),
        ("messages answered once, in their chat", f"{answered_once} of {len(SCRIPT)}"),
        ("replies the emulator received", str(len(sent))),
    ]
    width = max(len(label) for label, _ in rows) + 1
    print(out.paint("Summary:", "1"))
    for label, value in rows:
        print(f"  {label + ':':<{width}} {value}")
    return answered_once == len(SCRIPT) == len(sent) == calls_ok


async def run_onebot_demo(*, color: str = "auto") -> int:
    use_color = color == "always" or (color == "auto" and sys.stdout.isatty())
    out = Printer(use_color)
    # The token is random: the forward WebSocket is on loopback, but nothing else should use it.
    token = secrets.token_urlsafe(16)
    outcome = Outcome()
    async with Emulator(hold=2, qr_confirm_after=2, qr_account=BOT_QQ) as emu:
        print(
            out.paint(
                f"Embedded SmartQQ emulator on {emu.url} (the real service closed in 2019)", "1"
            )
        )
        unwatch = emu.on_sent(
            lambda rec: out.line("SmartBot", _reply_where(emu, rec), rec["text"], "32")
        )
        try:
            async with (
                _make_client(emu, out) as client,
                OneBotServer(client, ws=("127.0.0.1", 0), access_token=token) as server,
            ):
                print(
                    out.paint(f"OneBot v11 forward WebSocket on {server.url('ws')}/", "1"),
                    "(loopback, access token required)",
                )
                print("A OneBot bot written with plain aiohttp (EchoBot, in this demo) connects.")
                try:
                    await _run_bot(server, token, emu, out, outcome)
                except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                    connected = outcome.bot is not None and outcome.bot.connected.is_set()
                    what = "lost its connection" if connected else "could not connect"
                    reason = str(exc) or type(exc).__name__
                    print(f"smartqq demo: the OneBot bot {what}: {reason}", file=sys.stderr)
        finally:
            unwatch()
        ok = _summary(emu, emu.sent, outcome, out)
    print("demo finished " + ("OK" if ok else "with missing replies"))
    return 0 if ok else 1
