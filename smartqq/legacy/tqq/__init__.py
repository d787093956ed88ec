"""The tqq HTTP interface (``tqq.tencent.com:8000``, ``VER=1.1&CMD=...``).

* :mod:`.codec` -- the ``KEY=VALUE&...`` format, lists, escaping, message segments;
* :mod:`.commands` -- a request builder and an answer parser for every command;
* :mod:`.models` -- decoded codes (status, blood type, constellation, zodiac, gender,
  CD outcomes) and typed results;
* :mod:`.events` -- typed events for GetMsgEx items;
* :mod:`.client` -- :class:`TQQClient`.

Everything but the client is sans-IO; the client (and aiohttp with it) is imported on
first use of ``TQQClient``, so the emulator can share the codec without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .codec import Answer, Reassembler, decode_answer, split_for_send
from .commands import TQQRequest, password_md5
from .events import (
    TQQAuthAccepted,
    TQQAuthRejected,
    TQQAuthRequest,
    TQQEvent,
    TQQMessage,
    TQQStatusChange,
    TQQSystemMessage,
    TQQUnknownMessage,
)

if TYPE_CHECKING:
    from .client import DEFAULT_BASE_URL, TQQClient
from .models import (
    AckCode,
    AddOutcome,
    AddResult,
    BloodType,
    Constellation,
    FingerEntry,
    FriendList,
    Gender,
    LoginResult,
    MessageType,
    OnlineFriend,
    OnlineList,
    Status,
    UserInfo,
    Zodiac,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "AckCode",
    "AddOutcome",
    "AddResult",
    "Answer",
    "BloodType",
    "Constellation",
    "FingerEntry",
    "FriendList",
    "Gender",
    "LoginResult",
    "MessageType",
    "OnlineFriend",
    "OnlineList",
    "Reassembler",
    "Status",
    "TQQAuthAccepted",
    "TQQAuthRejected",
    "TQQAuthRequest",
    "TQQClient",
    "TQQEvent",
    "TQQMessage",
    "TQQRequest",
    "TQQStatusChange",
    "TQQSystemMessage",
    "TQQUnknownMessage",
    "UserInfo",
    "Zodiac",
    "decode_answer",
    "password_md5",
    "split_for_send",
]


def __getattr__(name: str) -> Any:
    if name in ("TQQClient", "DEFAULT_BASE_URL"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
