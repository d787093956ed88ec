"""smartqq.protocol — the sans-IO core: hashing, parsers, profiles, request builders, flows.

Nothing here imports aiohttp or asyncio (``tests/protocol/test_sans_io.py``
checks it in a fresh interpreter, and a ruff banned-api rule guards it).
"""

from __future__ import annotations

from . import endpoints
from .flows import (
    LoginFlow,
    NeedCaptcha,
    QRStatus,
    ShowQRCode,
    Step,
    Wait,
    establish_flow,
    password_login_flow,
    qr_login_flow,
    relink_flow,
)
from .hashing import (
    bkn,
    friend_hash,
    friend_hash_password_error,
    friend_hash_quicksort,
    hash33,
    password_hash,
    password_hash_salted,
    time33,
    uin_salt,
)
from .http import Cookie, CookieJar, HttpRequest, HttpResponse
from .parsers import (
    CheckVC,
    PtuiCB,
    SendOutcome,
    parse_check_vc,
    parse_envelope,
    parse_login_page,
    parse_ptuicb,
    parse_send_response,
)
from .profiles import PROFILES, SMARTQQ, WEBQQ3, ClientIdPolicy, Profile, profile_by_name
from .redact import redact
from .session import SessionState

__all__ = [
    "PROFILES",
    "SMARTQQ",
    "WEBQQ3",
    "CheckVC",
    "ClientIdPolicy",
    "Cookie",
    "CookieJar",
    "HttpRequest",
    "HttpResponse",
    "LoginFlow",
    "NeedCaptcha",
    "Profile",
    "PtuiCB",
    "QRStatus",
    "SendOutcome",
    "SessionState",
    "ShowQRCode",
    "Step",
    "Wait",
    "bkn",
    "endpoints",
    "establish_flow",
    "friend_hash",
    "friend_hash_password_error",
    "friend_hash_quicksort",
    "hash33",
    "parse_check_vc",
    "parse_envelope",
    "parse_login_page",
    "parse_ptuicb",
    "parse_send_response",
    "password_hash",
    "password_hash_salted",
    "password_login_flow",
    "profile_by_name",
    "qr_login_flow",
    "redact",
    "relink_flow",
    "time33",
    "uin_salt",
]
