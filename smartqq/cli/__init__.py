"""``python -m smartqq`` / ``smartqq``: a thin command line over the library.

Exit codes: 0 success, 1 runtime failure, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from smartqq.emulator.world import WorldError

__all__ = ["main"]


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smartqq", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="run the echo bot against the embedded emulator and print a transcript"
    )
    demo.add_argument(
        "--interactive", action="store_true", help="keep running; type lines as a world user"
    )
    demo.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    emu = sub.add_parser("emulator", help="run the emulator until interrupted")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=8188)
    emu.add_argument("--world", help="a world file (.json or .toml)")
    emu.add_argument(
        "--qr-confirm-after", type=int, default=3, help="ptqrlogin checks before auto-confirming"
    )
    emu.add_argument(
        "--hold", type=_positive_float, default=60.0, help="seconds an idle poll2 is held"
    )
    emu.add_argument("--max-batch", type=_positive_int, default=20)
    emu.add_argument("--idle", choices=("102", "errmsg", "504"), default="102")
    emu.add_argument("--control-token", help="required for /_emu/ on non-loopback binds")
    sub.add_parser("selfcheck", help="verify the protocol test vectors of PROTOCOL.md Appendix A")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            from .demo import run_demo

            return asyncio.run(run_demo(interactive=args.interactive, color=args.color))
        if args.command == "emulator":
            from .emulator_cmd import run_emulator

            return asyncio.run(run_emulator(args))
        from .selfcheck import selfcheck

        return selfcheck()
    except KeyboardInterrupt:
        return 130
    except WorldError as exc:
        print(f"smartqq: {exc}", file=sys.stderr)
        return 2
