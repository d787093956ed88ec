"""``smartqq onebot``: serve OneBot v11 for the session ``smartqq login`` wrote.

It resumes the saved session exactly as ``listen`` does (never starting an
interactive login), starts the endpoints the flags name, and runs until
SIGINT/SIGTERM, which stop it promptly with exit code 0. Exit codes: 0 after
a signal, 1 on a runtime failure (no session, cannot listen), 2 on bad
arguments, 4 when the SmartQQ session is lost (kicked, expired), as ``listen``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from typing import Any

from smartqq.errors import SmartQQError, UsageError

from .argtypes import positive_int

__all__ = ["add_onebot_command", "run_onebot"]


def _nonnegative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def add_onebot_command(sub: Any) -> None:
    from .commands import _add_common

    p = sub.add_parser(
        "onebot",
        help="serve OneBot v11 (for NoneBot2, Koishi, aiocqhttp…) over the saved session",
    )
    _add_common(p)
    # The environment keeps secrets out of `ps` listings.
    p.add_argument(
        "--access-token",
        default=os.environ.get("SMARTQQ_ONEBOT_TOKEN"),
        help="checked on --ws/--http, sent on --ws-reverse (default: $SMARTQQ_ONEBOT_TOKEN)",
    )
    p.add_argument(
        "--secret",
        default=os.environ.get("SMARTQQ_ONEBOT_SECRET"),
        help="signs HTTP POST reports, X-Signature (default: $SMARTQQ_ONEBOT_SECRET)",
    )
    p.add_argument(
        "--ws-reverse",
        action="append",
        default=[],
        metavar="URL",
        help="connect a Universal reverse WebSocket to URL (repeatable)",
    )
    p.add_argument("--ws", metavar="HOST:PORT", help="forward WebSocket server (/, /api, /event)")
    p.add_argument("--http", metavar="HOST:PORT", help="HTTP API server (/:action)")
    p.add_argument(
        "--post-url", action="append", default=[], metavar="URL", help="POST events to URL"
    )
    p.add_argument(
        "--heartbeat", type=_nonnegative, default=15000, metavar="MS", help="0 turns it off"
    )
    p.add_argument("--reconnect-interval", type=positive_int, default=3000, metavar="MS")
    p.add_argument("--message-format", choices=("array", "string"), default="array")
    p.add_argument("--discuss-as", choices=("group", "discuss"), default="group")


async def run_onebot(args: argparse.Namespace) -> int:
    from smartqq.onebot import OneBotConfig, OneBotServer, parse_hostport

    from .commands import (
        EXIT_SESSION_LOST,
        CommandError,
        _session_client,
        default_session_path,
    )

    try:
        config = OneBotConfig(
            access_token=args.access_token,
            secret=args.secret,
            ws_reverse=tuple(args.ws_reverse),
            ws=parse_hostport(args.ws) if args.ws else None,
            http=parse_hostport(args.http) if args.http else None,
            post_urls=tuple(args.post_url),
            heartbeat_ms=args.heartbeat,
            reconnect_interval_ms=args.reconnect_interval,
            message_format=args.message_format,
            discuss_as=args.discuss_as,
        )
    except UsageError as exc:
        print(f"smartqq onebot: {exc}", file=sys.stderr)
        return 2
    if not (config.ws_reverse or config.ws or config.http or config.post_urls):
        print(
            "smartqq onebot: name at least one endpoint (--ws-reverse, --ws, --http or --post-url)",
            file=sys.stderr,
        )
        return 2
    session = args.session or default_session_path()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        async with _session_client(args, session) as client:
            async with OneBotServer(client, config) as server:
                where = ", ".join(f"{k} {h}:{p}" for k, (h, p) in server.addresses.items())
                extra = [f"reverse {u}" for u in config.ws_reverse]
                extra += [f"post {u}" for u in config.post_urls]
                print(
                    f"OneBot v11 for QQ {server.conv.self_id}: "
                    f"{', '.join(filter(None, [where, *extra]))}; Ctrl-C stops",
                    flush=True,
                )
                lost = asyncio.ensure_future(client.run_until_disconnected())
                stopped = asyncio.ensure_future(stop.wait())
                await asyncio.wait({lost, stopped}, return_when=asyncio.FIRST_COMPLETED)
                for task in (lost, stopped):
                    task.cancel()
                results = await asyncio.gather(lost, stopped, return_exceptions=True)
            client.save_session()
            if not stop.is_set():
                why = results[0] if isinstance(results[0], SmartQQError) else "polling stopped"
                print(f"smartqq onebot: the SmartQQ session ended: {why}", file=sys.stderr)
                return EXIT_SESSION_LOST  # as `listen`: a supervisor restarts it
    except CommandError as exc:
        print(f"smartqq onebot: {exc}", file=sys.stderr)
        return 1
    except SmartQQError as exc:
        print(f"smartqq onebot: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"smartqq onebot: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    return 0
