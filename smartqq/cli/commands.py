"""``smartqq login | listen | send | contacts``: thin commands over :class:`Client`.

Every command takes ``--base-url`` (a compatible server such as ``smartqq
emulator``; default ``$SMARTQQ_BASE_URL``, else the real hosts) and
``--session`` (default ``$SMARTQQ_SESSION``, else ``~/.smartqq/session.json``).
``login`` writes the session file (mode 0600); the others resume it and never
start an interactive login of their own: a stale session is a clear error
telling the person to run ``smartqq login`` again.

Exit codes: 0 success, 1 failure (network, login, unknown target), 2 bad
arguments, 3 a send whose delivery is uncertain (1202), 4 ``listen`` lost its
session (expired and not renewable, or the account was kicked: a supervisor
should restart it, after ``smartqq login`` if needed), 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from smartqq.client import Client, QRCode
from smartqq.client.contacts import contact_tables
from smartqq.client.session_store import save_session
from smartqq.errors import Kicked, LoginError, SmartQQError, UsageError
from smartqq.events import Event, LifecycleEvent, MessageEvent
from smartqq.models import SendStatus
from smartqq.protocol.flows import QRStatus

from .argtypes import base_url, positive_float, positive_int

__all__ = ["add_commands", "run_command"]

EXIT_UNCERTAIN = 3
EXIT_SESSION_LOST = 4


class CommandError(Exception):
    """A failure explained to the person at the terminal (exit code 1)."""


def default_session_path() -> Path:
    env = os.environ.get("SMARTQQ_SESSION")
    return Path(env) if env else Path.home() / ".smartqq" / "session.json"


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        type=base_url,
        default=os.environ.get("SMARTQQ_BASE_URL"),
        help="server to connect to, e.g. http://127.0.0.1:8188 (default: $SMARTQQ_BASE_URL)",
    )
    parser.add_argument(
        "--session",
        type=Path,
        default=None,
        help="session file (default: $SMARTQQ_SESSION or ~/.smartqq/session.json)",
    )
    parser.add_argument("--profile", choices=("smartqq", "webqq3"), default="smartqq")


def add_commands(sub: Any) -> None:
    """Add the client commands to the ``smartqq`` sub-parser set."""
    login = sub.add_parser(
        "login", help="log in (QR in the terminal, or --qq with a hidden password prompt)"
    )
    _add_common(login)
    login.add_argument(
        "--qq", type=positive_int, help="password login for this QQ number (prompted, hidden)"
    )
    login.add_argument(
        "--force",
        action="store_true",
        help="log in afresh and replace the session file, even a corrupt one",
    )
    login.add_argument(
        "--invert",
        action="store_true",
        help="draw the QR code's dark modules (for light-background terminals)",
    )
    listen = sub.add_parser("listen", help="print events as they arrive")
    _add_common(listen)
    listen.add_argument("--json", action="store_true", help="one JSON object per line")
    listen.add_argument(
        "--count", type=positive_int, help="stop after this many non-lifecycle events"
    )
    listen.add_argument("--timeout", type=positive_float, help="stop after this many seconds")
    send = sub.add_parser("send", help="send a message to a friend, group or discussion")
    _add_common(send)
    send.add_argument("kind", choices=("buddy", "group", "discuss"))
    send.add_argument("target", help="uin / gid / did, or a name (markname, nick, group name)")
    send.add_argument("text")
    contacts = sub.add_parser("contacts", help="list friends, groups and discussions")
    _add_common(contacts)
    contacts.add_argument("--json", action="store_true", help="print one JSON document")


class QRProgress:
    """What the terminal shows during a QR login; codes are counted from 1 for people."""

    def __init__(self, invert: bool = False) -> None:
        self.invert = invert

    def show(self, qr: QRCode) -> None:
        number = qr.attempt + 1
        again = "" if number == 1 else f" (code {number}; the previous one expired)"
        print(f"Scan this QR code with the QQ mobile app{again}:", flush=True)
        print(qr.terminal(invert=self.invert), flush=True)

    def status(self, step: QRStatus) -> None:
        number = step.attempt + 1
        text = {
            "waiting": f"QR code {number}: waiting for a scan...",
            "scanned": f"QR code {number}: scanned; confirm the login on the phone...",
            "expired": f"QR code {number} expired; fetching a new one...",
        }.get(step.status, f"QR code {number}: {step.status}")
        print(text, flush=True)


def _ask_captcha(image: bytes) -> str:
    fd, name = tempfile.mkstemp(prefix="smartqq-captcha-", suffix=".png")
    with os.fdopen(fd, "wb") as fh:
        fh.write(image)
    print(f"A captcha is required; the image is at {name}", flush=True)
    try:
        return input("captcha code: ").strip()
    except EOFError:
        raise CommandError("no captcha code given (end of input)") from None
    finally:
        os.unlink(name)


def _refuse_interactive_login(qr: QRCode) -> None:
    raise LoginError("the saved session is no longer valid; run `smartqq login` again")


async def _login(args: argparse.Namespace, session: Path) -> int:
    password: str | None = None
    if args.qq is not None:
        password = os.environ.get("SMARTQQ_PASSWORD")
        if not password:
            try:
                with warnings.catch_warnings():
                    # Without a terminal getpass warns (with a source line) and then
                    # prints "Password input may be echoed" itself: one notice is enough.
                    warnings.simplefilter("ignore", getpass.GetPassWarning)
                    password = getpass.getpass(f"password for {args.qq}: ")
            except EOFError:
                raise CommandError(
                    "no password given (end of input); type it at the prompt"
                    " or set SMARTQQ_PASSWORD"
                ) from None
        if not password:
            raise CommandError("an empty password was given")
    try:
        session.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(
            f"cannot create the directory for {session}: {exc.strerror or exc}"
        ) from None
    force = bool(getattr(args, "force", False))
    progress = QRProgress(invert=bool(getattr(args, "invert", False)))
    client = Client(
        args.qq,
        password,
        base_url=args.base_url,
        profile=args.profile,
        # --force: never read the old file (it may be corrupt); write the new one below.
        session_file=None if force else session,
        on_qrcode=progress.show,
        on_qr_status=progress.status,
        on_captcha=_ask_captcha,
        qr_poll_interval=0.5,
    )
    try:
        state = await client.login()
    finally:
        await client.close()
    if force:
        save_session(session, state)
    print(f"logged in as {state.nick} (QQ {state.qq}); session saved to {session}")
    return 0


def _session_client(args: argparse.Namespace, session: Path) -> Client:
    if not session.exists():
        raise CommandError(f"no session file at {session}; run `smartqq login` first")
    return Client(
        base_url=args.base_url,
        profile=args.profile,
        session_file=session,
        on_qrcode=_refuse_interactive_login,
        contacts_refresh=None,
    )


_CHAT_LABELS = {
    "message": "buddy",
    "group_message": "group",
    "discu_message": "discuss",
    "sess_message": "sess",
}


def event_json(event: Event) -> str:
    """One event as a JSON line: ``{"event": "<ClassName>", ...fields}``."""
    data: dict[str, Any] = {"event": type(event).__name__}
    data.update(event.model_dump(mode="json"))
    if isinstance(event, MessageEvent):
        # The wire array (font, text, ["face", id] …) is the stable, documented form.
        raw = event.content.raw
        data["content"] = list(raw) if raw is not None else event.content.to_wire()
        data["text"] = event.text
    return json.dumps(data, ensure_ascii=False)


async def event_line(client: Client, event: Event) -> str:
    """One event as a human-readable line."""
    if isinstance(event, MessageEvent):
        sender = await event.get_sender()
        label = _CHAT_LABELS.get(event.poll_type, event.poll_type)
        return f"[{label}] {sender}: {event.text}"
    fields = ", ".join(f"{k}={v!r}" for k, v in event.model_dump().items())
    return f"[{type(event).__name__}] {fields}"


async def _listen(args: argparse.Namespace, session: Path) -> int:
    seen = 0
    enough = False
    async with _session_client(args, session) as client:
        if not args.json:
            print(f"listening as {client.state.nick if client.state else '?'}; Ctrl-C stops")

        async def pump() -> None:
            nonlocal seen, enough
            async for event in client.events():
                if args.json:
                    print(event_json(event), flush=True)
                else:
                    print(await event_line(client, event), flush=True)
                if not isinstance(event, LifecycleEvent):
                    seen += 1
                    if args.count is not None and seen >= args.count:
                        enough = True
                        return

        try:
            await asyncio.wait_for(pump(), args.timeout)
        except TimeoutError:
            enough = True
        if not enough:
            # The event stream ended by itself: polling stopped for good.
            return await _session_lost(client)
        client.save_session()
    return 0


async def _session_lost(client: Client) -> int:
    """Explain why polling ended; exit code 4 so a supervisor restarts ``listen``."""
    try:
        await client.run_until_disconnected()
        reason = "polling stopped"
    except Kicked as exc:
        reason = f"the account was kicked ({exc})" if str(exc) else "the account was kicked"
    except SmartQQError as exc:
        reason = f"the session was lost ({type(exc).__name__}: {exc})"
    except Exception as exc:  # a bug ended polling: still exit 4 so a supervisor restarts
        reason = f"polling stopped ({type(exc).__name__})"
    print(f"smartqq listen: {reason}", file=sys.stderr, flush=True)
    return EXIT_SESSION_LOST


async def _resolve_target(client: Client, kind: str, target: str) -> int:
    await client.contacts.refresh()
    contacts = client.contacts
    known: dict[int, Any]
    if kind == "buddy":
        known = contacts.friends
    elif kind == "group":
        known = contacts.groups
    else:
        known = contacts.discus
    if target.isdigit() and int(target) in known:
        return int(target)
    if kind == "buddy":
        found: Any = client.contacts.friend_by_name(target)
        ident = found.uin if found else None
    elif kind == "group":
        found = client.contacts.group_by_name(target)
        ident = found.gid if found else None
    else:
        found = client.contacts.discu_by_name(target)
        ident = found.did if found else None
    if ident is None:
        noun = {"buddy": "friend", "group": "group", "discuss": "discussion"}[kind]
        raise CommandError(f"no {noun} called or numbered {target!r} (see `smartqq contacts`)")
    return int(ident)


async def _send(args: argparse.Namespace, session: Path) -> int:
    async with _session_client(args, session) as client:
        ident = await _resolve_target(client, args.kind, args.target)
        if args.kind == "buddy":
            result = await client.send_buddy_msg(ident, args.text)
        elif args.kind == "group":
            result = await client.send_qun_msg(ident, args.text)
        else:
            result = await client.send_discu_msg(ident, args.text)
        client.save_session()
    ids = ", ".join(str(i) for i in result.msg_ids)
    if result.status is SendStatus.UNCERTAIN:
        print(f"delivery uncertain (the server answered 1202); msg_id {ids}", file=sys.stderr)
        return EXIT_UNCERTAIN
    print(f"sent to {args.kind} {ident} in {len(result.msg_ids)} part(s); msg_id {ids}")
    return 0


async def _contacts(args: argparse.Namespace, session: Path) -> int:
    async with _session_client(args, session) as client:
        await client.contacts.refresh()
        friends = list(client.contacts.friends.values())
        groups = list(client.contacts.groups.values())
        discus = list(client.contacts.discus.values())
        client.save_session()
    if args.json:
        doc = {
            "friends": [f.model_dump(mode="json") for f in friends],
            "groups": [g.model_dump(mode="json") for g in groups],
            "discussions": [d.model_dump(mode="json") for d in discus],
        }
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0
    print("\n\n".join(str(t) for t in contact_tables(friends, groups, discus)))
    return 0


COMMANDS = {"login": _login, "listen": _listen, "send": _send, "contacts": _contacts}


async def run_command(args: argparse.Namespace) -> int:
    """Run one client command; errors become a one-line message and exit code 1."""
    session = args.session or default_session_path()
    try:
        return await COMMANDS[args.command](args, session)
    except (CommandError, SmartQQError) as exc:
        kind = "" if isinstance(exc, CommandError | UsageError) else f"{type(exc).__name__}: "
        print(f"smartqq {args.command}: {kind}{exc}", file=sys.stderr)
        return 1
