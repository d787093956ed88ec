"""smartqq.emulator — a faithful, stateful local SmartQQ / WebQQ 3.0 server.

``async with Emulator() as emu:`` serves every endpoint of PROTOCOL.md §1–§8 on
one loopback port (``emu.url``), for any ``*.qq.com`` Host. It never imports the
client; it shares only the sans-IO protocol layer. Its logic is the I/O-free
:class:`SmartQQService` (``emu.service``); ``emu.transport()`` serves a client from it
in process, with no socket (``Client(transport=emu.transport())``). See docs/emulator.md.

``async with TQQEmulator(world) as tqq:`` serves the older tqq HTTP interface
(``smartqq.legacy.tqq``) over the same kind of world, on a port of its own, and
``async with OICQServer(world) as srv:`` the binary OICQ protocol (``smartqq.legacy.oicq``).
"""

from __future__ import annotations

from .faults import Fault, FaultSet
from .memory import MemoryTransport
from .oicq_server import OICQServer
from .server import Emulator
from .service import SmartQQService
from .state import Config
from .tqq_server import TQQEmulator, TQQUser
from .tqq_service import TQQConfig, TQQService
from .users import WorldUser
from .world import BOT_QQ, Account, Discussion, Group, World, WorldError, demo_world

__all__ = [
    "BOT_QQ",
    "Account",
    "Config",
    "Discussion",
    "Emulator",
    "Fault",
    "FaultSet",
    "Group",
    "MemoryTransport",
    "OICQServer",
    "SmartQQService",
    "TQQConfig",
    "TQQEmulator",
    "TQQService",
    "TQQUser",
    "World",
    "WorldError",
    "WorldUser",
    "demo_world",
]
