"""Secret redaction for anything that may reach a log line, repr or exception.

Secrets are recognised two ways: by the name they travel under (cookie names,
JSON keys, query parameters) and by value (any value registered with
:func:`register_secret`, e.g. a password the caller handed us). Values are
replaced by ``***``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["SECRET_NAMES", "redact", "register_secret"]

SECRET_NAMES: frozenset[str] = frozenset(
    {
        "password",
        "p",
        "ptwebqq",
        "skey",
        "p_skey",
        "superkey",
        "supertoken",
        "pt4_token",
        "psessionid",
        "vfwebqq",
        "qrsig",
        "ptsigx",
        "pt_verifysession_v1",
        "verifysession",
        "pt_login_sig",
        "superuin",
        "ptvfsession",
        "login_sig",
        "cookie",
        "set-cookie",
    }
)

_names = "|".join(sorted((re.escape(n) for n in SECRET_NAMES), key=len, reverse=True))
# name=value (query, form, cookie) and "name":"value" / "name":value (JSON).
_KV = re.compile(rf"(?i)(?<![\w-])({_names})(=)([^&;\s,'\"]*)")
_JSON = re.compile(rf'(?i)("({_names})"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}}\s]+)')
# Registered values, oldest first, indexed by their first four characters so that
# redaction costs one dict lookup per character of text however many secrets a
# process holds (a bot with 1,000 clients registers thousands).
_MAX_REGISTERED = 50_000
_registered: dict[str, None] = {}
_by_prefix: dict[str, list[str]] = {}


def register_secret(value: str) -> None:
    """Treat ``value`` as a secret everywhere from now on (no-op for short values)."""
    if len(value) < 4 or value in _registered:
        return
    _registered[value] = None
    bucket = _by_prefix.setdefault(value[:4], [])
    bucket.append(value)
    bucket.sort(key=len, reverse=True)  # longest match first
    if len(_registered) > _MAX_REGISTERED:
        # Rotated ptwebqq values pile up in long-lived bots; the oldest are long dead.
        oldest = next(iter(_registered))
        del _registered[oldest]
        _by_prefix[oldest[:4]].remove(oldest)


def _redact_registered(text: str) -> str:
    if not _by_prefix:
        return text
    parts: list[str] = []
    start = i = 0
    end = len(text) - 3
    while i < end:
        candidates = _by_prefix.get(text[i : i + 4])
        if candidates:
            hit = next((v for v in candidates if text.startswith(v, i)), None)
            if hit is not None:
                parts += (text[start:i], "***")
                i = start = i + len(hit)
                continue
        i += 1
    if not parts:
        return text
    parts.append(text[start:])
    return "".join(parts)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every recognisable secret replaced by ``***``."""
    out = _KV.sub(lambda m: f"{m.group(1)}{m.group(2)}***" if m.group(3) else m.group(0), text)
    out = _JSON.sub(lambda m: f'{m.group(1)}"***"', out)
    out = _redact_registered(out)
    for value in extra:
        if value and len(value) >= 4:
            out = out.replace(value, "***")
    return out
