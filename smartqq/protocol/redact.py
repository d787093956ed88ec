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
_registered: set[str] = set()


def register_secret(value: str) -> None:
    """Treat ``value`` as a secret everywhere from now on (no-op for short values)."""
    if len(value) >= 4:
        _registered.add(value)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every recognisable secret replaced by ``***``."""
    out = _KV.sub(lambda m: f"{m.group(1)}{m.group(2)}***" if m.group(3) else m.group(0), text)
    out = _JSON.sub(lambda m: f'{m.group(1)}"***"', out)
    for value in (*_registered, *extra):
        if value and len(value) >= 4:
            out = out.replace(value, "***")
    return out
