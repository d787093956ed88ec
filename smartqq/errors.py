"""Every exception smartqq raises, in one tree.

::

    SmartQQError
    ├── UsageError (also ValueError)       -- the SDK's own API was called wrongly
    │   └── ClientClosedError              -- the client was used after close()
    ├── SessionFileError                   -- a session file is corrupt, unreadable or unsafe
    ├── TransportError                     -- the request did not produce an HTTP answer
    │   ├── NetworkError                   -- connection refused / reset / DNS
    │   │   └── ConnectError               -- failed before the request was written (safe to retry)
    │   └── RequestTimeout (also TimeoutError)
    ├── HTTPStatusError                    -- an HTTP status the endpoint does not answer with
    ├── ProtocolError                      -- a body we cannot read (snippet, secrets redacted)
    │   └── ResponseTooLarge               -- a body over its cap (decompressed size)
    ├── APIError                           -- a JSON envelope with a non-zero retcode
    │   └── SessionExpiredError            -- see smartqq.protocol.retcodes (100012 on send only)
    ├── LoginError                         -- the login did not complete
    │   ├── LoginRejected                  -- ptuiCB with a non-zero code, one subclass per code
    │   │   ├── ServerBusy (1)             ├── AccountExpired (2)
    │   │   ├── WrongPassword (3)          ├── WrongCaptcha (4)
    │   │   ├── VerificationFailed (5)     ├── TryAgain (6)
    │   │   ├── BadLoginInput (7)          ├── TooManyLogins (8)
    │   │   ├── AccountFrozen (19)         └── CookiesRequired (24)
    │   ├── QRCodeExpired                  -- code 65 more often than the refresh limit
    │   └── CaptchaRequired                -- a captcha is needed and no on_captcha was given
    └── Kicked                             -- the server sent kick_message

A send answered 1202 is not an error: it returns a ``SendResult`` whose status is
``UNCERTAIN`` (see ``smartqq.protocol.retcodes``).

Messages never contain secrets: anything that quotes a server body runs it
through :func:`smartqq.protocol.redact.redact` first.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "APIError",
    "AccountExpired",
    "AccountFrozen",
    "BadLoginInput",
    "CaptchaRequired",
    "ClientClosedError",
    "ConnectError",
    "CookiesRequired",
    "HTTPStatusError",
    "Kicked",
    "LoginError",
    "LoginRejected",
    "NetworkError",
    "ProtocolError",
    "QRCodeExpired",
    "RequestTimeout",
    "ResponseTooLarge",
    "ServerBusy",
    "SessionExpiredError",
    "SessionFileError",
    "SmartQQError",
    "TooManyLogins",
    "TransportError",
    "TryAgain",
    "UsageError",
    "VerificationFailed",
    "WrongCaptcha",
    "WrongPassword",
    "login_error_for",
]


class SmartQQError(Exception):
    """Root of every error raised by smartqq."""


class UsageError(SmartQQError, ValueError):
    """The SDK was called with arguments it cannot act on."""


class ClientClosedError(UsageError):
    """The client was used after it was closed."""


class SessionFileError(SmartQQError):
    """A saved session cannot be used (corrupt, wrong version, unsafe mode)."""


class TransportError(SmartQQError):
    """No HTTP response was received."""


class NetworkError(TransportError):
    """The connection failed or broke."""


class ConnectError(NetworkError):
    """The connection failed before the request was written: retrying cannot duplicate it."""


class RequestTimeout(TransportError, TimeoutError):
    """The request took longer than its timeout."""


class HTTPStatusError(SmartQQError):
    """The server answered with an HTTP status the endpoint does not use for success."""

    def __init__(self, status: int, endpoint: str) -> None:
        super().__init__(f"HTTP {status} from {endpoint}")
        self.status = status
        self.endpoint = endpoint


class ProtocolError(SmartQQError):
    """A server body could not be read. ``snippet`` is a short, redacted excerpt."""

    def __init__(self, message: str, snippet: str = "") -> None:
        super().__init__(f"{message}: {snippet!r}" if snippet else message)
        self.snippet = snippet


class ResponseTooLarge(ProtocolError):
    """A response body grew past its cap (counted after decompression); the
    connection was dropped without reading the rest."""

    def __init__(self, endpoint: str, limit: int) -> None:
        super().__init__(f"{endpoint or 'response'} body is over its {limit}-byte cap")
        self.endpoint = endpoint
        self.limit = limit


class APIError(SmartQQError):
    """A JSON envelope carried a non-zero ``retcode`` (or ``errCode``)."""

    def __init__(self, retcode: int, endpoint: str = "", errmsg: str = "") -> None:
        text = f"retcode {retcode}"
        if endpoint:
            text += f" from {endpoint}"
        if errmsg:
            text += f" ({errmsg})"
        super().__init__(text)
        self.retcode = retcode
        self.endpoint = endpoint
        self.errmsg = errmsg


class SessionExpiredError(APIError):
    """The server no longer accepts this session: relink or log in again."""


class LoginError(SmartQQError):
    """Logging in did not complete."""


class LoginRejected(LoginError):
    """ptlogin answered ``ptuiCB`` with a non-zero code."""

    code: ClassVar[int] = -1

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(f"login rejected with code {code}" + (f": {message}" if message else ""))
        self.code = code  # type: ignore[misc]
        self.message = message


class ServerBusy(LoginRejected):
    code = 1


class AccountExpired(LoginRejected):
    code = 2


class WrongPassword(LoginRejected):
    code = 3


class WrongCaptcha(LoginRejected):
    code = 4


class VerificationFailed(LoginRejected):
    code = 5


class TryAgain(LoginRejected):
    code = 6


class BadLoginInput(LoginRejected):
    code = 7


class TooManyLogins(LoginRejected):
    code = 8


class AccountFrozen(LoginRejected):
    code = 19


class CookiesRequired(LoginRejected):
    code = 24


_LOGIN_ERRORS: dict[int, type[LoginRejected]] = {
    cls.code: cls
    for cls in (
        ServerBusy,
        AccountExpired,
        WrongPassword,
        WrongCaptcha,
        VerificationFailed,
        TryAgain,
        BadLoginInput,
        TooManyLogins,
        AccountFrozen,
        CookiesRequired,
    )
}


def login_error_for(code: int, message: str = "") -> LoginRejected:
    """The typed error for a ``ptuiCB`` code (an unknown code gives :class:`LoginRejected`)."""
    return _LOGIN_ERRORS.get(code, LoginRejected)(code, message)


class QRCodeExpired(LoginError):
    """The QR code expired more times than the configured refresh limit."""


class CaptchaRequired(LoginError):
    """The account needs a captcha and no ``on_captcha`` callback was given."""


class Kicked(SmartQQError):
    """The server ended the session with ``kick_message`` (logged in elsewhere)."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(f"kicked: {reason}" if reason else "kicked")
        self.reason = reason
