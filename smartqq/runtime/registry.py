"""``HandlerRegistry``: the router methods every client offers, over its dispatcher.

``Client`` and the legacy ``TQQClient`` are the root of their router tree, so
``client.on``, ``client.command`` and ``client.include_router`` act on the
dispatcher's root :class:`~smartqq.runtime.router.Router`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Literal, TypeVar, overload

from smartqq.events import Event, MessageEvent

from .dispatch import Dispatcher
from .handlers import Handler
from .router import Router

__all__ = ["HandlerRegistry"]

E = TypeVar("E", bound=Event)
F = TypeVar("F", bound=Callable[..., Any])


class HandlerRegistry:
    """Router methods over ``self._dispatcher.router``; shared by every client.

    ``Client`` (and the legacy ``TQQClient``) are the root of their router tree:
    ``client.on``, ``client.command``, ``client.include_router`` and the rest act on
    the dispatcher's root :class:`Router`, so a client needs no router state of its
    own, only ``self._dispatcher``.
    """

    _dispatcher: Dispatcher

    @property
    def router(self) -> Router:
        """The root router (handlers registered on the client itself live here)."""
        return self._dispatcher.router

    def on(
        self,
        event_type: type[Event] | None = None,
        /,
        *filters: object,
        filter: Callable[[Any], Any] | None = None,
        block: bool = False,
    ) -> Callable[[F], F]:
        """Register a handler: ``@client.on(BuddyMessage)`` or ``@client.on()`` with an
        annotation; filters as in :meth:`Router.on`. Returns the function unchanged."""
        return self._dispatcher.router.on(event_type, *filters, filter=filter, block=block)

    def command(
        self,
        name: str,
        *filters: object,
        description: str = "",
        aliases: tuple[str, ...] | list[str] = (),
        cooldown: float = 0.0,
        cooldown_scope: Literal["chat", "user"] = "chat",
        cooldown_reply: str | None = None,
        prefixes: tuple[str, ...] | None = None,
        block: bool = False,
    ) -> Callable[[F], F]:
        """Register a command on the root router (see :meth:`Router.command`)."""
        return self._dispatcher.router.command(
            name,
            *filters,
            description=description,
            aliases=aliases,
            cooldown=cooldown,
            cooldown_scope=cooldown_scope,
            cooldown_reply=cooldown_reply,
            prefixes=prefixes,
            block=block,
        )

    @overload
    def middleware(self, fn: F, /) -> F: ...

    @overload
    def middleware(self, *, outer: bool) -> Callable[[F], F]: ...

    def middleware(self, fn: Any = None, *, outer: bool = False) -> Any:
        """Inner middleware around every matched handler (``outer=True``: outer)."""
        if fn is None:
            return self._dispatcher.router.middleware(outer=outer)
        return self._dispatcher.router.middleware(fn)

    def outer_middleware(self, fn: F) -> F:
        """Outer middleware around everything done with an event, before filters."""
        return self._dispatcher.router.outer_middleware(fn)

    def include_router(self, router: Router) -> Router:
        """Add a router (after those already included); returns it."""
        return self._dispatcher.router.include_router(router)

    def add_handler(
        self,
        event_type: type[Event],
        callback: Handler,
        filter: Callable[[Any], bool] | None = None,
    ) -> None:
        self._dispatcher.router.add_handler(event_type, callback, filter)

    def remove_handler(self, callback: Handler) -> None:
        self._dispatcher.router.remove_handler(callback)

    async def wait_for(
        self,
        event_type: type[E],
        *,
        check: Callable[[E], bool] | None = None,
        timeout: float | None = None,
        chat: MessageEvent | Hashable | None = None,
        sender: int | None = None,
    ) -> E:
        """The next event of ``event_type`` passing ``check``; ``TimeoutError`` after
        ``timeout``. ``chat=msg`` (or a ``chat_key``) keeps to one chat, ``sender=uin``
        to one person. Matched at dispatch, so it works from inside a handler of
        the same chat."""
        key = chat.chat_key if isinstance(chat, MessageEvent) else chat
        return await self._dispatcher.wait_for(event_type, check, timeout, chat=key, sender=sender)
