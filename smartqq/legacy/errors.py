"""Errors of the legacy protocols, under :class:`smartqq.errors.SmartQQError`.

::

    SmartQQError
    └── LegacyError
        ├── TQQError                      -- tqq answered something other than success
        │   ├── NullAnswerError           -- the literal answer ``NULL`` (malformed request)
        │   ├── TQQLoginError             -- Login answered RS=1 (reason in ``.reason``)
        │   └── TQQResError               -- a non-zero RES, one subclass per known code
        │       ├── TooFastError (3)      -- too fast, or a message over 400 bytes
        │       ├── BadUinError (5)       -- an illegal QQ number
        │       └── NotLoggedInError (20) -- the command needs a login
        └── FrameError                    -- bytes that are not a valid OICQ frame
"""

from __future__ import annotations

from typing import ClassVar

from smartqq.errors import SmartQQError

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
    "res_error_for",
]


class LegacyError(SmartQQError):
    """Root of the legacy protocols' errors."""


class TQQError(LegacyError):
    """A tqq command did not succeed."""


class NullAnswerError(TQQError):
    """The server answered ``NULL``: it rejected the request's form (a non-numeric UIN,
    an unknown VER, a wrong LC, an illegal status code, bytes that are not UTF-8, ...)."""

    def __init__(self, cmd: str) -> None:
        self.cmd = cmd
        super().__init__(f"{cmd}: the server answered NULL (the request was malformed)")


class TQQLoginError(TQQError):
    """Login was refused (``RS=1``); ``reason`` is the server's ``RA`` text."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"login refused: {reason or 'no reason given'}")


class TQQResError(TQQError):
    """A non-zero ``RES``. ``res`` is the code, ``cmd`` the command."""

    res: int
    meaning: ClassVar[str] = "unknown result code"

    def __init__(self, cmd: str, res: int) -> None:
        self.cmd = cmd
        self.res = res
        super().__init__(f"{cmd}: RES={res} ({self.meaning})")


class TooFastError(TQQResError):
    meaning = "too fast, or a message over 400 bytes; nothing was delivered"


class BadUinError(TQQResError):
    meaning = "illegal QQ number"


class NotLoggedInError(TQQResError):
    meaning = "not logged in"


_BY_RES: dict[int, type[TQQResError]] = {3: TooFastError, 5: BadUinError, 20: NotLoggedInError}


def res_error_for(cmd: str, res: int) -> TQQResError:
    """The typed error for a non-zero ``RES`` code."""
    return _BY_RES.get(res, TQQResError)(cmd, res)


class FrameError(LegacyError):
    """Bytes that do not decode as an OICQ frame of the expected type."""
