"""Recognising our own sends when the service echoes them back through poll2.

From late 2017 the real service returned a bot's own messages in its poll
answers, with the sender shown as a uin the bot does not know; bots that
answered every message then answered themselves. :class:`EchoFilter`
remembers what was just sent (chat and text, bounded in number and age) and
claims the first incoming message that matches one of them *and* comes from a
sender we cannot name (a known friend or a cached group member repeating the
bot's words is never taken for an echo). Each send claims at most one echo,
and only within the window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from smartqq.events import DiscuMessage, GroupMessage, MessageEvent

__all__ = ["EchoFilter"]


class EchoFilter:
    # One per client: slots instead of a __dict__ save ~50 B each at 1,000 clients.
    __slots__ = ("_keep", "clock", "sent", "window")

    def __init__(
        self,
        window: float = 30.0,
        keep: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.clock = clock
        self._keep = keep
        # Made on the first send: an empty deque is ~0.6 KiB, times 1,000 clients.
        # Read by the poller before calling claims(): nothing sent, nothing to claim.
        self.sent: deque[tuple[float, str, int, str]] | None = None

    def remember(self, kind: str, target: int, text: str) -> None:
        """A part was sent to (kind, target) with this text."""
        if text:
            if self.sent is None:
                self.sent = deque(maxlen=self._keep)
            self.sent.append((self.clock(), kind, target, text))

    def claims(self, event: MessageEvent, known: Callable[[MessageEvent], bool]) -> bool:
        """True (once per remembered send) when ``event`` is the echo of one of ours.

        ``known(event)`` tells whether its sender is someone we can name: those are
        people, not echoes.
        """
        sent = self.sent
        if not sent or known(event):
            return False
        now = self.clock()
        while sent and now - sent[0][0] > self.window:
            sent.popleft()
        text = event.text
        for index, (_, kind, target, sent_text) in enumerate(sent):
            if sent_text != text or kind != _kind_of(event):
                continue
            if isinstance(event, GroupMessage | DiscuMessage) and target != event.chat_key[1]:
                continue  # same words in another group: not ours
            del sent[index]
            return True
        return False

    def __len__(self) -> int:
        return len(self.sent) if self.sent is not None else 0


def _kind_of(event: MessageEvent) -> str:
    if isinstance(event, GroupMessage):
        return "group"
    if isinstance(event, DiscuMessage):
        return "discu"
    return "sess" if event.poll_type == "sess_message" else "buddy"
