"""Plain HTTP values (and the cookie jar, from :mod:`.cookies`), with no I/O.

Requests always carry the *real* URL (``https://d1.web2.qq.com/...``). A
transport may send them elsewhere (an emulator), but cookies are matched by the
real host, which is why the jar lives here instead of in aiohttp: aiohttp's jar
would file ``Domain=qq.com`` cookies under ``127.0.0.1`` and never send them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from .cookies import Cookie, CookieJar
from .redact import redact

__all__ = ["Cookie", "CookieJar", "HttpRequest", "HttpResponse", "form_encode"]

# quote_plus as a translation table: urlencode quotes byte by byte in Python, which
# made encoding the poll2 form (every poll) cost more than parsing its answer.
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_PLUS_TABLE = tuple("+" if b == 0x20 else chr(b) if b in _SAFE else f"%{b:02X}" for b in range(256))


def _quote_plus(value: str) -> str:
    if value.isascii() and value.isalnum():
        return value
    return value.encode("utf-8").decode("latin-1").translate(_PLUS_TABLE)


def form_encode(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> bytes:
    """``urlencode(pairs).encode()``, byte for byte, at C speed."""
    return "&".join(f"{_quote_plus(str(k))}={_quote_plus(str(v))}" for k, v in pairs).encode(
        "ascii"
    )


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
    _encoded: bytes | None = field(default=None, init=False, repr=False, compare=False)
    """``form`` encoded, made on first use: the poller sends one poll2 request over and over."""

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def full_url(self) -> str:
        return f"{self.url}?{urlencode(self.query)}" if self.query else self.url

    def with_headers(
        self, headers: tuple[tuple[str, str], ...], *, max_bytes: int | None
    ) -> HttpRequest:
        """This request with other headers and body cap (what ``dataclasses.replace``
        does, at a quarter of its cost: it runs for every request a client sends).
        The encoded form comes along, encoded here once for this request if need be."""
        copy = HttpRequest(
            self.method,
            self.url,
            self.query,
            self.form,
            headers,
            self.endpoint,
            self.timeout,
            max_bytes,
            self.body,
        )
        if self.form is not None:
            object.__setattr__(copy, "_encoded", self.form_body())
        return copy

    def form_body(self) -> bytes:
        """``form`` as ``application/x-www-form-urlencoded`` bytes (encoded once)."""
        encoded = self._encoded
        if encoded is None:
            encoded = form_encode(self.form or ())
            object.__setattr__(self, "_encoded", encoded)
        return encoded

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
