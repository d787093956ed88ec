"""The OICQ binary server protocol of 2004 (seed ``002``).

* :mod:`.codec` -- the frame, the field types and the :class:`Dialect` choices;
* :mod:`.messages` -- every client→server and server→client message type as a record;
* :mod:`.server` -- :class:`OICQServer`, a small asyncio TCP server over a world;
* :mod:`.client` -- :class:`OICQClient`.

The codec and messages are sans-IO; the server and client are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .codec import DEFAULT, HEADER, Dialect, Frame, FrameReader, Party
from .messages import CLIENT_MESSAGES, SERVER_MESSAGES, Message, decode_message

if TYPE_CHECKING:
    from .client import OICQClient
    from .server import OICQServer

__all__ = [
    "CLIENT_MESSAGES",
    "DEFAULT",
    "HEADER",
    "SERVER_MESSAGES",
    "Dialect",
    "Frame",
    "FrameReader",
    "Message",
    "OICQClient",
    "OICQServer",
    "Party",
    "decode_message",
]


def __getattr__(name: str) -> Any:
    if name == "OICQClient":
        from .client import OICQClient

        return OICQClient
    if name == "OICQServer":
        from .server import OICQServer

        return OICQServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
