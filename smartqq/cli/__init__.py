"""``python -m smartqq`` / ``smartqq``: a thin command line over the library.

Commands: ``demo``, ``legacy-demo``, ``emulator``, ``login``, ``listen``, ``send``,
``contacts``, ``selfcheck``, ``onebot``, ``cluster``, ``gateway``, ``worker``. Exit codes:
0 success, 1 runtime failure, 2 bad arguments, 3 a send with uncertain delivery, 4 ``listen``
lost its session (expired, kicked), 130 interrupted, 141 the output pipe was closed
(``smartqq demo | head``). No traceback reaches the terminal (set ``SMARTQQ_DEBUG=1`` to
see them).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from smartqq import __version__
from smartqq.emulator.world import WorldError

from .argtypes import positive_float, positive_int
from .cluster_cmd import CLUSTER_COMMANDS, add_cluster_commands, run_cluster_command
from .commands import add_commands, run_command
from .onebot_cmd import add_onebot_command

__all__ = ["amain", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from .argtypes import port

    parser = argparse.ArgumentParser(prog="smartqq", description=__doc__)
    parser.add_argument("--version", action="version", version=f"smartqq {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="run the echo bot against the embedded emulator and print a transcript"
    )
    demo.add_argument(
        "--interactive", action="store_true", help="keep running; type lines as a world user"
    )
    demo.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    demo.add_argument(
        "--web", action="store_true", help="keep running and serve the emulator's web page"
    )
    demo.add_argument(
        "--onebot",
        action="store_true",
        help="a OneBot v11 bot answers instead, through the OneBot server's forward "
        "WebSocket (scripted: not with --interactive or --web)",
    )
    demo.set_defaults(demo_parser=demo)  # for its own usage line in the error below
    sub.add_parser(
        "legacy-demo", help="a scripted tqq (2005) and OICQ (2004) session against emulators"
    )
    emu = sub.add_parser("emulator", help="run the emulator until interrupted")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=port, default=8188)
    emu.add_argument("--world", help="a world file (.json or .toml)")
    emu.add_argument(
        "--qr-confirm-after",
        type=positive_int,
        default=None,
        metavar="N",
        help="auto-confirm a QR code after N status checks (off by default: anyone could "
        "log in as the bot; confirm through POST /_emu/qr/confirm instead)",
    )
    emu.add_argument(
        "--qr-account", type=positive_int, metavar="QQ", help="the account a QR code logs in as"
    )
    emu.add_argument(
        "--self-echo",
        action="store_true",
        help="late-2017 era: the bot's own sends come back through poll2 from an unknown uin",
    )
    emu.add_argument(
        "--hold", type=positive_float, default=60.0, help="seconds an idle poll2 is held"
    )
    emu.add_argument("--max-batch", type=positive_int, default=20)
    emu.add_argument("--idle", choices=("102", "errmsg", "504"), default="102")
    emu.add_argument("--control-token", help="required for /_emu/ on non-loopback binds")
    emu.add_argument(
        "--tqq-port", type=port, help="also serve the legacy tqq HTTP interface on this port"
    )
    add_commands(sub)
    add_cluster_commands(sub)
    add_onebot_command(sub)
    sub.add_parser("selfcheck", help="verify the protocol test vectors of PROTOCOL.md Appendix A")
    return parser


def _reject_onebot_combinations(args: argparse.Namespace) -> None:
    # The OneBot demo judges a fixed script; lines typed or sent from the web page
    # would go to a bot that has already been judged and disconnected.
    demo: argparse.ArgumentParser = args.demo_parser
    for flag, given in (("--interactive", args.interactive), ("--web", args.web)):
        if given:
            demo.error(f"argument --onebot: not allowed with argument {flag}")


async def amain(argv: Sequence[str] | None = None) -> int:
    """The command line as a coroutine (tests and embedding callers await this)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo" and args.onebot:
        _reject_onebot_combinations(args)
        from .onebot_demo import run_onebot_demo

        return await run_onebot_demo(color=args.color)
    if args.command == "demo":
        from .demo import run_demo

        return await run_demo(interactive=args.interactive, color=args.color, web=args.web)
    if args.command == "legacy-demo":
        from .legacy_demo import run_legacy_demo

        return await run_legacy_demo()
    if args.command == "emulator":
        from .emulator_cmd import run_emulator

        try:
            return await run_emulator(args)
        except WorldError as exc:
            print(f"smartqq emulator: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(
                f"smartqq emulator: cannot listen on {args.host}:{args.port}: {exc.strerror}",
                file=sys.stderr,
            )
            return 1
    if args.command in CLUSTER_COMMANDS:
        return await run_cluster_command(args)
    if args.command == "onebot":
        from .onebot_cmd import run_onebot

        return await run_onebot(args)
    if args.command == "selfcheck":
        from .selfcheck import selfcheck

        return selfcheck()
    return await run_command(args)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``smartqq`` entry point: exit codes as in the module docstring, no tracebacks."""
    from .safety import guarded

    return guarded(lambda: asyncio.run(amain(argv)))
