"""Saved sessions on disk: written atomically, read defensively.

Design note. A session file holds live tokens, so both directions assume the
directory may be shared with someone hostile:

* **Writing** goes through a temporary file in the same directory, created with
  ``O_CREAT|O_EXCL|O_NOFOLLOW`` (a planted symlink or file makes the create fail
  instead of being followed) under a random name (nobody can pre-plant it), mode
  0600, written, ``fsync``-ed, then ``rename``-d over the target (rename replaces
  a symlink at the target instead of following it), and the directory is
  ``fsync``-ed so the rename survives a crash. Every path is resolved relative to
  one directory descriptor, so the directory cannot be swapped mid-way.
* **Reading** opens with ``O_NONBLOCK|O_NOFOLLOW`` and checks the *descriptor*
  with ``fstat``: a FIFO, directory, socket or device is refused at once (a FIFO
  used to block ``login()`` forever), so is a symlink, a file readable by others
  or owned by someone else, and a file over :data:`MAX_SESSION_BYTES`. Contents
  must be strict JSON (no ``NaN``/``Infinity``, no number that overflows, nesting
  at most :data:`MAX_DEPTH` deep) of the expected shape; every refusal is a
  :class:`~smartqq.errors.SessionFileError` that says why, never quoting a value.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from smartqq.errors import SessionFileError
from smartqq.protocol.session import SessionState

__all__ = ["MAX_DEPTH", "MAX_SESSION_BYTES", "load_session", "save_session"]

VERSION = 1
MAX_SESSION_BYTES = 1 << 20
"""A real session file is 2-4 KB; anything over 1 MiB is not one of ours."""
MAX_DEPTH = 8
"""The format nests 4 deep (document, session, cookie list, cookie)."""

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_REPLACE_HINT = "; run `smartqq login --force` to replace it"
_INT_FIELDS = ("qq", "uin", "clientid")
_STR_FIELDS = ("profile", "ptwebqq", "vfwebqq", "psessionid")
_OPTIONAL_STR_FIELDS = ("nick", "status")
_COOKIE_FIELDS = ("name", "value", "domain", "path")
_MAX_ID = 2**63


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISLNK, "a symlink"),
    ):
        if test(mode):
            return name
    return "not a regular file"


# -- writing ------------------------------------------------------------------------------


def save_session(path: str | os.PathLike[str], state: SessionState) -> None:
    """Write ``state`` (cookies, tokens, profile, uins; never a password) atomically, 0600.

    Raises :class:`SessionFileError` when the file cannot be written (the old file,
    if any, is then left as it was).
    """
    p = Path(path)
    data = json.dumps({"version": VERSION, "session": state.to_dict()}, ensure_ascii=False)
    payload = data.encode("utf-8")
    try:
        dir_fd = os.open(p.parent, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except OSError as exc:
        raise SessionFileError(
            f"cannot write session file {p}: directory {p.parent}: {exc.strerror}"
        ) from None
    try:
        tmp = _write_temp(dir_fd, p, payload)
        try:
            os.replace(tmp, p.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise SessionFileError(f"cannot write session file {p}: {exc.strerror}") from None
        # The rename is only durable once the directory entry is on disk.
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _write_temp(dir_fd: int, p: Path, payload: bytes) -> str:
    """Create, fill and fsync a fresh 0600 temp file next to ``p``; return its name."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    for _ in range(8):
        # A random name: an attacker cannot plant anything at it ahead of us.
        name = f".{p.name}.{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise SessionFileError(f"cannot write session file {p}: {exc.strerror}") from None
    else:
        raise SessionFileError(f"cannot write session file {p}: no free temporary name")
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=dir_fd)
        raise SessionFileError(f"cannot write session file {p}: {exc.strerror}") from None
    os.close(fd)
    return name


# -- reading ------------------------------------------------------------------------------


def load_session(path: str | os.PathLike[str]) -> SessionState:
    """Read a session saved by :func:`save_session`; any problem is a :class:`SessionFileError`."""
    p = Path(path)
    raw = _read_bytes(p)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SessionFileError(f"session file {p} is corrupt (not UTF-8){_REPLACE_HINT}") from None
    doc = _parse(p, text)
    if not isinstance(doc, dict):
        raise SessionFileError(f"session file {p} is corrupt (not a JSON object){_REPLACE_HINT}")
    if doc.get("version") != VERSION:
        version = doc.get("version")
        shown = repr(version) if isinstance(version, int | float | None) else type(version).__name__
        raise SessionFileError(f"session file {p} has unsupported version {shown}{_REPLACE_HINT}")
    session = doc.get("session")
    problem = _shape_problem(session)
    if problem:
        raise SessionFileError(f"session file {p} is corrupt ({problem}){_REPLACE_HINT}")
    assert isinstance(session, dict)
    try:
        return SessionState.from_dict(session)
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise SessionFileError(
            f"session file {p} is corrupt ({type(exc).__name__}){_REPLACE_HINT}"
        ) from None


def _read_bytes(p: Path) -> bytes:
    try:
        # O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
        fd = os.open(p, os.O_RDONLY | _NONBLOCK | _NOFOLLOW | _CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(p):
            raise SessionFileError(
                f"session file {p} is a symlink; refusing to follow it{_REPLACE_HINT}"
            ) from None
        raise SessionFileError(f"cannot read session file {p}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            # rename() replaces a FIFO or socket, but never a directory.
            hint = "; remove it" if stat.S_ISDIR(st.st_mode) else _REPLACE_HINT
            raise SessionFileError(
                f"session file {p} is {_kind(st.st_mode)}, not a regular file{hint}"
            )
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SessionFileError(
                f"session file {p} is readable by others (mode {stat.filemode(st.st_mode)});"
                " chmod 600 it"
            )
        euid = os.geteuid() if hasattr(os, "geteuid") else st.st_uid
        if euid != 0 and st.st_uid != euid:
            raise SessionFileError(f"session file {p} is owned by another user (uid {st.st_uid})")
        if st.st_size > MAX_SESSION_BYTES:
            raise SessionFileError(
                f"session file {p} is corrupt ({st.st_size} bytes, over the"
                f" {MAX_SESSION_BYTES} byte limit){_REPLACE_HINT}"
            )
        chunks: list[bytes] = []
        total = 0
        while total <= MAX_SESSION_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > MAX_SESSION_BYTES:  # grew while we read it
            raise SessionFileError(
                f"session file {p} is corrupt (over the {MAX_SESSION_BYTES} byte limit)"
                f"{_REPLACE_HINT}"
            )
        return b"".join(chunks)
    except OSError as exc:
        raise SessionFileError(f"cannot read session file {p}: {exc.strerror}") from None
    finally:
        os.close(fd)


class _BadNumber(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _BadNumber(f"contains {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber("contains a number too large for a float")
    return value


def _parse(p: Path, text: str) -> Any:
    try:
        doc = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except _BadNumber as exc:
        raise SessionFileError(f"session file {p} is corrupt ({exc}){_REPLACE_HINT}") from None
    except RecursionError:
        raise SessionFileError(
            f"session file {p} is corrupt (nested deeper than {MAX_DEPTH}){_REPLACE_HINT}"
        ) from None
    except ValueError as exc:
        # JSONDecodeError, and int() refusing a number of more than 4300 digits.
        reason = "not JSON" if isinstance(exc, json.JSONDecodeError) else "a number is too long"
        raise SessionFileError(f"session file {p} is corrupt ({reason}){_REPLACE_HINT}") from None
    if _depth(doc) > MAX_DEPTH:
        raise SessionFileError(
            f"session file {p} is corrupt (nested deeper than {MAX_DEPTH}){_REPLACE_HINT}"
        )
    return doc


def _depth(value: Any) -> int:
    """Nesting depth without recursion (the parser already bounded it by the stack)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item)
    return deepest


def _shape_problem(session: Any) -> str:
    """What is wrong with the ``session`` object's shape ("" when nothing); names, no values."""
    if not isinstance(session, dict):
        return "no session object"
    for key in _INT_FIELDS:
        value = session.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{key!r} is not a whole number"
        if not 0 <= value < _MAX_ID:
            return f"{key!r} is out of range"
    for key in _STR_FIELDS:
        if not isinstance(session.get(key), str):
            return f"{key!r} is not a string"
    for key in _OPTIONAL_STR_FIELDS:
        if key in session and not isinstance(session[key], str):
            return f"{key!r} is not a string"
    cookies = session.get("cookies", [])
    if not isinstance(cookies, list):
        return "'cookies' is not a list"
    for cookie in cookies:
        if not isinstance(cookie, dict):
            return "a cookie is not an object"
        for key in _COOKIE_FIELDS:
            if key in cookie and not isinstance(cookie[key], str):
                return f"a cookie's {key!r} is not a string"
        if not all(key in cookie for key in ("name", "value", "domain")):
            return "a cookie lacks a name, value or domain"
    return ""
