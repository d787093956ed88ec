"""``BotRuntime``: the bot-facing half of a client (hooks, ``stop()``, ``run()``, ``ask``).

The client supplies three steps and the runtime orders them::

    stop():  _halt()            stop polling and background work (no new events)
             drain handlers     within ``stop_grace`` seconds, then cancel the rest
             on_shutdown hooks  (they may still send)
             logout             only when asked: ``stop(logout=True)``
             _release()         close the HTTP session, forget secrets

``stop()`` runs that sequence once, in a task of its own, so it is safe from
anywhere: called from a handler it returns at once (the handler must finish
for the drain to end) and the sequence waits for it; called from elsewhere it
waits for the end. ``close()`` is the same thing. ``run_until_disconnected()``
returns normally after a ``stop()`` and ``run()`` turns SIGINT/SIGTERM into one.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from smartqq.errors import SmartQQError, UsageError
from smartqq.events import DiscuMessage, GroupMessage, MessageEvent

from .dispatch import in_handler
from .plugins import load_plugins as _load_plugins
from .registry import HandlerRegistry

if TYPE_CHECKING:
    from smartqq.content import Font
    from smartqq.models import SendResult

    from .dispatch import Dispatcher

__all__ = ["BotRuntime", "Hook", "ask_in_chat"]

log = logging.getLogger("smartqq.lifecycle")
Hook = Callable[..., Awaitable[None] | None]
H = TypeVar("H", bound=Hook)


class _Life:
    __slots__ = ("logout", "qq_cache", "shutdown", "started", "startup", "stop_task")

    def __init__(self) -> None:
        self.startup: list[Hook] = []
        self.shutdown: list[Hook] = []
        self.started = False
        self.stop_task: asyncio.Task[None] | None = None
        self.logout = False
        self.qq_cache: dict[int, int | None] = {}


async def ask_in_chat(
    dispatcher: Dispatcher,
    send: Callable[[], Awaitable[Any]],
    event: MessageEvent,
    timeout: float | None,
) -> MessageEvent:
    """Register for the sender's next message in this chat, ``send()``, await it.

    The waiter exists before the question leaves, so a fast answer is not
    missed, and it consumes the answer: no handler also treats it as a command.
    """
    fut = dispatcher.waiter(
        MessageEvent, chat=event.chat_key, sender=event.sender_uin, consume=True
    )
    try:
        await send()
    except BaseException:
        dispatcher.forget(fut)
        raise
    return await dispatcher.wait(fut, timeout)


class BotRuntime(HandlerRegistry):
    """Lifecycle hooks, ``stop``, ``run``, plugins and conversations for a client."""

    stop_grace: float = 5.0
    _poll_task: asyncio.Task[None] | None
    __life: _Life | None = None

    # -- what the client provides ----------------------------------------------------

    async def _halt(self) -> None:
        """Stop polling and background work."""

    async def _release(self) -> None:
        """Close the connection pool and forget secrets."""

    async def _logout_request(self) -> None:
        """Tell the server we are leaving (``stop(logout=True)``)."""

    def _failure(self) -> BaseException | None:
        """What ended polling (a kick, a fatal error), if anything."""
        failure: BaseException | None = getattr(self, "_fatal", None)
        return failure

    async def reply_to(
        self, event: MessageEvent, content: Any, *, font: Font | None = None
    ) -> SendResult:
        raise UsageError(f"{type(self).__name__} cannot reply")

    # -- hooks -------------------------------------------------------------------------

    @property
    def _life(self) -> _Life:
        life = self.__life
        if life is None:
            life = self.__life = _Life()
        return life

    def on_startup(self, fn: H) -> H:
        """Run ``fn()`` (or ``fn(client)``) once polling has started."""
        self._life.startup.append(fn)
        return fn

    def on_shutdown(self, fn: H) -> H:
        """Run ``fn()`` (or ``fn(client)``) on stop, after handlers finished, before logout."""
        self._life.shutdown.append(fn)
        return fn

    async def _run_startup_hooks(self) -> None:
        life = self._life
        if life.started:
            return
        life.started = True
        for hook in life.startup:
            await self._call_hook(hook)

    async def _call_hook(self, hook: Hook) -> None:
        try:
            wants_client = bool(inspect.signature(hook).parameters)
        except (TypeError, ValueError):
            wants_client = False
        result = hook(self) if wants_client else hook()
        if inspect.isawaitable(result):
            await result

    # -- stopping ----------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._life.stop_task is not None

    def request_stop(self, *, logout: bool = False) -> asyncio.Task[None]:
        """Start stopping (once) and return the task doing it; for signal handlers."""
        life = self._life
        if life.stop_task is None:
            life.logout = logout
            life.stop_task = asyncio.get_running_loop().create_task(
                self._stop_sequence(), name="smartqq-stop"
            )
        return life.stop_task

    async def stop(self, *, logout: bool = False) -> None:
        """Stop the bot: finish handlers (within ``stop_grace``), run shutdown hooks,
        log out if asked, close the HTTP session. Safe from inside a handler."""
        task = self.request_stop(logout=logout)
        if in_handler.get() or asyncio.current_task() is task:
            # A handler (the drain waits for it) or a shutdown hook (inside the stop
            # itself) must not wait for the stop to end.
            return
        await asyncio.shield(task)

    async def _stop_sequence(self) -> None:
        try:
            await self._halt()
            self._dispatcher.end_streams()
            await self._dispatcher.drain(timeout=self.stop_grace)
            # Shutdown hooks pair with startup: a client that never started (its login
            # failed, say) has nothing to shut down.
            for hook in self._life.shutdown if self._life.started else ():
                try:
                    await self._call_hook(hook)
                except Exception:
                    log.exception("shutdown hook %s failed", getattr(hook, "__qualname__", hook))
            if self._life.logout:
                try:
                    await self._logout_request()
                except SmartQQError as exc:
                    log.warning("logout failed: %s", exc)
        finally:
            await self._release()
            # A stopped client cannot start again: its routers may serve another one
            # (module-level routers in tests get a new client per test).
            self.router.detach_all()

    async def run_until_disconnected(self) -> None:
        """Wait until polling ends; return normally after ``stop()``, else raise
        :class:`~smartqq.errors.Kicked` or the error that ended it."""
        poll = self._poll_task
        stop_task = self._life.stop_task
        if poll is None and stop_task is None:
            raise UsageError("the client is not started")
        if poll is not None:
            try:
                await asyncio.shield(poll)
            except asyncio.CancelledError:
                me = asyncio.current_task()
                if self._life.stop_task is None or (me is not None and me.cancelling()):
                    raise
        stop_task = self._life.stop_task
        if stop_task is not None:
            await asyncio.shield(stop_task)
            return
        failure = self._failure()
        if failure is not None:
            raise failure

    def run(self) -> None:
        """Blocking convenience for scripts: start, handle events until disconnected,
        ``stop()`` on SIGINT/SIGTERM (then return normally: exit status 0)."""

        async def main() -> None:
            loop = asyncio.get_running_loop()
            installed = []
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, self.request_stop)
                    installed.append(sig)
                except (NotImplementedError, RuntimeError):
                    pass
            try:
                async with self:  # type: ignore[attr-defined]
                    await self.run_until_disconnected()
            finally:
                for sig in installed:
                    loop.remove_signal_handler(sig)

        asyncio.run(main())

    # -- plugins and conversations ---------------------------------------------------

    def load_plugins(self, *packages: str, entry_points: bool | None = None) -> list[str]:
        """Include the module-level ``router`` of every module of each package (and,
        with no package or ``entry_points=True``, the ``smartqq.plugins`` entry
        points). Returns the names loaded; :class:`PluginError` names a failing one."""
        return _load_plugins(self.router, packages, entry_points)

    async def ask(
        self, event: MessageEvent, content: Any, *, timeout: float | None = None
    ) -> MessageEvent:
        """Send ``content`` to the chat of ``event`` and return its sender's next
        message there (``TimeoutError`` after ``timeout``); the answer reaches no handler."""
        return await ask_in_chat(
            self._dispatcher, lambda: self.reply_to(event, content), event, timeout
        )

    # -- what filters ask the client -------------------------------------------------

    @property
    def self_uin(self) -> int:
        state = getattr(self, "state", None)
        return int(getattr(state, "uin", 0) or 0)

    @property
    def self_nick(self) -> str:
        state = getattr(self, "state", None)
        return str(getattr(state, "nick", "") or "")

    async def qq_of(self, uin: int) -> int | None:
        """The QQ number of a uin, cached; ``None`` when the server will not say."""
        cache = self._life.qq_cache
        if uin not in cache:
            getter = getattr(self, "get_qq_number", None)
            try:
                cache[uin] = await getter(uin) if getter else None
            except SmartQQError:
                cache[uin] = None
        return cache[uin]

    async def chat_number(self, event: MessageEvent) -> int | None:
        """A group's real number (from its code), cached; ``None`` for other chats."""
        if not isinstance(event, GroupMessage):
            return None
        cache = self._life.qq_cache
        key = -event.from_uin  # negative: group ids and people's uins share the cache
        if key not in cache:
            cache[key] = None
            group = await self._group_of(event)
            getter = getattr(self, "get_qq_number", None)
            if group is not None and getter is not None:
                try:
                    cache[key] = await getter(group.code, kind=4)
                except (SmartQQError, TypeError):
                    pass
        return cache[key]

    async def _group_of(self, event: MessageEvent) -> Any:
        contacts = getattr(self, "contacts", None)
        if contacts is None:
            return None
        table = "groups" if isinstance(event, GroupMessage) else "discus"
        key = event.chat_key[1]
        if key not in getattr(contacts, table):
            with contextlib.suppress(SmartQQError):
                await contacts.refresh(force=False)
        return getattr(contacts, table).get(key)

    async def chat_name(self, event: MessageEvent) -> str | None:
        """The name of the group or discussion ``event`` came from, from the contact cache."""
        if not isinstance(event, GroupMessage | DiscuMessage):
            return None
        found = await self._group_of(event)
        return None if found is None else str(found.name)
