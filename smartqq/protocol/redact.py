"""Secret redaction for anything that may reach a log line, repr or exception.

Secrets are recognised two ways: by the name they travel under (cookie names,
JSON keys, query parameters) and by value (any value registered with
:func:`register_secret`, e.g. a password the caller handed us). Values are
replaced by ``***``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["SECRET_NAMES", "redact", "register_secret", "retire_secret"]

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
# Registered values with how many holders registered them, oldest first, indexed by
# their first four characters so that redaction costs one dict lookup per character of
# text however many secrets a process holds (a bot with 1,000 clients registers
# thousands). Clients retire a session's values when they replace it, so the registry
# follows the live sessions; the cap only guards against holders that never retire.
_MAX_REGISTERED = 50_000
_registered: dict[str, int] = {}
# A prefix held by one value maps to the value itself (a one-item list per secret cost
# about 1 KiB per client at 1,000 clients), by several to a list, longest first.
_by_prefix: dict[str, str | list[str]] = {}


def register_secret(value: str) -> None:
    """Treat ``value`` as a secret until as many :func:`retire_secret` calls undo it.

    Values shorter than four characters are ignored (they would redact ordinary text).
    """
    if len(value) < 4:
        return
    if value in _registered:
        _registered[value] += 1
        return
    _registered[value] = 1
    prefix = value[:4]
    held = _by_prefix.get(prefix)
    if held is None:
        _by_prefix[prefix] = value
    else:
        bucket = [held] if isinstance(held, str) else held
        bucket.append(value)
        bucket.sort(key=len, reverse=True)  # longest match first
        _by_prefix[prefix] = bucket
    if len(_registered) > _MAX_REGISTERED:
        _forget(next(iter(_registered)))


def retire_secret(value: str) -> None:
    """Undo one :func:`register_secret` of ``value`` (a dead session's value)."""
    count = _registered.get(value)
    if count is None:
        return
    if count > 1:
        _registered[value] = count - 1
    else:
        _forget(value)


def _forget(value: str) -> None:
    del _registered[value]
    prefix = value[:4]
    held = _by_prefix[prefix]
    if isinstance(held, str):
        del _by_prefix[prefix]
        return
    held.remove(value)
    if len(held) == 1:
        _by_prefix[prefix] = held[0]


def _redact_registered(text: str) -> str:
    if not _by_prefix:
        return text
    parts: list[str] = []
    start = i = 0
    end = len(text) - 3
    while i < end:
        candidates = _by_prefix.get(text[i : i + 4])
        if candidates:
            if isinstance(candidates, str):
                hit = candidates if text.startswith(candidates, i) else None
            else:
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
