"""Plain HTTP values and a cookie jar, with no I/O.

Requests always carry the *real* URL (``https://d1.web2.qq.com/...``). A
transport may send them elsewhere (an emulator), but cookies are matched by the
real host, which is why the jar lives here instead of in aiohttp: aiohttp's jar
would file ``Domain=qq.com`` cookies under ``127.0.0.1`` and never send them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

from .redact import redact

__all__ = ["Cookie", "CookieJar", "HttpRequest", "HttpResponse"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request to make. ``query``/``form`` keep their order (some servers care)."""

    method: str
    url: str
    query: tuple[tuple[str, str], ...] = ()
    form: tuple[tuple[str, str], ...] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    endpoint: str = ""
    timeout: float | None = None
    max_bytes: int | None = None
    """Cap on the decompressed body; a transport raises ``ResponseTooLarge`` over it."""
    body: bytes | None = None
    """A raw request body (the tqq protocol's text/plain commands); ``form`` wins if set."""

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def full_url(self) -> str:
        return f"{self.url}?{urlencode(self.query)}" if self.query else self.url

    def form_body(self) -> bytes:
        return urlencode(self.form or ()).encode("ascii")

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)

    def __repr__(self) -> str:
        return f"<HttpRequest {self.method} {redact(self.full_url)}>"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """One response received. ``headers`` keeps repeated names (Set-Cookie)."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    url: str = ""

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)

    def header_all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"<HttpResponse {self.status} {len(self.body)} bytes>"


@dataclass(slots=True)
class Cookie:
    name: str
    value: str
    domain: str
    path: str = "/"
    expires: float | None = None

    def matches(self, host: str, path: str, now: float) -> bool:
        if self.expires is not None and self.expires <= now:
            return False
        if not (host == self.domain or host.endswith("." + self.domain)):
            return False
        return path.startswith(self.path) or self.path == "/"


@dataclass
class CookieJar:
    """Cookies keyed by (name, domain, path), matched against the real request host."""

    _cookies: dict[tuple[str, str, str], Cookie] = field(default_factory=dict)

    def set(self, name: str, value: str, domain: str, path: str = "/") -> None:
        self._cookies[(name, domain.lstrip("."), path)] = Cookie(
            name, value, domain.lstrip("."), path
        )

    def get(self, name: str, domain: str | None = None) -> str | None:
        """The value of ``name`` (the most specific domain wins when several exist)."""
        found = [
            c
            for c in self._cookies.values()
            if c.name == name and (domain is None or c.domain == domain.lstrip("."))
        ]
        if not found:
            return None
        return max(found, key=lambda c: len(c.domain)).value

    def delete(self, name: str, domain: str | None = None) -> None:
        for key in [
            k for k in self._cookies if k[0] == name and (domain is None or k[1] == domain)
        ]:
            del self._cookies[key]

    def header_for(self, url: str, now: float | None = None) -> str:
        """The ``Cookie`` header value for a request to ``url`` (empty when none apply)."""
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path or "/"
        moment = time.time() if now is None else now
        chosen: dict[str, Cookie] = {}
        for c in self._cookies.values():
            if c.matches(host, path, moment):
                prev = chosen.get(c.name)
                if prev is None or len(c.domain) > len(prev.domain):
                    chosen[c.name] = c
        return "; ".join(f"{c.name}={c.value}" for c in chosen.values())

    def update_from(
        self, url: str, set_cookie_headers: Iterable[str], now: float | None = None
    ) -> None:
        """Store the cookies of a response to ``url``. Malformed headers are skipped."""
        host = urlsplit(url).hostname or ""
        moment = time.time() if now is None else now
        for header in set_cookie_headers:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(header)
            except CookieError:
                continue
            for morsel in jar.values():
                domain = (morsel["domain"] or host).lstrip(".")
                path = morsel["path"] or "/"
                key = (morsel.key, domain, path)
                expired = False
                max_age = morsel["max-age"]
                if max_age not in ("", None):
                    try:
                        expired = int(max_age) <= 0
                    except ValueError:
                        expired = False
                if morsel["expires"] and not expired:
                    expired = _expired(str(morsel["expires"]), moment)
                if expired:
                    self._cookies.pop(key, None)
                else:
                    self._cookies[key] = Cookie(morsel.key, morsel.value, domain, path)

    def to_list(self) -> list[dict[str, Any]]:
        return [
            {"name": c.name, "value": c.value, "domain": c.domain, "path": c.path}
            for c in self._cookies.values()
        ]

    @classmethod
    def from_list(cls, items: Iterable[Mapping[str, Any]]) -> CookieJar:
        jar = cls()
        for item in items:
            jar.set(
                str(item["name"]),
                str(item["value"]),
                str(item["domain"]),
                str(item.get("path", "/")),
            )
        return jar

    def values(self) -> list[str]:
        """Every cookie value (for redaction)."""
        return [c.value for c in self._cookies.values()]

    def __len__(self) -> int:
        return len(self._cookies)

    def __repr__(self) -> str:
        names = sorted({c.name for c in self._cookies.values()})
        return f"<CookieJar {len(self._cookies)} cookies: {', '.join(names)}>"


def _expired(expires: str, now: float) -> bool:
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(expires).timestamp() <= now
    except (TypeError, ValueError):
        return False
