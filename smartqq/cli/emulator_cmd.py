"""``smartqq emulator``: serve the emulator until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from smartqq.emulator import Emulator, TQQEmulator, World, demo_world


async def run_emulator(args: argparse.Namespace) -> int:
    world = World.load(args.world) if args.world else demo_world()
    emu = Emulator(
        world,
        host=args.host,
        port=args.port,
        hold=args.hold,
        max_batch=args.max_batch,
        idle=args.idle,
        qr_confirm_after=args.qr_confirm_after,
        control_token=args.control_token,
    )
    tqq = TQQEmulator(world, host=args.host, port=args.tqq_port) if args.tqq_port else None
    async with emu, tqq or contextlib.nullcontext():
        if tqq is not None:
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
