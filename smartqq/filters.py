"""Composable event filters for ``router.on(EventType, *filters)``.

A filter is asked once per event (the dispatcher memoises by filter object, so
one filter shared by ten handlers costs one evaluation) and answers either a
plain truth value or a mapping: a mapping means "matched, and here are values
for the handler" (``text_matches`` hands over ``match`` this way). Filters
combine with ``&``, ``|`` and ``~``; any callable taking the event, sync or
async, is a filter too (:func:`as_filter`).

Filters that need to know who the bot is (``mentioned_me``, ``from_self``)
ask the client the event is bound to for ``self_nick`` / ``self_uin``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from .events import DiscuMessage, Event, GroupMessage, MessageEvent

__all__ = [
    "Filter",
    "as_filter",
    "chat",
    "from_qq",
    "from_self",
    "in_discu",
    "in_group",
    "mentioned_me",
    "text_contains",
    "text_matches",
    "text_startswith",
]

Verdict = bool | Mapping[str, Any]
ChatKind = Literal["buddy", "group", "discu", "sess"]
_KINDS: dict[str, str] = {
    "buddy": "message",
    "group": "group_message",
    "discu": "discu_message",
    "sess": "sess_message",
}


class Filter:
    """Base of every filter: override :meth:`check` (sync or async)."""

    def check(self, event: Event) -> Verdict | Awaitable[Verdict]:
        raise TypeError(f"{type(self).__name__} does not implement check()")

    async def evaluate(self, event: Event) -> Verdict:
        result = self.check(event)
        if inspect.isawaitable(result):
            result = await result
        return result

    def __and__(self, other: object) -> Filter:
        return _And(self, as_filter(other))

    def __rand__(self, other: object) -> Filter:
        return _And(as_filter(other), self)

    def __or__(self, other: object) -> Filter:
        return _Or(self, as_filter(other))

    def __ror__(self, other: object) -> Filter:
        return _Or(as_filter(other), self)

    def __invert__(self) -> Filter:
        return _Not(self)


def as_filter(value: object) -> Filter:
    """A :class:`Filter` from a filter or any callable ``(event) -> bool`` (sync or async)."""
    if isinstance(value, Filter):
        return value
    if callable(value):
        return _Callable(value)
    from .errors import UsageError

    raise UsageError(f"{value!r} is neither a Filter nor a callable")


class _Callable(Filter):
    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def check(self, event: Event) -> Any:
        return self.fn(event)

    def __repr__(self) -> str:
        return f"as_filter({getattr(self.fn, '__qualname__', self.fn)!r})"


class _And(Filter):
    def __init__(self, left: Filter, right: Filter) -> None:
        self.left, self.right = left, right

    async def evaluate(self, event: Event) -> Verdict:
        first = await self.left.evaluate(event)
        if not first:
            return False
        second = await self.right.evaluate(event)
        if not second:
            return False
        return _merge(first, second)


class _Or(Filter):
    def __init__(self, left: Filter, right: Filter) -> None:
        self.left, self.right = left, right

    async def evaluate(self, event: Event) -> Verdict:
        first = await self.left.evaluate(event)
        return first if first else await self.right.evaluate(event)


class _Not(Filter):
    def __init__(self, inner: Filter) -> None:
        self.inner = inner

    async def evaluate(self, event: Event) -> Verdict:
        return not await self.inner.evaluate(event)


def _merge(first: Verdict, second: Verdict) -> Verdict:
    if isinstance(first, Mapping) and isinstance(second, Mapping):
        return {**first, **second}
    return second if isinstance(second, Mapping) else first


class _Simple(Filter):
    """A filter from a synchronous predicate; ``repr`` says what it tests."""

    def __init__(self, label: str, test: Callable[[Event], Verdict]) -> None:
        self.label, self.test = label, test

    def check(self, event: Event) -> Verdict:
        return self.test(event)

    async def evaluate(self, event: Event) -> Verdict:
        return self.test(event)  # no awaitable to look for: saves a check per event

    def __repr__(self) -> str:
        return self.label


def _text(event: Event) -> str | None:
    return event.text if isinstance(event, MessageEvent) else None


def chat(*kinds: ChatKind) -> Filter:
    """Messages from these kinds of chat: ``"buddy"``, ``"group"``, ``"discu"``, ``"sess"``."""
    unknown = [k for k in kinds if k not in _KINDS]
    if unknown or not kinds:
        from .errors import UsageError

        raise UsageError(f"chat() takes some of {', '.join(_KINDS)}; got {kinds!r}")
    wanted = frozenset(_KINDS[k] for k in kinds)
    return _Simple(f"chat{kinds!r}", lambda e: isinstance(e, MessageEvent) and e.kind in wanted)


def text_startswith(*prefixes: str, ignore_case: bool = False) -> Filter:
    """The message text starts with one of ``prefixes``."""
    wanted = tuple(p.casefold() for p in prefixes) if ignore_case else prefixes

    def test(event: Event) -> bool:
        text = _text(event)
        if text is None:
            return False
        return (text.casefold() if ignore_case else text).startswith(wanted)

    return _Simple(f"text_startswith{prefixes!r}", test)


def text_contains(*needles: str, ignore_case: bool = False) -> Filter:
    """The message text contains one of ``needles``."""
    wanted = [n.casefold() for n in needles] if ignore_case else list(needles)

    def test(event: Event) -> bool:
        text = _text(event)
        if text is None:
            return False
        hay = text.casefold() if ignore_case else text
        return any(n in hay for n in wanted)

    return _Simple(f"text_contains{needles!r}", test)


def text_matches(pattern: str | re.Pattern[str], flags: int = 0) -> Filter:
    """``re.search`` on the text; the match reaches a handler that declares ``match``."""
    regex = re.compile(pattern, flags) if isinstance(pattern, str) else pattern

    def test(event: Event) -> Verdict:
        text = _text(event)
        found = regex.search(text) if text is not None else None
        return {"match": found} if found else False

    return _Simple(f"text_matches({regex.pattern!r})", test)


def from_qq(*numbers: int) -> Filter:
    """Sent by one of these people: QQ numbers as the client resolves them, or uins.

    The uin is compared first (no request); a QQ number is compared against the
    client's contact cache when the client has one.
    """
    wanted = frozenset(numbers)

    async def test(event: Event) -> bool:
        if not isinstance(event, MessageEvent):
            return False
        if event.sender_uin in wanted:
            return True
        resolve = getattr(event.client, "qq_of", None)
        if resolve is None:
            return False
        qq = await resolve(event.sender_uin)
        return qq in wanted

    return _Callable(test)


def _chat_name_filter(kind: type[MessageEvent], label: str, refs: tuple[str | int, ...]) -> Filter:
    ids = frozenset(r for r in refs if isinstance(r, int))
    names = frozenset(r for r in refs if isinstance(r, str))

    async def test(event: Event) -> bool:
        if not isinstance(event, kind):
            return False
        if ids:
            # The session id (gid/did), the group's code, or its real number.
            if event.chat_key[1] in ids or getattr(event, "group_code", None) in ids:
                return True
            number = getattr(event.client, "chat_number", None)
            if number is not None and (await number(event)) in ids:
                return True
        if not names:
            return False
        lookup = getattr(event.client, "chat_name", None)
        return lookup is not None and (await lookup(event)) in names

    return _Callable(test)


def in_group(*groups: str | int) -> Filter:
    """Group messages from these groups: by name, or by number (the group's QQ number,
    its ``group_code`` or its session ``gid``)."""
    return _chat_name_filter(GroupMessage, "in_group", groups)


def in_discu(*discus: str | int) -> Filter:
    """Discussion messages from these discussions: by name, or by did."""
    return _chat_name_filter(DiscuMessage, "in_discu", discus)


def _self_attr(event: Event, name: str) -> Any:
    return getattr(event.client, name, None)


def mentioned_me() -> Filter:
    """``@BotNick`` appears in the text (group, discussion or temporary chat)."""

    def test(event: Event) -> bool:
        text = _text(event)
        nick = _self_attr(event, "self_nick")
        return bool(text and nick) and f"@{nick}" in str(text)

    return _Simple("mentioned_me()", test)


def from_self() -> Filter:
    """Sent by the bot's own account (SmartQQ echoes group and discussion messages)."""

    def test(event: Event) -> bool:
        me = _self_attr(event, "self_uin")
        return isinstance(event, MessageEvent) and bool(me) and event.sender_uin == me

    return _Simple("from_self()", test)
