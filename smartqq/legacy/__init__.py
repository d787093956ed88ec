"""Tencent's older IM protocols, for the record and for old bots: tqq and OICQ.

``smartqq.legacy.tqq``
    The 2004-2006 HTTP interface on ``tqq.tencent.com:8000`` (``VER=1.1&CMD=...``):
    a sans-IO codec, typed results and events, and :class:`~smartqq.legacy.tqq.TQQClient`.
    Its emulator is :class:`smartqq.emulator.TQQEmulator`.
``smartqq.legacy.oicq``
    The binary OICQ server protocol of 2004: a frame codec for every message type, and a
    small asyncio TCP server and client.

Neither shares state with the SmartQQ client; they share its style, its error root
(:class:`smartqq.errors.SmartQQError`), its event base class and its dispatcher.
"""

from __future__ import annotations

from .errors import (
    BadUinError,
    FrameError,
    LegacyError,
    NotLoggedInError,
    NullAnswerError,
    TooFastError,
    TQQError,
    TQQLoginError,
    TQQResError,
)

__all__ = [
    "BadUinError",
    "FrameError",
    "LegacyError",
    "NotLoggedInError",
    "NullAnswerError",
    "TQQError",
    "TQQLoginError",
    "TQQResError",
    "TooFastError",
]
