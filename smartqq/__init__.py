"""smartqq — an asyncio SDK for the SmartQQ / WebQQ 3.0 web-chat protocol.

The service closed on 2019-01-01; :mod:`smartqq.emulator` is a faithful local
server and the embedded default. See README.md for a tour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors, filters
from .content import Content, CustomFace, Face, Font, OfflinePic, Text, UnknownSegment
from .events import (
    BuddiesStatusChange,
    BuddyMessage,
    Disconnected,
    DiscuMessage,
    Event,
    GroupMessage,
    KickMessage,
    LoggedIn,
    MessageEvent,
    PollOutcome,
    PollResult,
    Reconnected,
    SessionExpired,
    SessMessage,
    UnknownEvent,
    parse_poll,
)
from .models import SendResult, SendStatus

if TYPE_CHECKING:
    from .client import Client, QRCode
    from .runtime.router import Router

__version__ = "0.1.0"

__all__ = [
    "BuddiesStatusChange",
    "BuddyMessage",
    "Client",
    "Content",
    "CustomFace",
    "Disconnected",
    "DiscuMessage",
    "Event",
    "Face",
    "Font",
    "GroupMessage",
    "KickMessage",
    "LoggedIn",
    "MessageEvent",
    "OfflinePic",
    "PollOutcome",
    "PollResult",
    "QRCode",
    "Reconnected",
    "Router",
    "SendResult",
    "SendStatus",
    "SessMessage",
    "SessionExpired",
    "Text",
    "UnknownEvent",
    "UnknownSegment",
    "__version__",
    "errors",
    "filters",
    "parse_poll",
]


def __getattr__(name: str) -> Any:
    # The client imports aiohttp; keep "import smartqq.protocol" free of it.
    if name in ("Client", "QRCode"):
        from . import client

        return getattr(client, name)
    if name == "Router":  # the runtime imports asyncio: keep the sans-IO layers free of it
        from .runtime.router import Router

        return Router
    raise AttributeError(f"module 'smartqq' has no attribute {name!r}")
