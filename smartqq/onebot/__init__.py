"""OneBot v11 on top of a smartqq session: run unmodified bots of today's QQ-bot frameworks.

::

    async with Client(...) as client, OneBotServer(client, ws_reverse=["ws://127.0.0.1:8080/onebot/v11/ws"]):
        await client.run_until_disconnected()

See ``docs/onebot.md`` for the mapping between SmartQQ and OneBot and what
SmartQQ cannot do. This package uses aiohttp (it is a server layer).
"""

from __future__ import annotations

from .config import OneBotConfig, parse_hostport
from .ids import DISCUSS_ID_BASE, DISCUSS_ID_END
from .message import escape, parse_cq, to_cq, unescape
from .server import OneBotServer

__all__ = [
    "DISCUSS_ID_BASE",
    "DISCUSS_ID_END",
    "OneBotConfig",
    "OneBotServer",
    "escape",
    "parse_cq",
    "parse_hostport",
    "to_cq",
    "unescape",
]
