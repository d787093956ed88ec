"""The emulator's own HTTP values, with no I/O: what a handler reads and what it answers.

Both front ends build an :class:`EmuRequest` the same way, from the same raw parts (the
path, the raw query string, the raw body bytes and the headers), so the aiohttp shell and
the in-memory transport cannot disagree about what a request said:

* the query and an urlencoded body are parsed here as UTF-8 with replacement (a
  ``charset=`` parameter naming an unknown codec cannot raise);
* cookies are parsed from the ``Cookie`` header here, not by the front end;
* the Host is cut at the port and reduced to printable ASCII (a non-UTF-8 Host becomes
  ``"(invalid)"``), because it is counted and reported.

An :class:`EmuResponse` may carry ``commit``/``rollback`` callbacks: the front end calls
``commit`` once the answer was written and ``rollback`` if it could not be (poll2 puts
its events back).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

__all__ = [
    "EmuRequest",
    "EmuResponse",
    "add_cookie",
    "html",
    "int_param",
    "json_body",
    "json_response",
    "read_r",
    "script_response",
]

JSON_TYPE = "application/json; charset=utf-8"
_MAX_HOST = 255


def _nothing() -> None:
    return None


def _clean_host(raw: str) -> str:
    host = raw.rsplit("]", 1)[0] + "]" if raw.startswith("[") else raw.split(":", 1)[0]
    host = host[:_MAX_HOST]
    return host if host.isascii() and host.isprintable() else "(invalid)"


def _cookies(header: str) -> dict[str, str]:
    """``name=value; ...`` pairs; a malformed pair is skipped, not fatal. (A plain split:
    ``http.cookies`` cost a quarter of a poll's service time, and the values the emulator
    issues are never quoted.)"""
    out: dict[str, str] = {}
    if not header:
        return out
    for part in header.split(";"):
        name, sep, value = part.partition("=")
        name = name.strip()
        if sep and name:
            out[name] = value.strip()
    return out


_UNREAD: Any = object()


@dataclass(frozen=True, slots=True)
class EmuRequest:
    """One request as the service sees it (case-insensitive header lookup)."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header names in lower case."""
    cookies: Mapping[str, str] = field(default_factory=dict)
    host: str = ""
    peer: tuple[str, int] | None = None
    alive: Callable[[], bool] = lambda: True
    """False once the client has gone (a held poll2 then takes nothing off the queue)."""
    decoded_r: Any = field(default=_UNREAD, repr=False, compare=False)
    """``r`` as :func:`read_r` decoded it (kept: the journal and the handler both read it)."""

    @classmethod
    def build(
        cls,
        method: str,
        path: str,
        query_string: str = "",
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        *,
        peer: tuple[str, int] | None = None,
        alive: Callable[[], bool] | None = None,
    ) -> EmuRequest:
        low = {k.lower(): v for k, v in (headers or {}).items()}
        query = (
            dict(parse_qsl(query_string, keep_blank_values=True, errors="replace"))
            if query_string
            else {}
        )
        form: dict[str, str] = {}
        if method == "POST" and body and "multipart/" not in low.get("content-type", ""):
            text = body.decode("utf-8", errors="replace")
            form = dict(parse_qsl(text, keep_blank_values=True, errors="replace"))
        return cls(
            method=method.upper(),
            path=path,
            query=query,
            form=form,
            headers=low,
            cookies=_cookies(low.get("cookie", "")),
            host=_clean_host(low.get("host", "")),
            peer=peer,
            alive=alive or (lambda: True),
        )

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def param(self, name: str, default: str = "") -> str:
        return self.query.get(name, default)

    def __repr__(self) -> str:
        return f"<EmuRequest {self.method} {self.path}>"


@dataclass(slots=True)
class EmuResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False
    """Drop the connection instead of answering (the ``close`` fault)."""
    commit: Callable[[], None] = _nothing
    rollback: Callable[[], None] = _nothing

    def all_headers(self) -> list[tuple[str, str]]:
        return [("Content-Type", self.content_type), *self.headers]

    def __repr__(self) -> str:
        return f"<EmuResponse {self.status} {len(self.body)} bytes>"


def json_response(obj: Any, status: int = 200) -> EmuResponse:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    # A lone surrogate that slipped into a value is escaped rather than raising.
    return EmuResponse(status, text.encode("utf-8", errors="backslashreplace"))


def script_response(text: str) -> EmuResponse:
    return EmuResponse(200, text.encode(), "application/javascript; charset=utf-8")


def html(text: str, status: int = 200) -> EmuResponse:
    return EmuResponse(status, text.encode(), "text/html; charset=utf-8")


def add_cookie(
    resp: EmuResponse, name: str, value: str, domain: str, *, max_age: int | None = None
) -> None:
    """One Set-Cookie per name/domain/path, written as the real service did
    (an empty value is ``name=;``, never ``name=""``)."""
    extra = f"; Max-Age={max_age}" if max_age is not None else ""
    resp.headers.append(("Set-Cookie", f"{name}={value}; Domain={domain}; Path=/{extra}"))


def json_body(raw: str) -> Any:
    """``json.loads`` that answers None for anything unreadable (deep nesting included)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def read_r(request: EmuRequest) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """(``r`` as JSON or None, all form/query fields). Lenient: ``r`` may also be in the query.

    ``r`` is decoded once per request; each call gets a fresh copy of the fields.
    """
    fields = {**request.query, **request.form}
    value = request.decoded_r
    if value is _UNREAD:
        raw = fields.get("r")
        value = None if raw is None else json_body(raw)
        object.__setattr__(request, "decoded_r", value)  # a cache on a frozen value
    return (value if isinstance(value, dict) else None), fields


_INT_LIMIT = 2**63


def int_param(value: Any) -> int | None:
    """An integer within 64 bits, or None (``1e999``, ``NaN``, 30 digits, ``True``...)."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if -_INT_LIMIT < number < _INT_LIMIT else None
