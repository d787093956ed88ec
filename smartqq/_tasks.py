"""Stopping background tasks: :func:`cancel_and_wait`.

Design note. Every part that owns a task (the poll loop, the contact refresher,
servers, gateways, workers) stops it the same way: cancel, then wait until it
is done and retrieve its outcome, so no "exception was never retrieved" warning
and no task outliving its owner. Waiting through ``asyncio.gather(...,
return_exceptions=True)`` keeps the caller's own cancellation intact: if the
caller is cancelled while it waits, that ``CancelledError`` reaches it. The
common alternative, ``with suppress(CancelledError): await task``, swallows the
caller's cancellation along with the task's (a ``stop()`` that was itself being
cancelled would carry on as if it had not been).

Only asyncio here: every layer that runs tasks may use it.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(*tasks: asyncio.Future[Any] | None) -> None:
    """Cancel ``tasks`` (``None`` entries are skipped) and wait until all are done.

    Their results, exceptions and cancellations are retrieved and dropped. A
    cancellation of the caller while it waits is raised as usual (the tasks are
    cancelled already). Must not be given the calling task itself.
    """
    live = [t for t in tasks if t is not None]
    for task in live:
        task.cancel()
    if live:
        await asyncio.gather(*live, return_exceptions=True)
