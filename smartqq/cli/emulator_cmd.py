"""``smartqq emulator``: serve the emulator until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import Any

from smartqq.emulator import Emulator, TQQEmulator, World, demo_world
from smartqq.emulator.gcpolicy import tune_for_serving

__all__ = ["ListenError", "run_emulator"]


class ListenError(Exception):
    """A server could not listen; the message names which one and the port."""


async def _start(
    stack: contextlib.AsyncExitStack, server: Any, what: str, host: str, port: int
) -> None:
    try:
        await stack.enter_async_context(server)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ListenError(f"cannot listen on {host}:{port} for the {what}: {reason}") from None


async def run_emulator(args: argparse.Namespace) -> int:
    """Serve until cancelled; 1 (and one line naming the port) when a port is busy."""
    try:
        return await _serve(args)
    except ListenError as exc:
        print(f"smartqq emulator: {exc}", file=sys.stderr)
        return 1


async def _serve(args: argparse.Namespace) -> int:
    tune_for_serving()  # this process only serves: fewer, larger GC passes (see gcpolicy)
    world = World.load(args.world) if args.world else demo_world()
    emu = Emulator(
        world,
        host=args.host,
        port=args.port,
        hold=args.hold,
        max_batch=args.max_batch,
        idle=args.idle,
        qr_confirm_after=args.qr_confirm_after,
        qr_account=args.qr_account,
        self_echo=args.self_echo,
        control_token=args.control_token,
    )
    tqq = TQQEmulator(world, host=args.host, port=args.tqq_port) if args.tqq_port else None
    async with contextlib.AsyncExitStack() as stack:
        await _start(stack, emu, "SmartQQ emulator", args.host, args.port)
        if tqq is not None:
            await _start(stack, tqq, "tqq emulator (--tqq-port)", args.host, args.tqq_port)
            print(f"tqq (VER=1.1 HTTP) emulator listening on {tqq.url}")
        print(
            f"smartqq emulator listening on {emu.url} (control API {'on' if emu.control_enabled else 'off'})"
        )
        if emu.control_enabled:
            print(f"Web page: {emu.url}/ (chat as a world account; /phone, /operator)")
        print(
            "Point a client at it with Client(base_url=...) or keep real Hosts and redirect the connection."
        )
        print("Accounts:")
        for acc in world.accounts.values():
            flags = " (needs captcha)" if acc.needs_captcha else ""
            print(f"  {acc.qq}  {acc.nick:<12} password={acc.password}{flags}")
        await asyncio.Event().wait()
    return 0
