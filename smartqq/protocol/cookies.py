"""A bounded, suspicious cookie jar, with no I/O.

Design note. Cookies are matched by the *real* host of a request
(``d1.web2.qq.com``), whatever server a transport actually talks to, so the jar
lives here instead of in aiohttp. Every ``Set-Cookie`` comes from a server we
may not trust, so the jar follows RFC 6265's storage rules and adds limits:

* ``Domain`` must domain-match the request host, and may not be a public suffix
  (``Domain=com``, ``Domain=com.cn``; a small built-in list of the suffixes that
  matter here, plus every single-label name) or a different IP address;
* a name over :data:`MAX_NAME_BYTES`, a value over :data:`MAX_VALUE_BYTES`, or
  a value with a control character (CR, LF, NUL…) or ``;`` is ignored: it would
  otherwise be replayed into our own ``Cookie`` header;
* at most :data:`MAX_PER_DOMAIN` cookies per domain and :data:`MAX_TOTAL` in all;
  when full, the oldest cookie the protocol does not use makes room, and when
  only protocol cookies are left the newcomer is dropped;
* only the first :data:`MAX_SET_COOKIE` ``Set-Cookie`` lines of one response are
  read (a real answer sets about ten), so a flood costs a bounded few ms;
* only :data:`PERSISTED_COOKIES` (the names PROTOCOL.md §0.4 says a logged-in
  session uses) are written by :meth:`CookieJar.to_list`, i.e. to session files.
"""

from __future__ import annotations

import ipaddress
import math
import sys
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from smartqq.errors import ProtocolError

__all__ = [
    "MAX_NAME_BYTES",
    "MAX_PER_DOMAIN",
    "MAX_SET_COOKIE",
    "MAX_TOTAL",
    "MAX_VALUE_BYTES",
    "PERSISTED_COOKIES",
    "PUBLIC_SUFFIXES",
    "Cookie",
    "CookieJar",
]

MAX_NAME_BYTES = 256
MAX_VALUE_BYTES = 4096
MAX_PATH_BYTES = 1024
MAX_PER_DOMAIN = 50
MAX_TOTAL = 300
MAX_SET_COOKIE = 100
_ATTRIBUTES = frozenset({"domain", "path", "max-age", "expires"})
_MAX_ATTRIBUTES = 16
# Name, value and path at their caps plus room for the other attributes.
_MAX_HEADER = MAX_NAME_BYTES + MAX_VALUE_BYTES + MAX_PATH_BYTES + 512
_SEPARATORS = frozenset('()<>@,;:\\"/[]?={} \t')
_MAX_LIFETIME = 10 * 365 * 86400.0  # Max-Age beyond ten years is clamped (no overflow)

PERSISTED_COOKIES: frozenset[str] = frozenset(
    {
        # qq.com: the login proper, sent to every web2 host.
        "uin",
        "skey",
        "pt2gguin",
        "ptwebqq",
        "ptcz",  # hashed into logout's pt4_ptcz
        # web2.qq.com (and w.qq.com): required by s.web2 / d1.web2.
        "p_skey",
        "p_uin",
        "pt4_token",
        # ptlogin2.qq.com: re-login without a new scan.
        "superuin",
        "superkey",
        "supertoken",
    }
)
"""Cookie names a saved session needs; login-time ones (qrsig, pt_login_sig,
verifysession…) and anything else a server sets are kept in memory only."""

PUBLIC_SUFFIXES: frozenset[str] = frozenset(
    {
        # Generic top-level domains seen in practice (single labels are refused anyway).
        *("com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "top"),
        # China, Hong Kong, Macau, Taiwan: where QQ's users and hosts are.
        *("cn", "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "ac.cn", "mil.cn"),
        *("hk", "com.hk", "net.hk", "org.hk", "edu.hk", "gov.hk", "idv.hk"),
        *("mo", "com.mo", "net.mo", "org.mo"),
        *("tw", "com.tw", "net.tw", "org.tw", "edu.tw", "gov.tw", "idv.tw"),
        # Other common second-level registries.
        *("co.uk", "org.uk", "ac.uk", "gov.uk", "co.jp", "ne.jp", "or.jp", "ac.jp"),
        *("co.kr", "or.kr", "com.au", "net.au", "org.au", "com.sg", "com.my", "co.in"),
        *("com.br", "com.tr", "com.ru", "com.ua", "co.nz", "co.za"),
        # Shared hosting where every customer is a subdomain.
        *("github.io", "appspot.com", "herokuapp.com", "blogspot.com", "cloudfront.net"),
        *("amazonaws.com", "azurewebsites.net", "pages.dev", "vercel.app", "netlify.app"),
    }
)


@dataclass(slots=True)
class Cookie:
    name: str
    value: str
    domain: str
    path: str = "/"
    expires: float | None = None
    host_only: bool = False

    def matches(self, host: str, path: str, now: float) -> bool:
        if self.expires is not None and self.expires <= now:
            return False
        if self.host_only:
            if host != self.domain:
                return False
        elif not (host == self.domain or host.endswith("." + self.domain)):
            return False
        return path.startswith(self.path) or self.path == "/"


def _bad_value(value: str) -> bool:
    """A value that would break (or inject into) the ``Cookie`` header we send."""
    if len(value.encode("utf-8", "surrogatepass")) > MAX_VALUE_BYTES:
        return True
    # Printable ASCII only: CR/LF/NUL would inject into our own request headers, and
    # non-ASCII is not a cookie-octet (RFC 6265 §4.1.1) nor encodable in every header.
    return any(ch == ";" or not 0x20 <= ord(ch) < 0x7F for ch in value)


def _bad_name(name: str) -> bool:
    if not name or len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return True
    # An RFC 2616 token: no separators, spaces, controls or non-ASCII.
    return any(ch in _SEPARATORS or not 0x20 < ord(ch) < 0x7F for ch in name)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def cookie_domain(host: str, attribute: str) -> tuple[str, bool] | None:
    """The domain to file a cookie under and whether it is host-only, or None to refuse.

    ``attribute`` is the ``Domain=`` value ("" when absent); ``host`` the request's.
    """
    host = host.lower().rstrip(".")
    domain = attribute.strip().lstrip(".").lower().rstrip(".")
    if not domain:
        return (host, True) if host else None
    if domain == host:
        # RFC 6265 §5.3 step 5: a public suffix naming the host itself is host-only.
        return host, domain in PUBLIC_SUFFIXES or "." not in domain or _is_ip(host)
    if _is_ip(host) or _is_ip(domain):
        return None  # an IP address only ever matches itself
    if "." not in domain or domain in PUBLIC_SUFFIXES:
        return None
    if not host.endswith("." + domain):
        return None  # a domain outside the request's host
    return domain, False


_Key = tuple[str, str, str]  # (name, domain, path)
_Meta = tuple[float | None, bool]  # (expires, host_only)
_PLAIN: _Meta = (None, False)
# The keys of a logged-in session's jar, in order, are the same in every client of a
# process: one tuple of them is shared (bounded: only layouts of protocol names, and
# only so many; past that a jar just keeps its own).
_LAYOUTS: dict[tuple[_Key, ...], tuple[_Key, ...]] = {}
_MAX_LAYOUTS = 256


def _layout(keys: tuple[_Key, ...]) -> tuple[_Key, ...]:
    found = _LAYOUTS.get(keys)
    if found is not None:
        return found
    if len(_LAYOUTS) < _MAX_LAYOUTS and all(k[0] in PERSISTED_COOKIES for k in keys):
        _LAYOUTS[keys] = keys
    return keys


class CookieJar:
    """Cookies keyed by (name, domain, path), matched against the real request host.

    Insertion order is age order (a replaced cookie moves to the end), which is
    what eviction uses.

    Stored as two parallel tuples, the keys (shared between the jars that hold
    the same names, as every logged-in client does) and the values, with
    expiry and host-only kept aside for the few cookies that have either. A
    ``Cookie`` object per cookie in a dict cost ~2 KiB more per client at
    1,000 clients; :meth:`cookies` builds them on demand. A jar holds a dozen
    cookies (at most :data:`MAX_TOTAL`), so the linear scans stay cheap.
    """

    __slots__ = ("_header", "_keys", "_meta", "_values", "max_per_domain", "max_total")

    def __init__(self, max_per_domain: int = MAX_PER_DOMAIN, max_total: int = MAX_TOTAL) -> None:
        self.max_per_domain = max_per_domain
        self.max_total = max_total
        self._keys: tuple[_Key, ...] = ()
        self._values: tuple[str, ...] = ()
        self._meta: dict[_Key, _Meta] | None = None  # None while no cookie has any
        # The last header_for answer: (url, the values it was made from, header, good
        # until). A client asks for the same URL's header on every poll, and every change
        # to the jar replaces ``_values``, so identity says whether it still holds.
        self._header: tuple[str, tuple[str, ...], str, float] | None = None

    def set(self, name: str, value: str, domain: str, path: str = "/") -> None:
        """Store a cookie the caller chose (e.g. a ptwebqq the server rotated).

        Raises :class:`~smartqq.errors.ProtocolError` for a name or value that
        could not be sent back safely (over the size caps, control characters, ``;``).
        """
        if _bad_name(name) or _bad_value(value):
            raise ProtocolError(f"refusing an unsafe value for cookie {name[:40]!r}")
        domain = domain.strip().lstrip(".").lower()
        if not domain:
            raise ProtocolError(f"cookie {name[:40]!r} needs a domain")
        self._store(name, value, domain, _clean_path(path), _PLAIN)

    def get(self, name: str, domain: str | None = None) -> str | None:
        """The value of ``name`` (the most specific domain wins when several exist)."""
        want = None if domain is None else domain.lstrip(".").lower()
        best: tuple[int, str] | None = None  # (length of the domain, value)
        for (n, d, _), value in zip(self._keys, self._values, strict=True):
            if n != name or (want is not None and d != want):
                continue
            if best is None or len(d) > best[0]:
                best = (len(d), value)
        return None if best is None else best[1]

    def keep_only(self, names: Collection[str]) -> None:
        """Forget every cookie whose name is not in ``names`` (a live session needs only
        :data:`PERSISTED_COOKIES`; the login-time ones cost ~2 KiB per client)."""
        self._drop_where(lambda key: key[0] not in names)

    def delete(self, name: str, domain: str | None = None) -> None:
        want = None if domain is None else domain.lstrip(".").lower()
        self._drop_where(lambda key: key[0] == name and (want is None or key[1] == want))

    def header_for(self, url: str, now: float | None = None) -> str:
        """The ``Cookie`` header value for a request to ``url`` (empty when none apply)."""
        cached = self._header
        if (
            now is None
            and cached is not None
            and cached[0] == url
            and cached[1] is self._values
            and time.time() < cached[3]
        ):
            return cached[2]
        header = self._header_for(url, now)
        if now is None:  # good until the first of its cookies expires
            expiries = [m[0] for m in (self._meta or {}).values() if m[0] is not None]
            self._header = (url, self._values, header, min(expiries, default=math.inf))
        return header

    def _header_for(self, url: str, now: float | None) -> str:
        try:
            parts = urlsplit(url)
            host, path = (parts.hostname or "").rstrip("."), parts.path or "/"
        except ValueError:
            return ""
        moment = time.time() if now is None else now
        meta = self._meta
        chosen: dict[str, tuple[int, str]] = {}  # name -> (length of its domain, value)
        # Matching is inlined: this runs for every request a client makes.
        for key, value in zip(self._keys, self._values, strict=True):
            name, domain, cookie_path = key
            if meta is not None and key in meta:
                expires, host_only = meta[key]
                if (expires is not None and expires <= moment) or (host_only and host != domain):
                    continue
            if not (host == domain or host.endswith("." + domain)):
                continue
            if not (cookie_path == "/" or path.startswith(cookie_path)):
                continue
            prev = chosen.get(name)
            if prev is None or len(domain) > prev[0]:
                chosen[name] = (len(domain), value)
        return "; ".join(f"{name}={value}" for name, (_, value) in chosen.items())

    def update_from(
        self, url: str, set_cookie_headers: Iterable[str], now: float | None = None
    ) -> None:
        """Store the cookies of a response to ``url``. Malformed or unsafe ones are skipped."""
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            return
        moment = time.time() if now is None else now
        for index, header in enumerate(set_cookie_headers):
            if index >= MAX_SET_COOKIE:
                break
            if len(header) > _MAX_HEADER:
                continue  # longer than any cookie we would keep: do not even parse it
            parsed = _parse_set_cookie(header)
            if parsed is not None:
                self._take(host, *parsed, moment)

    def _take(self, host: str, name: str, value: str, attrs: dict[str, str], now: float) -> None:
        if _bad_name(name) or _bad_value(value):
            return
        placed = cookie_domain(host, attrs.get("domain", ""))
        if placed is None:
            return
        domain, host_only = placed
        path = _clean_path(attrs.get("path") or "/")
        expires = _expiry(attrs.get("max-age", ""), attrs.get("expires", ""), now)
        if expires is not None and expires <= now:
            self._drop((name, domain, path))
            return
        self._store(name, value, domain, path, (expires, host_only))

    def _store(self, name: str, value: str, domain: str, path: str, meta: _Meta) -> None:
        # Names, domains and paths repeat across every session of a process (1,000
        # clients hold the same dozen names): keep one copy of each short one.
        key = (_shared(name), _shared(domain), _shared(path))
        if key in self._keys:  # replaced: re-inserted last
            self._drop(key)
        else:
            # Counting a domain's cookies walks the jar, so only when it could be full.
            if (
                len(self._keys) >= self.max_per_domain
                and sum(1 for k in self._keys if k[1] == key[1]) >= self.max_per_domain
                and not self._evict(key[1])
            ):
                return
            if len(self._keys) >= self.max_total and not self._evict(None):
                return
        self._keys = _layout((*self._keys, key))
        self._values = (*self._values, value)
        if meta != _PLAIN:
            if self._meta is None:
                self._meta = {}
            self._meta[key] = meta

    def _drop(self, key: _Key) -> None:
        self._drop_where(lambda k: k == key)

    def _drop_where(self, doomed: Callable[[_Key], bool]) -> None:
        pairs = [(k, v) for k, v in zip(self._keys, self._values, strict=True) if not doomed(k)]
        if len(pairs) == len(self._keys):
            return
        self._keys = _layout(tuple(k for k, _ in pairs))
        self._values = tuple(v for _, v in pairs)
        if self._meta is not None:
            kept = {k: m for k, m in self._meta.items() if not doomed(k)}
            self._meta = kept or None

    def _evict(self, domain: str | None) -> bool:
        """Drop the oldest cookie (of ``domain``, or any) the protocol does not use;
        False if there is none. Only runs when the jar is full."""
        for key in self._keys:
            if (domain is None or key[1] == domain) and key[0] not in PERSISTED_COOKIES:
                self._drop(key)
                return True
        return False

    def _items(self) -> Iterator[tuple[_Key, str, _Meta]]:
        meta = self._meta or {}
        for key, value in zip(self._keys, self._values, strict=True):
            yield key, value, meta.get(key, _PLAIN)

    def cookies(self) -> list[Cookie]:
        """Every cookie held (in memory; :meth:`to_list` is what gets saved)."""
        return [
            Cookie(name, value, domain, path, expires, host_only)
            for (name, domain, path), value, (expires, host_only) in self._items()
        ]

    def copy(self) -> CookieJar:
        jar = CookieJar(max_per_domain=self.max_per_domain, max_total=self.max_total)
        jar._keys, jar._values = self._keys, self._values  # immutable: shared until changed
        jar._meta = None if self._meta is None else dict(self._meta)
        return jar

    def to_list(self) -> list[dict[str, Any]]:
        """The cookies a saved session needs (:data:`PERSISTED_COOKIES`), as plain dicts."""
        out: list[dict[str, Any]] = []
        for (name, domain, path), value, (expires, host_only) in self._items():
            if name not in PERSISTED_COOKIES:
                continue
            item: dict[str, Any] = {"name": name, "value": value, "domain": domain, "path": path}
            if expires is not None:
                item["expires"] = expires
            if host_only:
                item["host_only"] = True
            out.append(item)
        return out

    @classmethod
    def from_list(cls, items: Iterable[Mapping[str, Any]]) -> CookieJar:
        """A jar from :meth:`to_list` output; entries that are unsafe or unneeded are dropped."""
        jar = cls()
        for item in items:
            name, value, raw_domain = item.get("name"), item.get("value"), item.get("domain")
            path = item.get("path", "/")
            if not (
                isinstance(name, str)
                and isinstance(value, str)
                and isinstance(raw_domain, str)
                and isinstance(path, str)
            ):
                continue
            domain = raw_domain.strip().lstrip(".").lower()
            if name not in PERSISTED_COOKIES or _bad_value(value) or not domain:
                continue
            if "." not in domain or domain in PUBLIC_SUFFIXES:
                continue
            raw_expires = item.get("expires")
            expires = (
                float(raw_expires)
                if isinstance(raw_expires, int | float)
                and not isinstance(raw_expires, bool)
                and abs(raw_expires) < 1e12
                else None
            )
            host_only = item.get("host_only") is True
            jar._store(name, value, domain, _clean_path(path), (expires, host_only))
        return jar

    def values(self) -> list[str]:
        """Every cookie value (for redaction)."""
        return list(self._values)

    def __len__(self) -> int:
        return len(self._keys)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CookieJar):
            return NotImplemented
        return (
            list(self._items()) == list(other._items())
            and self.max_per_domain == other.max_per_domain
            and self.max_total == other.max_total
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        names = sorted({name for name, _, _ in self._keys})
        return f"<CookieJar {len(self._keys)} cookies: {', '.join(names)}>"


def _shared(text: str) -> str:
    return sys.intern(text) if len(text) <= 64 else text


def _parse_set_cookie(line: str) -> tuple[str, str, dict[str, str]] | None:
    """``(name, value, attributes)`` of one ``Set-Cookie`` line (RFC 6265 §5.2), or None.

    One line is one cookie: ``a=1; b=2`` is cookie ``a`` with an unknown attribute
    ``b``. Only the attributes the jar uses are kept, the last of each winning, and
    at most :data:`_MAX_ATTRIBUTES` are looked at.
    """
    pair, _, rest = line.partition(";")
    name, eq, value = pair.partition("=")
    if not eq:
        return None
    attrs: dict[str, str] = {}
    if rest:
        for item in rest.split(";", _MAX_ATTRIBUTES)[:_MAX_ATTRIBUTES]:
            key, _, val = item.partition("=")
            key = key.strip().lower()
            if key in _ATTRIBUTES:
                attrs[key] = val.strip()
    return name.strip(), value.strip(), attrs


def _clean_path(path: str) -> str:
    # RFC 6265 §5.2.4: a path that does not start with "/" means the default path.
    if not path.startswith("/") or len(path) > MAX_PATH_BYTES or _bad_value(path):
        return "/"
    return path


def _expiry(max_age: str, expires: str, now: float) -> float | None:
    """When the cookie expires (None: end of session). Max-Age wins over Expires."""
    if max_age:
        text = max_age.strip()
        digits = text[1:] if text[:1] == "-" else text
        if not (digits.isascii() and digits.isdigit()):
            return None  # RFC 6265 §5.2.2: an invalid Max-Age is ignored
        # Clamp before converting: a 5,000-digit Max-Age must not cost or overflow.
        seconds = _MAX_LIFETIME if len(digits) > 12 else min(float(digits), _MAX_LIFETIME)
        return now - seconds if text[:1] == "-" else now + seconds
    if expires:
        try:
            return min(parsedate_to_datetime(expires).timestamp(), now + _MAX_LIFETIME)
        except (TypeError, ValueError, OverflowError, IndexError):
            return None
    return None
