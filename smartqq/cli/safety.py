"""Keeping tracebacks away from the person at the terminal.

Design note. :func:`guarded` wraps the whole command line: an interrupt exits
130, a closed output pipe (``smartqq demo | head``) exits 141 quietly (the shell's
code for SIGPIPE; stdout is pointed at ``/dev/null`` so the interpreter's final
flush cannot complain), end of input at a prompt exits 1 with one line, and any
other unexpected exception becomes one redacted line and exit 1. Log records
(including asyncio's "exception was never retrieved") go to stderr one line each,
without tracebacks. ``SMARTQQ_DEBUG=1`` turns all of this off for bug reports.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable

from smartqq.protocol.redact import redact

__all__ = ["EXIT_INTERRUPTED", "EXIT_PIPE", "guarded"]

EXIT_INTERRUPTED = 130
EXIT_PIPE = 141
_MAX_LINE = 300


def _line(text: str) -> str:
    # Cut first, then redact: redacting a huge message costs more than printing it.
    return redact(" ".join(text[: _MAX_LINE * 2].split()))[:_MAX_LINE]


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        text = f"smartqq: {record.levelname.lower()}: {_line(message)}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__})"
        return text


def _quiet_logging() -> Callable[[], None]:
    """One-line warnings on stderr unless the embedding program configured logging."""
    root = logging.getLogger()
    if root.handlers:
        return lambda: None
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    handler.setLevel(logging.WARNING)
    root.addHandler(handler)
    return lambda: root.removeHandler(handler)


def _stdout_to_devnull() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fd = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


def _say(text: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.stderr, flush=True)


def guarded(run: Callable[[], int]) -> int:
    """Run the command line; map every way it can end to an exit code and one line."""
    if os.environ.get("SMARTQQ_DEBUG"):
        return run()
    restore = _quiet_logging()
    try:
        code = run()
        # Flush here, not at interpreter exit, so a closed pipe is caught below.
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _stdout_to_devnull()
        return EXIT_PIPE
    except EOFError:
        _say("smartqq: end of input while waiting for an answer")
        return 1
    except Exception as exc:  # the last line of defence: one line, never a traceback
        _say(f"smartqq: unexpected error: {type(exc).__name__}: {_line(str(exc))}")
        _say("smartqq: set SMARTQQ_DEBUG=1 to see the traceback")
        return 1
    finally:
        restore()
