"""Parsers for the non-JSON answers of ptlogin and for the JSON envelope.

ptlogin answers with one JavaScript call (``ptui_checkVC('0','!PTH','\\x00…')``,
``ptuiCB('0','0','http://…','0','登录成功！', 'nick')``); the arguments are
single-quoted strings that may contain commas, so they are read with a
tokenizer, not ``split(',')``. The JSON envelope (§0.1, §6.2, §7.3) is read
into the ``result`` value or a typed :class:`~smartqq.errors.APIError`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from smartqq.errors import APIError, ProtocolError, SessionExpiredError

from . import retcodes
from .redact import redact

__all__ = [
    "CheckVC",
    "PtuiCB",
    "SendOutcome",
    "decode_json",
    "parse_check_vc",
    "parse_envelope",
    "parse_login_page",
    "parse_ptuicb",
    "parse_send_response",
    "snippet",
]

_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")
_HEX_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


def snippet(body: bytes | str, limit: int = 120) -> str:
    """A short, redacted excerpt of a body for error messages.

    The body is cut *before* it is decoded and redacted: redacting a 20 MB body
    to keep its first 120 characters stalled the event loop for seconds. The cut
    keeps a generous margin so redaction (which shortens text) still sees every
    secret that could end up inside the excerpt.
    """
    head = body[: limit * 8 + 1024]
    text = head.decode("utf-8", "replace") if isinstance(head, bytes) else head
    text = redact(text)
    return text if len(text) <= limit and len(head) == len(body) else text[:limit] + "…"


def _call_args(text: str, name: str) -> list[str]:
    start = text.find(name + "(")
    if start < 0:
        raise ProtocolError(f"no {name}(...) call", snippet(text))
    inner = text[start + len(name) + 1 :]
    end = inner.rfind(")")
    if end < 0:
        raise ProtocolError(f"unterminated {name}(...) call", snippet(text))
    inner = inner[:end]
    args = [m.group(1) if m.group(1) is not None else m.group(2) for m in _STRING.finditer(inner)]
    if not args:
        raise ProtocolError(f"{name}(...) has no string arguments", snippet(text))
    return args


@dataclass(frozen=True, slots=True)
class CheckVC:
    """The answer of ``check`` (§1.2)."""

    needs_captcha: bool
    code: str
    """The verification code to use (no captcha) or the captcha ticket (``cap_cd``)."""
    salt: bytes | None = None
    verifysession: str = ""
    rand_salt: str = ""


def parse_check_vc(text: str) -> CheckVC:
    """Read ``ptui_checkVC(...)`` in its 2-, 3- and 5-argument forms."""
    args = _call_args(text, "ptui_checkVC")
    if len(args) < 2:
        raise ProtocolError("ptui_checkVC needs at least 2 arguments", snippet(text))
    flag = args[0].strip()
    if flag not in ("0", "1"):
        raise ProtocolError("ptui_checkVC flag is not 0 or 1", snippet(text))
    salt: bytes | None = None
    if len(args) >= 3 and args[2]:
        raw = bytes(int(h, 16) for h in _HEX_ESCAPE.findall(args[2]))
        if not raw:
            raise ProtocolError("ptui_checkVC salt has no \\xHH escapes", snippet(text))
        # Always 8 bytes: left-pad short salts (a shorter big-endian number).
        salt = raw[-8:].rjust(8, b"\x00")
    return CheckVC(
        needs_captcha=flag == "1",
        code=args[1],
        salt=salt,
        verifysession=args[3] if len(args) >= 4 else "",
        rand_salt=args[4] if len(args) >= 5 else "",
    )


@dataclass(frozen=True, slots=True)
class PtuiCB:
    """The answer of ``/login`` and ``ptqrlogin`` (§1.6, §2)."""

    code: int
    subcode: int
    url: str
    redirect: str
    message: str
    nick: str

    def __repr__(self) -> str:
        return f"PtuiCB(code={self.code}, subcode={self.subcode}, message={self.message!r})"


def parse_ptuicb(text: str) -> PtuiCB:
    """Read ``ptuiCB('code','sub','url','mode','message', 'nick')``."""
    args = _call_args(text, "ptuiCB")
    try:
        code = int(args[0])
    except ValueError:
        raise ProtocolError("ptuiCB code is not a number", snippet(text)) from None
    padded = [*args, "", "", "", "", "", ""]
    try:
        subcode = int(padded[1]) if padded[1] else 0
    except ValueError:
        subcode = 0
    return PtuiCB(code, subcode, padded[2], padded[3], padded[4], padded[5])


_LOGIN_PAGE_VAR = re.compile(r"g_(\w+)\s*=\s*encodeURIComponent\(\s*\"([^\"]*)\"\s*\)")
_LOGIN_PAGE_PLAIN = re.compile(r"g_(\w+)\s*=\s*\"?([\w.\-]+)\"?\s*[,;]")


def parse_login_page(text: str) -> dict[str, str]:
    """The ``g_*`` variables of the ptlogin page (``login_sig``, ``pt_version``, ``appid``…)."""
    found: dict[str, str] = {}
    for m in _LOGIN_PAGE_PLAIN.finditer(text):
        found.setdefault(m.group(1), m.group(2))
    for m in _LOGIN_PAGE_VAR.finditer(text):
        found[m.group(1)] = m.group(2)
    return found


def decode_json(body: bytes | str) -> Any:
    """JSON from a body, or :class:`ProtocolError` with a redacted snippet."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"body is not JSON ({type(exc).__name__})", snippet(body)) from None


def _int_field(obj: dict[str, Any], key: str, body: bytes | str) -> int | None:
    if key not in obj:
        return None
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ProtocolError(f"{key} is not an integer", snippet(body))
    try:
        return int(value)
    except ValueError:
        raise ProtocolError(f"{key} is not an integer", snippet(body)) from None


def _coded(body: bytes | str, what: str) -> tuple[dict[str, Any], int]:
    """The JSON object in ``body`` and its ``retcode`` (or, in the 2015-2017 send form,
    ``errCode``); :class:`ProtocolError` naming ``what`` when either is missing."""
    obj = decode_json(body)
    if not isinstance(obj, dict):
        raise ProtocolError(f"{what} is not an object", snippet(body))
    code = _int_field(obj, "retcode", body)
    if code is None:
        code = _int_field(obj, "errCode", body)
    if code is None:
        raise ProtocolError(f"{what} has no retcode", snippet(body))
    return obj, code


def parse_envelope(body: bytes | str, endpoint: str = "") -> Any:
    """The ``result`` of ``{"retcode":0,"result":…}``; non-zero codes raise :class:`APIError`."""
    obj, retcode = _coded(body, "JSON envelope")
    if retcode != 0:
        errmsg = str(obj.get("errmsg") or obj.get("errMsg") or obj.get("retmsg") or "")
        cls = SessionExpiredError if retcode in retcodes.ENVELOPE_SESSION else APIError
        raise cls(retcode, endpoint, errmsg)
    return obj.get("result")


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """How a send call answered (§7.3)."""

    retcode: int
    sent: bool
    uncertain: bool


# Frozen and few: one shared instance per code that is not an error (one per send saved).
_SEND_OUTCOMES = {
    **{code: SendOutcome(code, sent=False, uncertain=True) for code in retcodes.SEND_UNCERTAIN},
    **{code: SendOutcome(code, sent=True, uncertain=False) for code in retcodes.SEND_OK},
}  # (OK last: a code in both tables counts as sent, as the checks in order did)


def parse_send_response(body: bytes | str, endpoint: str = "") -> SendOutcome:
    """``retcode 0``, ``errCode 0`` and ``100100`` are sent; ``1202`` is uncertain.

    ``100012``/``103``/… raise :class:`SessionExpiredError`; other codes :class:`APIError`.
    """
    obj, code = _coded(body, "send response")
    known = _SEND_OUTCOMES.get(code)
    if known is not None:
        return known
    errmsg = str(obj.get("errmsg") or obj.get("errMsg") or "")
    if code in retcodes.SEND_SESSION:
        raise SessionExpiredError(code, endpoint, errmsg)
    raise APIError(code, endpoint, errmsg)
