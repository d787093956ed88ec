"""The OICQ binary server protocol of 2004 (seed ``002``).

* :mod:`.codec` -- the frame, the field types and the :class:`Dialect` choices;
* :mod:`.messages` -- every client→server and server→client message type as a record;
* :mod:`.client` -- :class:`OICQClient`.

The codec and messages are sans-IO; the client is imported on first use. The server
lives with the other emulators: ``from smartqq.emulator import OICQServer`` (the legacy
package never imports the emulator).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .codec import DEFAULT, HEADER, Dialect, Frame, FrameReader, Party
from .messages import CLIENT_MESSAGES, SERVER_MESSAGES, Message, decode_message

if TYPE_CHECKING:
    from .client import OICQClient

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
    "Party",
    "decode_message",
]


def __getattr__(name: str) -> Any:
    if name == "OICQClient":
        from .client import OICQClient

        return OICQClient
    if name == "OICQServer":
        # The server moved under smartqq.emulator; importing it from here would make the
        # legacy package depend on the emulator, so say where it is instead.
        raise AttributeError("OICQServer moved: use `from smartqq.emulator import OICQServer`")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
