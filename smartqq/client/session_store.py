"""Saved sessions: JSON written with mode 0600; unsafe or corrupt files are refused."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from smartqq.errors import SessionFileError
from smartqq.protocol.session import SessionState

__all__ = ["load_session", "save_session"]

VERSION = 1


def save_session(path: str | os.PathLike[str], state: SessionState) -> None:
    """Write ``state`` (cookies, tokens, profile, uins; never a password) atomically, 0600."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    data = json.dumps({"version": VERSION, "session": state.to_dict()}, ensure_ascii=False)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, p)


def load_session(path: str | os.PathLike[str]) -> SessionState:
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except OSError as exc:
        raise SessionFileError(f"cannot read session file {p}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SessionFileError(
            f"session file {p} is readable by others (mode {stat.filemode(mode)}); chmod 600 it"
        )
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            raise SessionFileError(
                f"session file {p} has unsupported version {data.get('version')!r}"
            )
        return SessionState.from_dict(data["session"])
    except SessionFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SessionFileError(f"session file {p} is corrupt ({type(exc).__name__})") from None
